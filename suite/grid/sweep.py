"""Data-fraction sweep: the baseline, scratch and distilled students against the share of labelled training
data, as cells of the same executor, with a table and a plot (regenerated from the store's records by
`kdsuite report DIR`, as leaderboards are)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from kdsuite import store
from kdsuite.config import Cell
from kdsuite.grid.runner import run_cells
from kdsuite.records import CellRecord, Result, read_records

SUITE = "sweep"  # the `suite` of a sweep's records


def sweep_cells(dataset: str, fractions: list[float], students: list[str], teacher: str | None,
                backend: str, seeds: list[int], train: dict) -> list[Cell]:
    cells = []
    for f in fractions:
        data = {} if f == 1.0 else {"train_fraction": f}
        cells += [Cell(dataset, "tfidf-logreg", "baseline", s, data=data) for s in seeds]
        for student in students:
            for kind in ("scratch", "kd") if teacher else ("scratch",):
                cells += [Cell(dataset, student, kind, s, backend, teacher if kind == "kd" else None, train, data)
                          for s in seeds]
    return cells


def sweep_table(records: list[CellRecord]) -> list[dict]:
    """Per (model, kind, share of train), the mean and std of test accuracy over the finished seeds."""
    groups = defaultdict(list)
    for r in records:
        if isinstance(r, Result):
            fraction = Cell.from_dict(r.cell).option("train_fraction") or 1.0
            groups[(r.model, r.kind, fraction)].append(r)
    groups = {k: sorted(g, key=lambda r: r.seed) for k, g in sorted(groups.items())}  # same sums, any file order
    return [{"model": m, "kind": k, "fraction": f, "train_rows": g[0].train_rows, "seeds": len(g),
             "accuracy": float(np.mean([r.test["accuracy"] for r in g])),
             "accuracy_std": float(np.std([r.test["accuracy"] for r in g]))}
            for (m, k, f), g in groups.items()]


def write_sweep(rows: list[dict], dataset: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kdsuite.report.figures import save_figure

    lines = [f"# {dataset}: accuracy vs share of labelled training data", "",
             "| model | kind | fraction | train rows | accuracy (%) | seeds |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['kind']} | {r['fraction']:g} | {r['train_rows']} | "
              f"{100 * r['accuracy']:.2f} ± {100 * r['accuracy_std']:.2f} | {r['seeds']} |" for r in rows]
    store.write_text(out / f"sweep_{dataset}.md", "\n".join(lines) + "\n")
    store.write_json(out / f"sweep_{dataset}.json", rows)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key in sorted({(r["model"], r["kind"]) for r in rows}):
        pts = sorted((r["fraction"], 100 * r["accuracy"]) for r in rows if (r["model"], r["kind"]) == key)
        ax.plot(*zip(*pts), marker="o", label=" ".join(key))
    ax.set_xscale("log")
    ax.set(xlabel="share of the training set (log scale)", ylabel="test accuracy (%)", title=f"{dataset}: data sweep")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out / f"sweep_{dataset}")


def write_sweeps(results_dir: Path, out: Path) -> list[str]:
    """The sweep table and plot of each dataset with sweep records in `results_dir`, written to `out`."""
    by_dataset = defaultdict(list)
    for r in read_records(results_dir):
        if isinstance(r, CellRecord) and r.suite == SUITE:
            by_dataset[r.dataset].append(r)
    for dataset, records in sorted(by_dataset.items()):
        write_sweep(sweep_table(records), dataset, Path(out))
    return [str(Path(out) / f"sweep_{dataset}.md") for dataset in sorted(by_dataset)]


def run_sweep(dataset: str, fractions: list[float], students: list[str], teacher: str | None, backend: str,
              seeds: list[int], train: dict, out: Path, data_dir: str | None, log=print) -> dict:
    cells = sweep_cells(dataset, fractions, students, teacher, backend, seeds, train)
    records = run_cells(cells, out, data_dir, SUITE, log=log)
    rows = sweep_table(records)
    name = records[0].dataset if records else Path(dataset).name
    write_sweep(rows, name, Path(out))
    return {"cells": len(cells), "failed": sum(not isinstance(r, Result) for r in records), "rows": rows,
            "table": str(Path(out) / f"sweep_{name}.md")}
