"""Data-fraction sweep: the baseline, scratch and distilled students against the share of labelled training
data, as cells of the same executor, with a table and a plot."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from kdsuite import store
from kdsuite.config import Cell
from kdsuite.grid.runner import run_cells


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


def sweep_table(records: list[dict]) -> list[dict]:
    groups = defaultdict(list)
    for r in records:
        if r.get("status") == "ok":
            fraction = r["cell"]["data"].get("train_fraction", 1.0)
            groups[(r["model"], r["kind"], fraction)].append(r)
    return [{"model": m, "kind": k, "fraction": f, "train_rows": g[0]["train_rows"], "seeds": len(g),
             "accuracy": float(np.mean([r["test"]["accuracy"] for r in g])),
             "accuracy_std": float(np.std([r["test"]["accuracy"] for r in g]))}
            for (m, k, f), g in sorted(groups.items())]


def write_sweep(rows: list[dict], dataset: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    for ext in ("png", "svg"):
        with store.atomic_path(out / f"sweep_{dataset}.{ext}") as tmp:
            fig.savefig(tmp, format=ext, dpi=120)
    plt.close(fig)


def run_sweep(dataset: str, fractions: list[float], students: list[str], teacher: str | None, backend: str,
              seeds: list[int], train: dict, out: Path, data_dir: str | None, log=print) -> dict:
    cells = sweep_cells(dataset, fractions, students, teacher, backend, seeds, train)
    records = run_cells(cells, out, data_dir, "sweep", log=log)
    rows = sweep_table(records)
    name = records[0]["dataset"] if records and "dataset" in records[0] else Path(dataset).name
    write_sweep(rows, name, Path(out))
    return {"cells": len(cells), "failed": sum(r["status"] != "ok" for r in records), "rows": rows,
            "table": str(Path(out) / f"sweep_{name}.md")}
