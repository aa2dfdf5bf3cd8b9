"""`kdsuite baseline DATASET`: the tuned TF-IDF + logistic regression row, run as a baseline cell."""

from __future__ import annotations

from kdsuite.cli.common import data_args, data_options, print_model_result
from kdsuite.config import BASELINES


def add(sub) -> None:
    p = sub.add_parser("baseline", help="TF-IDF + logistic regression, tuned on validation")
    data_args(p)
    p.add_argument("--model", choices=BASELINES, default="tfidf-logreg", help="which tuned linear model")
    p.add_argument("--seed", type=int, default=0, help="seed of the logistic regression's solver")
    p.add_argument("--out", default="runs", help="results store (default runs)")
    p.set_defaults(run=run, show=print_model_result)


def run(args) -> dict:
    from kdsuite.config import Cell
    from kdsuite.engine.cell import run as run_cell
    from kdsuite.records import to_json

    cell = Cell(args.dataset, args.model, "baseline", args.seed, data=data_options(args))
    return to_json(run_cell(cell, args.out, args.data_dir))
