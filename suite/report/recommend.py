"""Which student to deploy (`kdsuite recommend`): from a store's student records, the one with the best mean
validation accuracy within a parameter budget (and a batch-1 latency budget), optionally backed by the teacher
on a share of rows (`cascade.py`, threshold chosen on validation); its expected test accuracy, size and speed, and
one line of why, from the dataset's diagnosis (`diagnose.py`) when there is one."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from kdsuite.errors import KdsuiteError
from kdsuite.records import Result, StudentRecord, read_records
from kdsuite.report import cascade, diagnose
from kdsuite.report import logits as kept

ORDER_AWARE = ("cnn", "bilstm")  # families that read word order beyond a bag of words or hashed bigrams


def candidates(records: list[Result], dataset: str) -> list[dict]:
    """One entry per (model, kind, backend, teacher) of `dataset`'s students: means over seeds and costs."""
    groups = defaultdict(list)
    for r in records:
        if isinstance(r, StudentRecord) and r.dataset == dataset and r.status == "ok":
            groups[(r.model, r.kind, r.backend, r.teacher or "")].append(r)
    out = []
    for (model, kind, backend, teacher), group in sorted(groups.items()):
        first = group[0]
        out.append({"model": model, "kind": kind, "backend": backend, "teacher": teacher or None,
                    "family": first.family, "seeds": len(group),
                    "val_accuracy": float(np.mean([r.val_accuracy for r in group])),
                    "accuracy": float(np.mean([r.test["accuracy"] for r in group])),
                    "param_count": first.param_count, "disk_bytes": first.disk_bytes,
                    "latency_ms_b1": (first.speed or {}).get("latency_ms_b1"),
                    "throughput_b256": (first.speed or {}).get("throughput_b256"),
                    "records": group})
    return out


def model_folder(out: Path, record: StudentRecord) -> str | None:
    """Where `record`'s model is now: under this store's models/, else at its recorded path, else None (a store
    of copied records, as the committed `reports/`, keeps no models)."""
    for folder in (out / "models" / record.cell_key, Path(record.run_dir)):
        if (folder / "student.keras").is_file():
            return str(folder)
    return None


def _fallback(c: dict, out: Path, records: list[Result], share: float) -> dict | None:
    """The cascade of candidate `c` at `share` (means over its seeds with kept logits), or None."""
    picked = cascade.pick_teacher(out, records, c["records"][0].dataset)
    if picked is None:
        return None
    teacher, tz = picked
    found = [e[f"{round(100 * share)}%"] for r in c["records"] if (z := kept.read(out, r.cell_key)) is not None
             and (e := cascade.evaluate(r, z, teacher, tz, (share,))) is not None]
    if not found:
        return None
    mean = {k: None if any(f[k] is None for f in found) else float(np.mean([f[k] for f in found])) for k in found[0]}
    return mean | {"teacher": teacher.model, "share_asked": share, "seeds": len(found)}


def _size(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}K"


def why(chosen: dict, pool: list[dict], diagnosis) -> str:
    """One line: how much word order matters here and how the chosen student compares with the best student of
    the other kind (bag of words vs order-aware, by validation accuracy) in `pool`, whatever its size."""
    aware = chosen["family"] in ORDER_AWARE
    others = [c for c in pool if (c["family"] in ORDER_AWARE) != aware]
    tail = "" if diagnosis else f" (see how much word order matters: `kdsuite diagnose " \
                                f"{chosen['records'][0].dataset} --teacher T`)"
    if diagnosis is None:
        head = "the best validation accuracy within the budget"
    else:
        s = diagnosis.word_order["sensitivity"]
        level = "barely matters" if s < 0.15 else "matters somewhat" if s < 0.4 else "matters"
        head = f"word order {level} here ({s:.2f}, teacher {diagnosis.teacher}" + \
               (", a lower bound" if "note" in diagnosis.word_order else "") + \
               f"; words alone reach {100 * diagnosis.lexical['share']:.0f}% of the teacher)"
    if not others:
        return head + tail
    other = max(others, key=lambda c: c["val_accuracy"])
    gap = 100 * (chosen["accuracy"] - other["accuracy"])
    mine, theirs = ("order-aware", "bag-of-words") if aware else ("bag-of-words", "order-aware")
    compare = f"within {abs(gap):.1f} points of" if abs(gap) <= 0.5 else \
        f"{abs(gap):.1f} points {'above' if gap > 0 else 'below'}"
    return (f"{head}: the {_size(chosen['param_count'])} {mine} student {chosen['model']} is {compare} the best "
            f"{theirs} one ({other['model']} {other['kind']}, {_size(other['param_count'])}) on test{tail}")


def recommend(out: str | Path, dataset: str, max_params: int, max_latency_ms: float | None = None,
              fallback_share: float | None = None) -> dict:
    """The student of `dataset` to deploy from the records in `out` (see the module docstring)."""
    if max_params < 1:
        raise KdsuiteError(f"--max-params must be a positive number of parameters, got {max_params}")
    if max_latency_ms is not None and max_latency_ms <= 0:
        raise KdsuiteError(f"--max-latency-ms must be above 0, got {max_latency_ms}")
    if fallback_share is not None and not 0 < fallback_share < 1:
        raise KdsuiteError(f"--fallback-share must be in (0, 1), got {fallback_share}")
    out = Path(out)
    records = [r for r in read_records(out / "results") if r.status == "ok"] if (out / "results").is_dir() else []
    everyone = pool = candidates(records, dataset)
    if not pool:
        raise KdsuiteError(f"no student results for {dataset} in {out}: run `kdsuite recommend {dataset} --run-quick "
                           f"--out {out} ...` or `kdsuite run quick --out {out}` (Emotion) first")
    pool = [c for c in pool if c["param_count"] and c["param_count"] <= max_params]
    if not pool:
        smallest = min(everyone, key=lambda c: c["param_count"] or 0)
        raise KdsuiteError(f"no {dataset} student within {max_params:,} parameters (smallest: {smallest['model']}, "
                           f"{smallest['param_count']:,})")
    fallback = {}
    if fallback_share is not None:
        fallback = {id(c): f for c in pool if (f := _fallback(c, out, records, fallback_share)) is not None}
        if not fallback:
            raise KdsuiteError(f"no kept logits of {dataset}'s students and teacher in {out}/logits for a fallback "
                               f"(run `kdsuite report {out}` with their run folders present)")
        pool = [c for c in pool if id(c) in fallback]
    def ms(c: dict) -> float | None:  # per row at batch 1, with the teacher's share when it backs the student
        return fallback[id(c)]["ms_per_row"] if fallback else c["latency_ms_b1"]

    budget = [c for c in pool if max_latency_ms is None or (ms(c) is not None and ms(c) <= max_latency_ms)]
    if not budget:
        raise KdsuiteError(f"no {dataset} student within {max_params:,} parameters answers within {max_latency_ms} ms "
                           f"per row at batch 1" + (f" with {100 * fallback_share:g}% sent to the teacher"
                                                    if fallback else ""))
    score = (lambda c: fallback[id(c)]["val_accuracy"]) if fallback else (lambda c: c["val_accuracy"])
    chosen = max(budget, key=lambda c: (score(c), -c["param_count"], c["model"], c["kind"]))
    diagnosis = diagnose.best(diagnose.load(out), dataset)
    reason = why(chosen, everyone, diagnosis)
    f = fallback.get(id(chosen))
    if f:
        reason += (f"; sending the least confident {100 * f['share']:.0f}% of rows to {f['teacher']} moves test "
                   f"accuracy {100 * (f['accuracy'] - chosen['accuracy']):+.1f} points")
    return {"dataset": dataset, "out": str(out), "candidates": len(pool),
            **{k: chosen[k] for k in ("model", "kind", "backend", "teacher", "family", "seeds", "val_accuracy",
                                      "param_count", "disk_bytes", "latency_ms_b1", "throughput_b256")},
            "run_dir": model_folder(out, min(chosen["records"], key=lambda r: r.seed or 0)),
            "expected_accuracy": f["accuracy"] if f else chosen["accuracy"], "student_accuracy": chosen["accuracy"],
            "fallback": f, "diagnosis": diagnosis.key if diagnosis else None, "why": reason}
