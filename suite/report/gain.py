"""Does distillation pay? Per dataset and student, its scratch twin against its best distilled variant (`kd` or
`kd+transfer`, from each teacher it learned from: the one with the higher mean validation accuracy, so the choice
does not peek at test), the gain in test points, and a verdict against PAYS (+0.5 point). Where it does not pay,
the row says why with a number: how far the teacher leads the scratch twin (no lead leaves nothing to distil) and
how much of that lead the distilled student closed."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from kdsuite.records import Result, StudentRecord
from kdsuite.report.order import BACKEND_ORDER, kind_label

PAYS = 0.005  # a distilled variant must beat its scratch twin by half a point
DISTILLED = ("kd", "kd+transfer")


def table(records: list[Result]) -> dict[str, list[dict]]:
    """dataset -> one row per student that has a scratch twin and a distilled variant on the same backend (the
    backend with the most seeds, TensorFlow first on ties). A variant is a distilled kind and its teacher, and the
    teacher's lead is that teacher's."""
    groups: dict[tuple, list[StudentRecord]] = defaultdict(list)
    teacher: dict[tuple, list[float]] = defaultdict(list)
    for r in records:
        if isinstance(r, StudentRecord):
            groups[(r.dataset, r.model, r.backend, r.kind, r.teacher)].append(r)
        elif r.kind == "teacher":  # by its spec: an ensemble's `model` is the spec's file-safe name
            teacher[(r.dataset, r.teacher)].append(r.test["accuracy"])
    out: dict[str, list[dict]] = defaultdict(list)
    seen = set()
    for dataset, model, backend in sorted({k[:3] for k in groups}, key=lambda k: (
            k[0], k[1], -_seeds(groups, k), BACKEND_ORDER.get(k[2], 9))):
        variants = sorted((k[3:] for k in groups if k[:3] == (dataset, model, backend) and k[3] in DISTILLED),
                          key=lambda v: (v[0], v[1] or ""))
        scratch = groups.get((dataset, model, backend, "scratch", None))
        if (dataset, model) in seen or not scratch or not variants:
            continue
        seen.add((dataset, model))
        kind, by = max(variants, key=lambda v: np.mean([r.val_accuracy
                                                        for r in groups[(dataset, model, backend, *v)]]))
        base, kd = _test(scratch), _test(groups[(dataset, model, backend, kind, by)])
        lead = float(np.mean(teacher[(dataset, by)]) - np.mean(base)) if teacher.get((dataset, by)) else None
        gain = float(np.mean(kd) - np.mean(base))
        out[dataset].append({
            "model": model, "backend": backend, "best_distilled": kind, "teacher": by,
            "seeds": min(len(base), len(kd)),
            "scratch": float(np.mean(base)), "scratch_std": float(np.std(base)),
            "distilled": float(np.mean(kd)), "distilled_std": float(np.std(kd)),
            "gain": gain, "pays": gain >= PAYS, "teacher_lead": lead,
            "closed": gain / lead if lead and lead > 0 else None})
    return dict(out)


def write_to_tensorboard(records: list[Result], out: Path) -> int:
    """Each student run's gain over its scratch twin (its test accuracy minus the twin's mean over seeds: same
    dataset, student and backend) as the HParams metric `metrics/gain_over_scratch`, beside the cell's own
    metrics in its run folder's `tensorboard/hparams` where the store holds it, so TensorBoard's table sorts the
    grid by it. Rewritten by every report; returns how many runs got it."""
    scratch: dict[tuple, list[float]] = defaultdict(list)
    for r in records:
        if isinstance(r, StudentRecord) and r.kind == "scratch":
            scratch[(r.dataset, r.model, r.backend)].append(r.test["accuracy"])
    written = 0
    for r in records:
        twin = scratch.get((r.dataset, r.model, r.backend)) if isinstance(r, StudentRecord) else None
        folder = next((f for f in (out / "models" / r.cell_key / "tensorboard" / "hparams",
                                   Path(r.run_dir) / "tensorboard" / "hparams") if f.is_dir()), None) if twin else None
        if folder is None:
            continue
        import tensorflow as tf  # TensorBoard's summary writer, whatever backend the runs trained on

        for old in folder.glob("*.gain"):
            old.unlink()
        writer = tf.summary.create_file_writer(str(folder), filename_suffix=".gain")
        with writer.as_default():
            tf.summary.scalar("metrics/gain_over_scratch", r.test["accuracy"] - float(np.mean(twin)), step=0)
        writer.close()
        written += 1
    return written


def _seeds(groups: dict, key: tuple) -> int:
    return sum(len(v) for k, v in groups.items() if k[:3] == key)


def _test(group: list[StudentRecord]) -> list[float]:
    return [r.test["accuracy"] for r in group]


def markdown(rows: list[dict], dataset: str, several: bool = False) -> list[str]:
    """The table; `several`: the dataset's students learned from several teachers, so each row names its own."""
    if not rows:
        return []
    out = [f"### Does distillation pay? ({dataset})", "",
           f"Each student's best distilled variant (chosen on validation) against its scratch twin, test accuracy "
           f"in % (mean ± std over seeds); it pays at a gain of at least +{100 * PAYS:.1f} point. \"Teacher lead\" "
           f"is the teacher's accuracy minus the scratch twin's: the room distillation has.", "",
           "| student | best distilled | scratch | distilled | gain | teacher lead | pays? |", "|" + "---|" * 7]
    for r in rows:
        why = "yes" if r["pays"] else _why(r)
        lead = "-" if r["teacher_lead"] is None else f"{100 * r['teacher_lead']:+.2f}"
        out.append(f"| {r['model']} | {kind_label(r['best_distilled'], r['teacher'], several)} | "
                   f"{100 * r['scratch']:.2f} ± {100 * r['scratch_std']:.2f} "
                   f"| {100 * r['distilled']:.2f} ± {100 * r['distilled_std']:.2f} | {100 * r['gain']:+.2f} | {lead} "
                   f"| {why} |")
    return out + [""]


def _why(r: dict) -> str:
    """A verdict for a gain under PAYS, with the number that explains it."""
    lead = r["teacher_lead"]
    if lead is not None and lead <= 0:
        return f"no: the teacher is not above the scratch twin ({100 * lead:+.2f})"
    if lead is not None and lead < PAYS:
        return f"no: the teacher leads by only {100 * lead:.2f} point"
    closed = f", closing {100 * r['closed']:.0f}% of the teacher's lead" if r["gain"] > 0 and r["closed"] else ""
    return f"no: gain {100 * r['gain']:+.2f} < +{100 * PAYS:.1f}{closed}"
