"""Teacher fallback (a cascade), from kept validation and test logits (`report/logits.py`): the student answers
a row when its top probability is at least a threshold, else the teacher does.

Per dataset and student: the curve of test accuracy against the share of rows routed to the teacher and against
the effective speed, and thresholds chosen on validation, then applied to test: `reach` = the smallest share whose
validation accuracy is within REACH (0.5 point) of the teacher's; `S%` = the threshold that routes a share S of
the validation rows. Speed is at batch 1, where both latencies are measured: a row costs the student's latency
plus, when routed, the teacher's (ms per row = student + share x teacher; x teacher = the teacher's ms / that)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from kdsuite.metrics import softmax
from kdsuite.records import Result, StudentRecord, TeacherRecord
from kdsuite.report import logits as kept
from kdsuite.report.figures import pyplot, save_figure
from kdsuite.report.order import kind_label, row_order, several_teachers, teacher_name

REACH = 0.005  # the teacher's validation accuracy minus half a point
SHARES = (0.05, 0.2)  # fallback shares in the leaderboard
ALWAYS = 1.01  # a threshold above every top probability: every row goes to the teacher


class Split:
    """One split's student and teacher answers, rows sorted by the student's confidence (lowest first), so
    routing at any threshold is a prefix and its accuracy a cumulative sum."""

    def __init__(self, student_logits: np.ndarray, teacher_logits: np.ndarray, labels: np.ndarray):
        probs = softmax(student_logits)
        order = np.argsort(probs.max(axis=1), kind="stable")
        self.confidence = probs.max(axis=1)[order]
        student_ok = (probs.argmax(axis=1) == labels)[order]
        teacher_ok = (teacher_logits.argmax(axis=1) == labels)[order]
        # correct answers when the first m rows go to the teacher, m = 0..n
        self.correct = np.concatenate([[0], np.cumsum(teacher_ok)]) + \
            np.concatenate([np.cumsum(student_ok[::-1])[::-1], [0]])
        self.n = len(labels)

    def routed(self, threshold: float) -> int:
        """Rows whose top probability is below `threshold`."""
        return int(np.searchsorted(self.confidence, threshold, side="left"))

    def at(self, threshold: float) -> tuple[float, float]:
        """(share routed, accuracy) at `threshold`."""
        m = self.routed(threshold)
        return m / self.n, float(self.correct[m]) / self.n

    def threshold_for(self, m: int) -> float:
        """The threshold that routes the first m rows (fewer when the m-th confidence ties with earlier rows)."""
        return float(self.confidence[m]) if m < self.n else ALWAYS


def choose_reach(val: Split, teacher_accuracy: float) -> float:
    """The threshold of the smallest share routed whose validation accuracy is within REACH of the teacher's."""
    reachable = np.flatnonzero(np.r_[True, np.diff(val.confidence) > 0, True])  # m a threshold can route (ties)
    good = reachable[val.correct[reachable] / val.n >= teacher_accuracy - REACH - 1e-12]
    return val.threshold_for(int(good[0]) if len(good) else val.n)


def choose_share(val: Split, share: float) -> float:
    """The threshold that routes `share` of the validation rows."""
    return val.threshold_for(int(round(share * val.n)))


def speed(student: StudentRecord, teacher: TeacherRecord, share: float) -> dict:
    """Batch-1 cost of the cascade: ms per row, rows/s, and how many times the teacher's rows/s."""
    s, t = (student.speed or {}).get("latency_ms_b1"), (teacher.speed or {}).get("latency_ms_b1")
    if s is None or t is None:
        return {"ms_per_row": None, "rows_per_s": None, "x_teacher": None}
    ms = s + share * t
    return {"ms_per_row": round(ms, 4), "rows_per_s": round(1000 / ms, 1), "x_teacher": round(t / ms, 2)}


def pick_teacher(out: Path, records: list[Result], dataset: str) -> tuple[TeacherRecord, dict] | None:
    """The dataset's teacher with kept logits and the best validation accuracy (with its logits)."""
    found = [(r, z) for r in records if isinstance(r, TeacherRecord) and r.dataset == dataset
             and (z := kept.read(out, r.cell_key)) is not None]
    if not found:
        return None
    return max(found, key=lambda rz: ((rz[1]["validation"].argmax(1) == rz[1]["validation_labels"]).mean(),
                                      rz[0].model))


def evaluate(student: StudentRecord, z: dict, teacher: TeacherRecord, tz: dict, shares=SHARES) -> dict | None:
    """The cascade of `student` (kept logits `z`) over `teacher` (`tz`): alone, reach and each share, chosen on
    validation and measured on test; None when the two were not scored on the same rows."""
    if any(not np.array_equal(z[f"{s}_labels"], tz[f"{s}_labels"]) for s in kept.SPLITS):
        return None
    val = Split(z["validation"], tz["validation"], z["validation_labels"])
    test = Split(z["test"], tz["test"], z["test_labels"])
    teacher_val = float((tz["validation"].argmax(1) == tz["validation_labels"]).mean())
    rules = {"alone": 0.0, "reach": choose_reach(val, teacher_val)} | {
        f"{round(100 * s)}%": choose_share(val, s) for s in shares}
    out = {}
    for name, threshold in rules.items():
        share, accuracy = test.at(threshold)
        out[name] = {"threshold": round(threshold, 5), "val_accuracy": round(val.at(threshold)[1], 5),
                     "share": round(share, 5), "accuracy": round(accuracy, 5)} | speed(student, teacher, share)
    return out


def curve(z: dict, tz: dict, points: int = 101) -> tuple[np.ndarray, np.ndarray]:
    """(share routed, test accuracy) with the least confident rows routed first, at `points` even shares."""
    test = Split(z["test"], tz["test"], z["test_labels"])
    m = np.round(np.linspace(0, 1, points) * test.n).astype(int)
    return m / test.n, test.correct[m] / test.n


def table(out: str | Path, records: list[Result]) -> dict[str, dict]:
    """dataset -> {teacher, teacher_accuracy, teacher_ms, rows: [model, kind, backend, teacher (the one it learned
    from), seeds, and per rule the means over seeds]}; datasets without a teacher's kept logits are left out."""
    out, tables = Path(out), {}
    for dataset in sorted({r.dataset for r in records}):
        picked = pick_teacher(out, records, dataset)
        if picked is None:
            continue
        teacher, tz = picked
        groups = defaultdict(list)
        for r in records:
            if isinstance(r, StudentRecord) and r.dataset == dataset and (z := kept.read(out, r.cell_key)) is not None \
                    and (result := evaluate(r, z, teacher, tz)) is not None:
                groups[(r.model, r.kind, r.backend, r.teacher)].append(result)
        rows = []
        for key in sorted(groups, key=row_order):
            results = groups[key]
            rows.append(dict(zip(("model", "kind", "backend", "teacher"), key)) | {"seeds": len(results)} | {
                rule: {k: None if any(x[rule][k] is None for x in results) else
                       round(float(np.mean([x[rule][k] for x in results])), 5) for k in results[0][rule]}
                for rule in results[0]})
        tables[dataset] = {"teacher": teacher.model, "teacher_accuracy": teacher.test["accuracy"],
                           "teacher_ms": (teacher.speed or {}).get("latency_ms_b1"), "rows": rows}
    return tables


def plot(out: str | Path, records: list[Result], dataset: str) -> bool:
    """`cascade_<dataset>.png|svg`: test accuracy against the share routed and against rows/s (batch 1), one
    line per student model and kind (TensorFlow, lowest seed first); False when nothing to draw."""
    out = Path(out)
    picked = pick_teacher(out, records, dataset)
    if picked is None:
        return False
    teacher, tz = picked
    lines = {}
    students = [r for r in records if isinstance(r, StudentRecord) and r.dataset == dataset]
    several = several_teachers((r.kind, r.teacher) for r in students)
    for r in sorted(students, key=lambda r: (row_order((r.model, r.kind, r.backend, r.teacher)), r.seed or 0)):
        z, line = kept.read(out, r.cell_key), (r.model, kind_label(r.kind, r.teacher, several))
        if line not in lines and z is not None and evaluate(r, z, teacher, tz, ()) is not None:
            lines[line] = (r, z)
    if not lines:
        return False
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    for i, ((model, kind), (r, z)) in enumerate(lines.items()):
        share, accuracy = curve(z, tz)
        style = {"lw": 1, "color": f"C{i % 10}", "ls": ("-", "--", ":")[i // 10 % 3]}  # 10 colours, then dashes
        left.plot(100 * share, 100 * accuracy, label=f"{model} ({kind})", **style)
        rows_per_s = [speed(r, teacher, s)["rows_per_s"] for s in share]
        if None not in rows_per_s:
            right.plot(rows_per_s, 100 * accuracy, **style)
    for ax in (left, right):
        ax.axhline(100 * teacher.test["accuracy"], ls="-.", color="grey", lw=1)
        ax.grid(alpha=0.3)
    left.set(xlabel="share of test rows routed to the teacher (%)", ylabel="test accuracy (%)",
             title=f"{dataset}: student, else {teacher.model} (dash-dot: teacher alone)")
    right.set(xscale="log", xlabel="rows/s at batch 1 (student + routed share x teacher)", ylabel="test accuracy (%)",
              title="accuracy vs speed")
    left.legend(fontsize=6, loc="lower right", ncol=2)
    fig.tight_layout()
    save_figure(fig, out / f"cascade_{dataset}")
    return True


def _cell(rule: dict) -> str:
    x = "" if rule["x_teacher"] is None else f" / {rule['x_teacher']:.1f}×"
    return f"{100 * rule['accuracy']:.2f}{x}"


def markdown(entry: dict | None, dataset: str, plotted: bool) -> list[str]:
    if not entry or not entry["rows"]:
        return []
    shares = [k for k in entry["rows"][0] if k.endswith("%")]
    ms, several = entry["teacher_ms"], several_teachers((r["kind"], r["teacher"]) for r in entry["rows"])
    speed = f", {ms} ms per row" if ms else ""
    out = ["### Teacher fallback", "",
           f"The student answers when its top probability is at least a threshold, else the teacher "
           f"({teacher_name(entry['teacher'])}, {100 * entry['teacher_accuracy']:.2f}%{speed}). "
           f"Thresholds chosen on validation, measured on test: *S%* routes S of the validation rows; *reach* is "
           f"the smallest share within {100 * REACH:.1f} point of the teacher's validation accuracy. Cells: test "
           f"accuracy % / speed as times the teacher's rows/s at batch 1 (mean over seeds).", "",
           "| model | kind | backend | alone | " + " | ".join(shares) + " | reach: threshold | routed | accuracy |",
           "|" + "---|" * (7 + len(shares))]
    for r in entry["rows"]:
        reach = r["reach"]
        out.append(f"| {teacher_name(r['model'])} | {kind_label(r['kind'], r['teacher'], several)} | "
                   f"{r['backend'] or '-'} | "
                   f"{_cell(r['alone'])} | "
                   + " | ".join(_cell(r[s]) for s in shares)
                   + f" | {reach['threshold']:.3f} | {100 * reach['share']:.1f}% | {_cell(reach)} |")
    return out + ([""] + [f"![{dataset} teacher fallback](cascade_{dataset}.png)"] if plotted else []) + [""]
