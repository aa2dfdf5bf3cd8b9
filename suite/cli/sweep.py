"""`kdsuite sweep DATASET --fractions ...`: the baseline, scratch and distilled students against the share of
labelled training data, as cells of the same executor."""

from __future__ import annotations

import sys
from pathlib import Path

from kdsuite.backend import BACKENDS
from kdsuite.cli.common import print_summary
from kdsuite.errors import KdsuiteError


def add(sub) -> None:
    p = sub.add_parser("sweep", help="baseline, scratch and distilled students vs training-set fraction")
    p.add_argument("dataset")
    p.add_argument("--fractions", default="0.01,0.05,0.25,1.0")
    p.add_argument("--students", default="mlp")
    p.add_argument("--teacher", default="minilm-l6")
    p.add_argument("--no-kd", action="store_true", help="only the baseline and scratch students")
    p.add_argument("--backend", choices=BACKENDS, default="tensorflow")
    p.add_argument("--seeds", default="0")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--out", help="folder (default runs/sweep)")
    p.add_argument("--data-dir", help="local mirror (default $KDSUITE_DATA_DIR)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run, show=print_summary)


def run(args) -> dict:
    from kdsuite.config import TrainConfig
    from kdsuite.grid.sweep import run_sweep

    try:
        fractions = sorted({float(f) for f in args.fractions.split(",")})
    except ValueError:
        raise KdsuiteError(f"--fractions: expected comma-separated numbers, got {args.fractions!r}") from None
    if not all(0 < f <= 1 for f in fractions):
        raise KdsuiteError(f"--fractions must lie in (0, 1], got {args.fractions}")
    train = {"epochs": args.epochs}
    TrainConfig(**train).validate()
    out = Path(args.out or Path("runs") / "sweep")
    return run_sweep(args.dataset, fractions, args.students.split(","), None if args.no_kd else args.teacher,
                     args.backend, [int(s) for s in args.seeds.split(",")], train, out, args.data_dir,
                     log=lambda m: print(m, file=sys.stderr, flush=True))
