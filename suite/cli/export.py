"""`kdsuite export DIR`: TFLite (float, dynamic-range int8) rows for each dataset's best students in a store."""

from __future__ import annotations

import sys
from pathlib import Path

from kdsuite.cli.common import print_summary
from kdsuite.config import TFLITE_FORMATS
from kdsuite.errors import KdsuiteError


def add(sub) -> None:
    p = sub.add_parser("export", help="TFLite (float, dynamic-range int8) exports of each dataset's best students")
    p.add_argument("dir", help="a run folder holding results/ (e.g. reports)")
    p.add_argument("--formats", default=",".join(TFLITE_FORMATS))
    p.add_argument("--data-dir", help="local mirror (default $KDSUITE_DATA_DIR)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run, show=print_summary)


def run(args) -> dict:
    from kdsuite.report.leaderboard import write_report
    from kdsuite.report.tflite import export_on_tensorflow

    formats = args.formats.split(",")
    unknown = [f for f in formats if f not in TFLITE_FORMATS]
    if unknown:
        raise KdsuiteError(f"unknown export format {unknown[0]!r}; known: {', '.join(TFLITE_FORMATS)}")
    out = Path(args.dir)
    if not (out / "results").is_dir():
        raise KdsuiteError(f"{out / 'results'}: no results store (run `kdsuite run SUITE --out {out}` first)")
    export_on_tensorflow(out, formats, args.data_dir, log=lambda m: print(m, file=sys.stderr, flush=True))
    return write_report(out / "results", out)
