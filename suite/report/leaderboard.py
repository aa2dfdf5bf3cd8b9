"""Leaderboards from stored results, no retraining: Markdown, timm-style CSV/JSON (param_count column),
accuracy-vs-parameters plots with the Pareto front, a backend comparison, and per dataset whether distillation
pays (`gain.py`), its diagnosis (`diagnose.py`), calibration (`calibration.py`) and teacher fallback
(`cascade.py`). Records are read as typed records (`kdsuite.records`); all files are written atomically, plots without timestamps or random ids, so a report
regenerated from the same records is the same."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path

import numpy as np

from kdsuite import store
from kdsuite.records import CellRecord, ExportRecord, FailedRecord, Record, Result, StudentRecord, read_records, to_json
from kdsuite.report import calibration, cascade, diagnose, gain, logits, members
from kdsuite.report.figures import save_figure
from kdsuite.report.order import BACKEND_ORDER, kind_label, several_teachers, teacher_name

CSV_FIELDS = ("dataset", "model", "family", "kind", "backend", "seeds", "param_count", "disk_bytes",
              "accuracy", "accuracy_std", "macro_f1", "macro_f1_std", "val_accuracy", "pct_of_teacher", "latency_ms_b1",
              "throughput_b256", "train_samples_per_s", "teacher", "data_fingerprint", "config_hash", "commit")


def load_records(folder: Path) -> tuple[list[Record], list[Record]]:
    """(finished, not finished) records of a results or exports store: finished = status ok; the others are
    failed cells (FailedRecord) or students TFLite could not convert (ExportRecord, status unsupported)."""
    records = read_records(folder)
    return [r for r in records if r.status == "ok"], [r for r in records if r.status != "ok"]


def aggregate(records: list[Result | ExportRecord]) -> list[dict]:
    """One row per (dataset, model, kind, backend, teacher): mean and std over seeds, costs, provenance. "% of
    teacher" is against the row's own teacher where it has a row, else (scratch, baselines, a nested student's
    teacher) against the dataset's teacher where it has exactly one."""
    groups: dict[tuple, list[Result | ExportRecord]] = defaultdict(list)
    for r in records:
        groups[(r.dataset, r.model, r.kind, r.backend, r.teacher)].append(r)
    # a teacher row is found by its spec (`teacher`; its `model` may be the spec's file-safe name)
    teacher_acc = {(k[0], k[4]): float(np.mean([r.test["accuracy"] for r in g]))
                   for k, g in groups.items() if k[2] == "teacher"}
    per_dataset = defaultdict(list)
    for (dataset, _), acc in teacher_acc.items():
        per_dataset[dataset].append(acc)
    only_teacher = {dataset: accs[0] for dataset, accs in per_dataset.items() if len(accs) == 1}
    rows = []
    for (dataset, model, kind, backend, teacher), group in groups.items():
        acc = [r.test["accuracy"] for r in group]
        f1 = [r.test["macro_f1"] for r in group if r.test.get("macro_f1") is not None]
        val = [r.val_accuracy for r in group if isinstance(r, StudentRecord)]
        ref = teacher_acc.get((dataset, teacher)) or only_teacher.get(dataset)
        first = group[0]
        speed = first.speed or {}  # None: not measured (a baseline); a teacher measures batch-1 latency only
        rows.append({
            "dataset": dataset, "model": model, "family": first.family, "kind": kind,
            "backend": backend, "seeds": len(group), "param_count": first.param_count,
            "disk_bytes": first.disk_bytes,
            "accuracy": float(np.mean(acc)), "accuracy_std": float(np.std(acc)),
            "macro_f1": float(np.mean(f1)) if f1 else None, "macro_f1_std": float(np.std(f1)) if f1 else None,
            "val_accuracy": float(np.mean(val)) if val else None,
            "pct_of_teacher": 100 * float(np.mean(acc)) / ref if ref else None,
            "latency_ms_b1": speed.get("latency_ms_b1"), "throughput_b256": speed.get("throughput_b256"),
            "train_samples_per_s": first.train_samples_per_s if isinstance(first, StudentRecord) else None,
            "teacher": teacher, "data_fingerprint": first.data_fingerprint,
            "config_hash": store.key(config=first.config, recipe=first.data_recipe),
            "commit": ",".join(sorted({str(r.commit) for r in group})),
            "teacher_runs": sorted({r.teacher_logits for r in group if getattr(r, "teacher_logits", None)}),
            "mixed_settings": _mixed_settings(group),
        })
    return sorted(rows, key=lambda r: (r["dataset"], -r["accuracy"], BACKEND_ORDER.get(r["backend"], 9)))


def _mixed_settings(group: list) -> dict[str, list[str]]:
    """The cell options (`train.epochs`, `data.transfer`, ...) on which a row's seeds differ, each with its values:
    records of one student, kind and teacher written with different options (`kdsuite distill --transfer ...`
    into one store) are averaged as if they were seeds, so the leaderboard says so. Tuned values (`config`) may
    differ by seed and are not compared, nor is a transfer set where the kind reads none (a suite's scratch cells
    carry its `data.transfer`, `kdsuite distill --no-kd` cells do not)."""
    flat = [_flatten({k: v for k, v in (getattr(r, "cell", None) or {}).items() if k != "seed"}) for r in group]
    if group[0].kind != "kd+transfer":
        flat = [{k: v for k, v in f.items() if k != "data.transfer"} for f in flat]
    values = {k: sorted({str(f.get(k, "-")) for f in flat}) for k in sorted({k for f in flat for k in f})}
    return {k: v for k, v in values.items() if len(v) > 1}


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def primary(rows: list[dict]) -> list[dict]:
    """Per (dataset, model, kind, teacher), the row with the most seeds (TensorFlow first on ties)."""
    best: dict[tuple, dict] = {}
    for r in rows:
        k = _variant(r)
        if k not in best or (r["seeds"], -BACKEND_ORDER.get(r["backend"], 9)) > \
                (best[k]["seeds"], -BACKEND_ORDER.get(best[k]["backend"], 9)):
            best[k] = r
    return [r for r in rows if best[_variant(r)] is r]


def _variant(r: dict) -> tuple:
    return r["dataset"], r["model"], r["kind"], r["teacher"]


def _fmt(v, spec: str = "") -> str:
    return "" if v is None else format(v, spec)


def _acc(r: dict, key: str = "accuracy") -> str:
    if r[key] is None:
        return ""
    return f"{100 * r[key]:.2f}" + (f" ± {100 * r[key + '_std']:.2f}" if r["seeds"] > 1 else "")


def markdown(rows: list[dict], failed: list[FailedRecord], provenance: dict,
             unsupported: list[ExportRecord] = (), sections: dict[str, list[str]] | None = None) -> str:
    """The leaderboard; `sections` adds lines under each dataset's table (diagnosis, calibration, fallback)."""
    main = primary(rows)
    out = ["# kdsuite leaderboard", "",
           f"Generated by `kdsuite report` from {provenance['records']} stored results "
           f"(suites: {', '.join(provenance['suites']) or '-'}; commits: {', '.join(provenance['commits'])}).",
           "Accuracy and macro-F1 in % on each dataset's test split (mean ± std over seeds); latency: batch 1, "
           "p50, CPU; throughput: rows/s at batch 256. Params count every weight, embeddings included. "
           "Rows named `(tflite)` / `(tflite-dr)` are each dataset's best TensorFlow run of a student (chosen on "
           "validation) converted to TFLite, float32 / dynamic-range int8 weights, run by the TFLite interpreter.",
           ""]
    datasets = sorted({r["dataset"] for r in main})
    several = {d: several_teachers((r["kind"], r["teacher"]) for r in main if r["dataset"] == d) for d in datasets}
    for dataset in datasets:
        sub = [r for r in main if r["dataset"] == dataset]
        fp = sorted({r["data_fingerprint"] for r in sub if r["data_fingerprint"]})
        out += [f"## {dataset}", "", f"Data fingerprint: {', '.join(fp)}", "",
                "| model | family | kind | params | disk KB | accuracy | macro-F1 | % of teacher | latency ms | "
                "rows/s | backend | seeds |", "|" + "---|" * 12]
        for r in sub:
            out.append(
                f"| {teacher_name(r['model'])} | {r['family']} | "
                f"{kind_label(r['kind'], r['teacher'], several[dataset])} | "
                f"{_fmt(r['param_count'], ',')} | "
                f"{_fmt(r['disk_bytes'] and round(r['disk_bytes'] / 1024), ',')} | {_acc(r)} | "
                f"{_acc(r, 'macro_f1')} | {_fmt(r['pct_of_teacher'], '.1f')} | {_fmt(r['latency_ms_b1'], '.2f')} | "
                f"{_fmt(r['throughput_b256'], ',.0f')} | {r['backend'] or '-'} | {r['seeds']} |")
        out += ["", f"![{dataset}](plot_{dataset}.png)", ""] + (sections or {}).get(dataset, [])
    main = [r for r in main if r["backend"] != "tflite"]
    models = sorted({(r["model"], r["kind"]) for r in main}, key=lambda mk: (mk[1] != "teacher", mk))
    acc = {}  # where a student learned from several teachers, the variant with the best validation accuracy
    for r in sorted(main, key=lambda r: -1 if r["val_accuracy"] is None else r["val_accuracy"]):
        acc[(r["dataset"], r["model"], r["kind"])] = r
    out += ["## Overall", "", "| model | kind | " + " | ".join(datasets) + " | mean |",
            "|" + "---|" * (len(datasets) + 3)]
    for model, kind in models:
        vals = [acc.get((d, model, kind)) for d in datasets]
        got = [v["accuracy"] for v in vals if v]
        mean = f"{100 * np.mean(got):.2f}" if len(got) == len(datasets) else ""
        cells = " | ".join(_acc(v) if v else "" for v in vals)
        out.append(f"| {teacher_name(model)} | {kind} | {cells} | {mean} |")
    multi = [r for r in rows if r["backend"]]
    by_student = defaultdict(list)
    for r in multi:
        by_student[_variant(r)].append(r)
    compared = {k: v for k, v in by_student.items() if len({r["backend"] for r in v}) > 1}
    if compared:
        out += ["", "## Backend comparison", "",
                "| dataset | model | kind | backend | accuracy | train rows/s | inference rows/s (b256) | "
                "latency ms (b1) |", "|" + "---|" * 8]
        for (dataset, model, kind, teacher), group in sorted(compared.items(),
                                                             key=lambda kv: (kv[0][:3], kv[0][3] or "")):
            label = kind_label(kind, teacher, several[dataset])
            for r in sorted(group, key=lambda r: BACKEND_ORDER.get(r["backend"], 9)):
                out.append(f"| {dataset} | {model} | {label} | {r['backend']} | {_acc(r)} | "
                           f"{_fmt(r['train_samples_per_s'], ',.0f')} | {_fmt(r['throughput_b256'], ',.0f')} | "
                           f"{_fmt(r['latency_ms_b1'], '.2f')} |")
    mixed = [r for r in rows if len(r["teacher_runs"]) > 1]
    if mixed:  # a teacher name resolves to its newest stored run: refitting it between seeds splits a row
        out += ["", "## Rows whose seeds learned from different runs of their teacher", ""] + [
            f"- {r['dataset']} {r['model']} {r['kind']} {r['backend'] or '-'} ← {r['teacher']}: "
            f"{len(r['teacher_runs'])} sets of teacher logits ({', '.join(r['teacher_runs'])})" for r in mixed]
    varied = [r for r in rows if r["mixed_settings"]]
    if varied:
        out += ["", "## Rows whose seeds ran with different settings (averaged all the same)", ""] + [
            f"- {r['dataset']} {r['model']} {r['kind']} {r['backend'] or '-'} ← {r['teacher'] or '-'}: " + "; ".join(
                f"{k} {' / '.join(v)}" for k, v in r["mixed_settings"].items()) for r in varied]
    if unsupported:
        out += ["", "## Not exported", ""] + [f"- {u.dataset} {u.model}: {u.error}" for u in unsupported]
    if failed:
        out += ["", "## Failed cells", ""] + [
            f"- {f.dataset} {f.model} {f.kind} {f.backend or '-'} seed {f.seed}: {f.error}" for f in failed]
    return "\n".join(out) + "\n"


def pareto(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points not beaten by a smaller-or-equal model with higher accuracy, by increasing size."""
    front, best = [], -1.0
    for p, a in sorted(points, key=lambda x: (x[0], -x[1])):
        if a > best:
            front.append((p, a))
            best = a
    return front


def plot(rows: list[dict], dataset: str, out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sub = [r for r in primary(rows) if r["dataset"] == dataset and r["param_count"] and r["backend"] != "tflite"]
    fig, ax = plt.subplots(figsize=(8, 5))
    students = ("scratch", "kd", "kd+transfer", "nested")
    markers = {"scratch": "o", "kd": "^", "kd+transfer": "D", "nested": "v", "teacher": "*", "baseline": "s"}
    for family in sorted({r["family"] for r in sub if r["kind"] in students}):
        for kind in students:
            pts = [r for r in sub if r["family"] == family and r["kind"] == kind]
            if pts:
                ax.scatter([r["param_count"] for r in pts], [100 * r["accuracy"] for r in pts],
                           marker=markers[kind], label=f"{family} {kind}", s=50)
    for r in sub:
        if r["kind"] in ("teacher", "baseline"):
            ax.axhline(100 * r["accuracy"], ls="--" if r["kind"] == "teacher" else ":", color="grey")
            ax.scatter([r["param_count"]], [100 * r["accuracy"]], marker=markers[r["kind"]], s=90,
                       label=f"{teacher_name(r['model'])} ({r['kind']})")
    front = pareto([(r["param_count"], 100 * r["accuracy"]) for r in sub])
    ax.step(*zip(*front), where="post", color="black", lw=1, alpha=0.6, label="Pareto front")
    for r in sub:
        if (r["param_count"], 100 * r["accuracy"]) in front:
            ax.annotate(teacher_name(r["model"]), (r["param_count"], 100 * r["accuracy"]), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
    ax.set_xscale("log")
    ax.set(xlabel="parameters (log scale)", ylabel="test accuracy (%)", title=f"{dataset}: accuracy vs parameters")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    save_figure(fig, out_dir / f"plot_{dataset}")


def _sections(records: list[Result], out_dir: Path) -> tuple[dict[str, list[str]], dict]:
    """Per dataset, the distillation gain, diagnosis, calibration and teacher-fallback sections (markdown lines,
    plots written) and their numbers for leaderboard.json; first keeps the logits of cells that have none kept yet."""
    missing = logits.keep(out_dir, records)
    calibrated, cascades, diagnoses = calibration.table(out_dir, records), cascade.table(out_dir, records), \
        diagnose.load(out_dir)
    gains = gain.table(records)
    sections = {}
    for dataset in sorted({r.dataset for r in records}):
        lost = missing.get(dataset, [])
        several = several_teachers((r.kind, r.teacher) for r in records if r.dataset == dataset)
        sections[dataset] = gain.markdown(gains.get(dataset, []), dataset, several) + diagnose.markdown(
            diagnoses, dataset) + calibration.markdown(
            calibrated.get(dataset, []), dataset, calibration.plot(out_dir, records, dataset)) + cascade.markdown(
            cascades.get(dataset), dataset, cascade.plot(out_dir, records, dataset)) + (
            [f"No kept logits for {len(lost)} cell(s), left out of calibration and fallback: "
             + ", ".join(sorted(lost)) + ".", ""] if lost else [])
    return sections, {"gain": gains, "calibration": calibrated, "cascade": cascades,
                      "diagnoses": [to_json(d) for d in diagnoses], "logits_missing": missing}


def write_report(results_dir: Path, out_dir: Path) -> dict:
    """Regenerate every report file in `out_dir` from the records in `results_dir`, the TFLite exports beside it
    (`exports/`, from suite/export.py), the kept logits (`logits/`) and diagnoses (`diagnostics/`)."""
    records, failed = load_records(results_dir)
    records = members.sized(records)
    exported, unsupported = load_records(Path(results_dir).parent / "exports")
    out_dir = Path(out_dir)
    sections, extras = _sections(records, out_dir)
    records += exported
    rows = aggregate(records)
    provenance = {"records": len(records), "suites": sorted({r.suite for r in records if isinstance(r, CellRecord)}
                                                            - {""}),
                  "commits": sorted({str(r.commit) for r in records})}
    store.write_text(out_dir / "leaderboard.md", markdown(rows, failed, provenance, unsupported, sections))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    store.write_text(out_dir / "leaderboard.csv", buf.getvalue())
    store.write_json(out_dir / "leaderboard.json", {"provenance": provenance, "rows": rows,
                                                    "failed": [to_json(f) for f in failed]} | extras)
    for dataset in sorted({r["dataset"] for r in rows}):
        plot(rows, dataset, out_dir)
    gain.write_to_tensorboard(records, out_dir)
    return {"rows": len(rows), "failed": len(failed), "out": str(out_dir), "provenance": provenance}
