"""`kdsuite run SUITE`: run a suite's grid of cells (skipping finished ones; here, or as Ray tasks with `--executor
ray`), its TFLite exports, and write its leaderboard."""

from __future__ import annotations

import sys
from pathlib import Path

from kdsuite.cli.common import print_summary
from kdsuite.errors import KdsuiteError


def add(sub) -> None:
    p = sub.add_parser("run", help="run a suite (grid of cells) and write its leaderboard")
    p.add_argument("suite", nargs="?", default="quick", help="preset (quick, cpu, full, imdb, imdb-tfidf) or a .toml file")
    p.add_argument("--out", help="results, models and reports folder (default runs/<suite>)")
    p.add_argument("--datasets", help="run only the cells of these datasets (comma-separated)")
    p.add_argument("--seeds", help="run only the cells of these seeds, e.g. 1,2 (another process may run the rest)")
    p.add_argument("--students", help="run only these students' cells (comma-separated); baselines and teacher "
                   "rows still run")
    p.add_argument("--data-dir", help="local mirror (default $KDSUITE_DATA_DIR)")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local: one cell after another here (default); ray: cells as Ray tasks (needs kdsuite[ray])")
    p.add_argument("--address", help="with --executor ray: the Ray cluster's head HOST:PORT, or auto for the one "
                   "`ray start` runs here (default: start a Ray for this run)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run, show=print_summary)


def run(args) -> dict:
    from kdsuite.grid.runner import expand, run_cells, select
    from kdsuite.grid.suites import load_suite
    from kdsuite.report.leaderboard import write_report
    from kdsuite.report.tflite import export_on_tensorflow

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    suite = load_suite(args.suite)
    if args.address and args.executor != "ray":
        raise KdsuiteError("--address needs --executor ray")
    execute = None
    if args.executor == "ray":
        from kdsuite.grid.ray_executor import start  # a one-line error when Ray is not installed

        execute = start(args.address, log=log)
    out = Path(args.out or Path("runs") / suite.name)
    cells = select(expand(suite), args.datasets, args.seeds, args.students)
    log(f"suite {suite.name}: {len(cells)} cells -> {out}")
    if suite.tune:
        from kdsuite.grid.tune import tune_cells

        cells = tune_cells(cells, suite.tune, out, args.data_dir, suite.name, log=log)
    records = run_cells(cells, out, args.data_dir, suite.name, log=log, execute=execute)
    if suite.exports:
        export_on_tensorflow(out, suite.exports, args.data_dir, log=log)
    report = write_report(out / "results", out)
    failed = [r for r in records if r.status != "ok"]
    return {"suite": suite.name, "cells": len(cells), "failed": len(failed), "report": report,
            "leaderboard": str(out / "leaderboard.md")}
