"""Calibration per dataset, from each cell's kept validation and test logits (`report/logits.py`): test ECE
(15 equal-width confidence bins) as the model stands and after temperature scaling fitted on validation, for the
teacher and every student row (mean over seeds), and a reliability diagram per model (`calibration_<dataset>`)."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from kdsuite.metrics import calibration, reliability, softmax
from kdsuite.records import Result, StudentRecord, TeacherRecord
from kdsuite.report import logits as kept
from kdsuite.report.figures import pyplot, save_figure
from kdsuite.report.order import kind_label, row_order, several_teachers, teacher_name

BINS = 15


def _calibrated(out: Path, records: list[Result]) -> list[tuple[Result, dict, dict]]:
    """(record, its kept logits, its calibration) for every teacher and student record with kept logits."""
    found = []
    for r in records:
        if isinstance(r, (StudentRecord, TeacherRecord)) and (z := kept.read(out, r.cell_key)) is not None:
            found.append((r, z, calibration(z["validation"], z["validation_labels"], z["test"], z["test_labels"],
                                            BINS)))
    return found


def table(out: str | Path, records: list[Result]) -> dict[str, list[dict]]:
    """dataset -> rows (model, kind, backend, teacher, seeds, ece, temperature, ece_scaled: means over seeds)."""
    groups = defaultdict(list)
    for r, _, cal in _calibrated(Path(out), records):
        groups[r.dataset, (r.model, r.kind, r.backend, r.teacher)].append(cal)
    tables = defaultdict(list)
    for (dataset, key), cals in sorted(groups.items(), key=lambda g: (g[0][0], row_order(g[0][1]))):
        model, kind, backend, teacher = key
        tables[dataset].append({"model": model, "kind": kind, "backend": backend, "teacher": teacher,
                                "seeds": len(cals)} | {
            k: round(float(np.mean([c[k] for c in cals])), 5) for k in ("ece", "temperature", "ece_scaled")})
    return dict(tables)


def plot(out: str | Path, records: list[Result], dataset: str) -> bool:
    """`calibration_<dataset>.png|svg`: one reliability diagram per model and kind (and teacher; its TensorFlow
    run of the lowest seed, else its first backend), before and after temperature scaling; False when nothing to
    draw."""
    out = Path(out)
    panels = {}
    found = _calibrated(out, [r for r in records if r.dataset == dataset])
    several = several_teachers((r.kind, r.teacher) for r, _, _ in found)
    for r, z, cal in sorted(found, key=lambda x: (row_order((x[0].model, x[0].kind, x[0].backend, x[0].teacher)),
                                                  x[0].seed or 0)):
        panels.setdefault((r.model, kind_label(r.kind, r.teacher, several)), (z, cal))
    if not panels:
        return False
    plt = pyplot()
    cols = min(4, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2.9 * rows), squeeze=False)
    for ax, ((model, kind), (z, cal)) in zip(axes.flat, panels.items()):
        for probs, style, name in ((softmax(z["test"]), "o-", "as is"),
                                   (softmax(z["test"], cal["temperature"]), "s--", f"T = {cal['temperature']:.2f}")):
            bins = reliability(probs, z["test_labels"], BINS)
            ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], style, ms=3, lw=1, label=name)
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
        ax.set(xlim=(0, 1), ylim=(0, 1), title=f"{model} ({kind})\nECE {100 * cal['ece']:.1f} → "
                                                f"{100 * cal['ece_scaled']:.1f}%")
        ax.title.set_fontsize(8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, loc="upper left")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.supxlabel("confidence (top probability), test", fontsize=8)
    fig.supylabel("accuracy", fontsize=8)
    fig.tight_layout()
    save_figure(fig, out / f"calibration_{dataset}")
    return True


def markdown(rows: list[dict], dataset: str, plotted: bool) -> list[str]:
    if not rows:
        return []
    out = ["### Calibration", "",
           f"Test ECE ({BINS} bins, %) as the model stands and after temperature scaling (T fitted on validation "
           "logits), mean over seeds, from the kept logits in `logits/`.", "",
           "| model | kind | backend | seeds | ECE | T | ECE after scaling |", "|" + "---|" * 7]
    several = several_teachers((r["kind"], r["teacher"]) for r in rows)
    out += [f"| {teacher_name(r['model'])} | {kind_label(r['kind'], r['teacher'], several)} | {r['backend'] or '-'} | "
            f"{r['seeds']} | {100 * r['ece']:.2f} | {r['temperature']:.2f} | {100 * r['ece_scaled']:.2f} |"
            for r in rows]
    return out + ([""] + [f"![{dataset} reliability](calibration_{dataset}.png)"] if plotted else []) + [""]
