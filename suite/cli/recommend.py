"""`kdsuite recommend DATASET --max-params N`: the student to deploy from a store's leaderboard records and
diagnosis (`report/recommend.py`), or first the quick grid on that dataset with --run-quick."""

from __future__ import annotations

import sys
from pathlib import Path


def add(sub) -> None:
    p = sub.add_parser("recommend", help="the student to deploy within a parameter (and latency) budget")
    p.add_argument("dataset", help="dataset: a registered name (emotion, imdb, amazon_polarity) or your folder/file")
    p.add_argument("--max-params", type=int, required=True, help="parameter budget of the student")
    p.add_argument("--max-latency-ms", type=float, help="budget in ms per text at batch 1 (CPU)")
    p.add_argument("--fallback-share", type=float,
                   help="send this share of rows (the least confident) to the teacher, e.g. 0.05")
    p.add_argument("--out", default="reports", help="the store to read (default reports)")
    p.add_argument("--run-quick", action="store_true",
                   help="when the store has no student of DATASET, run the quick suite's grid on it there first "
                   "(taught by its MiniLM teacher on emotion, else by TF-IDF + LogReg fitted in the grid)")
    p.add_argument("--data-dir", help="local mirror for --run-quick (default $KDSUITE_DATA_DIR)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run, show=show)


def _run_quick(dataset: str, out: Path, data_dir: str | None) -> None:
    """The quick suite's cells (baseline, teacher row, small students scratch and distilled) on `dataset`. Its
    MiniLM teacher's logits ship for its own dataset only: any other dataset is taught by the TF-IDF baseline's
    model, fitted in the grid (seconds, on any data)."""
    from dataclasses import replace

    from kdsuite.grid.runner import expand, run_cells
    from kdsuite.grid.suites import load_suite
    from kdsuite.report.leaderboard import write_report

    suite = load_suite("quick")
    if dataset not in suite.datasets:
        suite = replace(suite, teacher="tfidf-logreg", train_teacher=True)
    suite = replace(suite, datasets=(dataset,), exports=())
    run_cells(expand(suite), out, data_dir, suite.name, log=lambda m: print(m, file=sys.stderr, flush=True))
    write_report(out / "results", out)


def _name_in_records(dataset: str) -> str:
    """What records call `dataset`: a registered name as is, a folder of split files by its name, a file by its
    stem (as `data.datasets` names them)."""
    from kdsuite.data.datasets import DATASETS

    if dataset in DATASETS:
        return DATASETS[dataset].name
    path = Path(dataset).expanduser()
    return path.stem if path.is_file() else path.name


def run(args) -> dict:
    from kdsuite.report.recommend import candidates, recommend
    from kdsuite.records import read_records

    out, name = Path(args.out), _name_in_records(args.dataset)
    if args.run_quick and not ((out / "results").is_dir() and candidates(read_records(out / "results"), name)):
        _run_quick(args.dataset, out, args.data_dir)
    return recommend(out, name, args.max_params, args.max_latency_ms, args.fallback_share)


def show(r: dict) -> None:
    where = r["run_dir"] or f"(no model folder in {r['out']}: its records were copied without models)"
    taught = f" from {r['teacher']}" if r["teacher"] else ""
    print(f"deploy {r['model']} ({r['kind']}{taught}, {r['backend']}) for {r['dataset']}: {where}")
    f = r["fallback"]
    if f:
        print(f"  expected test accuracy {100 * r['expected_accuracy']:.2f}% with {100 * f['share']:.1f}% of rows sent "
              f"to {f['teacher']} (threshold {f['threshold']:.3f} on its top probability; alone "
              f"{100 * r['student_accuracy']:.2f}%)")
    else:
        print(f"  expected test accuracy {100 * r['expected_accuracy']:.2f}% "
              f"(validation {100 * r['val_accuracy']:.2f}%, {r['seeds']} seed(s))")
    disk = f", {r['disk_bytes'] / 1024:,.0f} KB" if r["disk_bytes"] else ""
    speed = f"{r['latency_ms_b1']} ms per text at batch 1" if r["latency_ms_b1"] is not None else "speed not measured"
    if f and f["ms_per_row"] is not None:
        speed += f" ({f['ms_per_row']:.2f} ms with the fallback, {f['x_teacher']:.1f}x the teacher's rows/s)"
    if r["throughput_b256"]:
        speed += f", {r['throughput_b256']:,.0f} texts/s at batch 256"
    print(f"  size {r['param_count']:,} parameters{disk}; {speed}")
    print(f"  why: {r['why']}")
