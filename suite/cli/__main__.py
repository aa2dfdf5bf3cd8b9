"""`python -m kdsuite.cli ARGS` = `kdsuite ARGS`."""

import sys

from kdsuite.cli import main

sys.exit(main())
