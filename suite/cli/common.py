"""What every subcommand shares: the data options, the dataset loader, tables and the model-result printout."""

from __future__ import annotations

import argparse
import json


def data_args(p: argparse.ArgumentParser, dataset: bool = True, subsample: bool = True) -> None:
    """The dataset argument, where data comes from and how it is carved; `--json`."""
    if dataset:
        p.add_argument("dataset", help="registered name (emotion, imdb, amazon_polarity) or a folder/file")
    p.add_argument("--data-dir", help="local mirror <dir>/<name>/<split>.parquet (default $KDSUITE_DATA_DIR)")
    p.add_argument("--data-seed", type=int, default=0,
                   help="seed of the data carving: validation/test shares, train subsampling, augmented text")
    p.add_argument("--val-size", type=float, default=0.1, help="share of train carved for validation if needed")
    if subsample:
        p.add_argument("--train-fraction", type=float, help="stratified seeded share of train to keep")
        p.add_argument("--max-train", type=int, help="at most this many training rows (stratified, seeded)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def load(args, dataset: str | None = None):
    from kdsuite.data.datasets import load_dataset

    return load_dataset(dataset or args.dataset, args.data_dir, val_size=args.val_size, seed=args.data_seed,
                        train_fraction=getattr(args, "train_fraction", None), max_train=getattr(args, "max_train", None))


def data_options(args) -> dict:
    """The cell data options the flags ask for."""
    return {"val_size": args.val_size, "data_seed": args.data_seed, "train_fraction": args.train_fraction,
            "max_train": args.max_train}


def print_model_result(r: dict) -> None:
    t = r["test"]
    print(f"{r['model']} on {r['dataset']} ({r['data_source']}, {r['train_rows']} training rows)")
    print(f"  test accuracy {t['accuracy']:.4f}  macro P {t['macro_precision']:.4f}  R {t['macro_recall']:.4f}"
          f"  F1 {t['macro_f1']:.4f}")
    print(f"  params {r['param_count']:,} ({r['param_count_note']})")
    print(f"  config {json.dumps(r['config'])}")
    print(f"  times (s) {json.dumps(r['times_s'])}")


def print_summary(result: dict) -> None:
    print(json.dumps(result, indent=2))


def print_rows(rows: list[dict]) -> None:
    """An aligned table, one row per entry."""
    if not rows:
        return
    cells = [[str(v) for v in row.values()] for row in rows]
    widths = [max(len(c) for c in col) for col in zip(list(rows[0]), *cells)]
    for line in [list(rows[0])] + cells:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())
