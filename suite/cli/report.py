"""`kdsuite report [DIR]`: regenerate leaderboards and plots from the records of a store, no training; the
sweep table and plot of a store that holds `kdsuite sweep` records (a leaderboard would average over the
shares of training data, so a store of sweep records alone gets no leaderboard)."""

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
    from kdsuite.grid.sweep import SUITE, write_sweeps
    from kdsuite.records import CellRecord, read_records
    from kdsuite.report.leaderboard import write_report

    results = Path(args.dir) / "results"
    if not results.is_dir():
        raise KdsuiteError(f"{results}: no results store (run `kdsuite run SUITE --out {args.dir}` first)")
    sweeps = write_sweeps(results, Path(args.dir))
    records = read_records(results)
    if sweeps and all(isinstance(r, CellRecord) and r.suite == SUITE for r in records):
        return {"out": str(args.dir), "sweeps": sweeps, "records": len(records)}
    report = write_report(results, Path(args.dir))
    # the report was made: failed cells in the store are listed in it, not an error of this command (exit 0)
    report["failed_cells"] = report.pop("failed")
    return report | ({"sweeps": sweeps} if sweeps else {})
