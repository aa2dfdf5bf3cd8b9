"""`kdsuite report [DIR]`: regenerate leaderboards and plots from the records of a store, no training."""

from __future__ import annotations

from pathlib import Path

from kdsuite.cli.common import print_summary
from kdsuite.errors import KdsuiteError


def add(sub) -> None:
    p = sub.add_parser("report", help="regenerate leaderboards and plots from stored results")
    p.add_argument("dir", nargs="?", default="reports", help="folder holding results/ (default reports)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run, show=print_summary)


def run(args) -> dict:
    from kdsuite.report.leaderboard import write_report

    results = Path(args.dir) / "results"
    if not results.is_dir():
        raise KdsuiteError(f"{results}: no results store (run `kdsuite run SUITE --out {args.dir}` first)")
    return write_report(results, Path(args.dir))
