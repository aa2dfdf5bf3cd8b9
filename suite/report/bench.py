"""The speed benchmark (`kdsuite bench`): training speed, inference cost, size and memory of each student, and
the suite's fit against a bare `model.fit`."""

from __future__ import annotations

import time


def bench_students(dataset: str, students: list[str], data_dir: str | None = None, batch_size: int = 64) -> list[dict]:
    """Train and inference speed, size and memory of each student on this process's Keras backend."""
    import resource
    import tempfile
    from pathlib import Path

    import keras

    from kdsuite.students import build_student
    from kdsuite.data.datasets import default_length, load_dataset
    from kdsuite.engine.loss import Distiller
    from kdsuite.metrics import inference_speed
    from kdsuite.engine.tokens import tokenize

    ds = load_dataset(dataset, data_dir)
    tokens = tokenize(ds, 5000, default_length(ds.name))
    x, y = tokens.ids["train"], {"label": ds.splits["train"].labels.astype("int32")}
    rows = []
    for name in students:
        student, entry = build_student(name, 5000, tokens.seq_len, ds.num_classes)
        model = Distiller(student, "ce")
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        warm = slice(0, 20 * batch_size)
        model.fit(x[warm], {"label": y["label"][warm]}, batch_size=batch_size, epochs=1, verbose=0)  # compile
        t = time.perf_counter()
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
        train_s = time.perf_counter() - t
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "student.keras"
            student.save(path)
            disk = path.stat().st_size
        rows.append({"model": name, "family": entry.meta.get("family", "external"), "kind": "student",
                     "backend": keras.backend.backend(), "dataset": ds.name, "param_count": int(student.count_params()),
                     "disk_bytes": disk, "train_samples_per_s": round(len(x) / train_s, 1), "batch_size": batch_size,
                     **inference_speed(student.predict_on_batch, student.predict_on_batch, tokens.ids["test"]),
                     "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)})
    return rows


def fit_overhead(dataset: str, name: str, epochs: int = 3, batch_size: int = 64, data_dir: str | None = None,
                 repeats: int = 3) -> dict:
    """Seconds of the suite's student fit (`train_student`: KD wrapper, early stopping, TensorBoard) against a bare
    `model.fit` of the same student on the same ids, labels, validation data and epochs. Single fits varied by
    up to ±20% here (shared host), in either direction, so `repeats` alternating pairs are run and the minima
    compared."""
    import tempfile
    from pathlib import Path

    import keras

    from kdsuite.backend import seed_everything
    from kdsuite.students import build_student
    from kdsuite.config import TrainConfig
    from kdsuite.data.datasets import default_length, load_dataset
    from kdsuite.engine.fit import train_student
    from kdsuite.engine.tokens import tokenize

    ds = load_dataset(dataset, data_dir)
    cfg = TrainConfig(loss="ce", epochs=epochs, patience=epochs, batch_size=batch_size)
    seq_len = default_length(ds.name)
    ids = tokenize(ds, cfg.vocab_size, seq_len).ids

    def bare_fit() -> float:
        seed_everything(0)
        student, _ = build_student(name, cfg.vocab_size, seq_len, ds.num_classes)
        student.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate),
                        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        t = time.perf_counter()
        student.fit(ids["train"], ds.splits["train"].labels, batch_size=batch_size, epochs=epochs, shuffle=True,
                    validation_data=(ids["validation"], ds.splits["validation"].labels), verbose=0)
        return time.perf_counter() - t

    bare, suite, whole = [], [], []
    for _ in range(repeats):
        bare.append(bare_fit())
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            fit = train_student(ds, name, cfg, seq_len, 0, None, Path(tmp),
                                {"model": name, "kind": "scratch", "teacher": ""}, verbose=0)
            suite.append(fit["times_s"]["train"])
            whole.append(time.perf_counter() - t)
    return {"bare_fit_s": round(min(bare), 2), "suite_fit_s": min(suite),
            "fit_overhead": round(min(suite) / min(bare), 2), "suite_total_s": round(min(whole), 2),
            "overhead_epochs": epochs, "overhead_repeats": len(bare)}


def run_bench(dataset: str, models: str, backends: str, teacher: str | None = None, overhead: bool = False,
              kd_compare: bool = False, kd_rows: int = 2000, kd_epochs: int = 3, data_dir: str | None = None,
              out: str | None = None, command: str = "") -> dict:
    """Bench rows of `models` on each backend (a process each), the teacher's row, the KD comparison; with `out`,
    `bench_<dataset>.json` and `.md` there."""
    import os
    import platform
    from pathlib import Path

    from kdsuite import store
    from kdsuite.backend import BACKENDS, json_from
    from kdsuite.data.datasets import load_dataset
    from kdsuite.errors import KdsuiteError

    ds = load_dataset(dataset, data_dir)
    rows = []
    for backend in backends.split(","):
        if backend not in BACKENDS:
            raise KdsuiteError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
        rows += json_from("kdsuite.report.bench", backend, dataset, backend, models,
                          *(["overhead"] if overhead else []))
    if teacher:
        from kdsuite.teachers.runs import teacher_record

        t = teacher_record(teacher, ds)
        rows.insert(0, {"model": t["model"], "family": t["family"], "kind": "teacher", "backend": "tensorflow",
                        "dataset": ds.name, "param_count": t["param_count"],
                        "latency_ms_b1": t["speed"]["latency_ms_b1"]})
    result = {"dataset": ds.name, "hardware": {"machine": platform.machine(), "processor": platform.processor(),
                                               "cpus": os.cpu_count(),
                                               "threads": os.environ.get("KDSUITE_THREADS") or "framework default"},
              "commit": store.git_commit(), "data_fingerprint": ds.fingerprint,
              "command": command, "rows": rows}
    if kd_compare:
        result["kd_compare"] = json_from("kdsuite.report.kd_speed", "tensorflow", dataset, models, str(kd_rows),
                                         str(kd_epochs))
    if out:
        store.write_json(Path(out) / f"bench_{ds.name}.json", result)
        store.write_text(Path(out) / f"bench_{ds.name}.md", bench_markdown(result))
    return result


def published(result: dict, rows: list[dict], command: str, out, name: str, markdown) -> dict:
    """`result` with the machine, commit, command and rows, written to OUT/NAME.json and .md when `out` is set."""
    import os
    import platform
    from pathlib import Path

    from kdsuite import store

    result |= {"hardware": {"machine": platform.machine(), "cpus": os.cpu_count(),
                            "threads": os.environ.get("KDSUITE_THREADS") or "framework default"},
               "commit": store.git_commit(), "command": command, "rows": rows}
    if out:
        store.write_json(Path(out) / f"{name}.json", result)
        store.write_text(Path(out) / f"{name}.md", markdown(result))
    return result


def markdown_table(rows: list[dict], cols: tuple[str, ...]) -> list[str]:
    return ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)] + [
        "| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]


def bench_markdown(result: dict) -> str:
    import json

    cols = ("model", "kind", "backend", "param_count", "disk_bytes", "train_samples_per_s", "latency_ms_b1",
            "latency_ms_b1_p95", "throughput_b256", "peak_rss_mb")
    if any("fit_overhead" in r for r in result["rows"]):
        cols += ("bare_fit_s", "suite_fit_s", "fit_overhead")
    lines = [f"# Speed and size on {result['dataset']}", "", f"Hardware: {json.dumps(result['hardware'])}", "",
             f"Commit {result['commit']}, data fingerprint {result['data_fingerprint']}: `{result['command']}`", "",
             *markdown_table(result["rows"], cols)]
    kd = result.get("kd_compare")
    if kd:
        lines += ["", "## KD from cached teacher logits vs the teacher run every step", "",
                  f"{kd['teacher']} teacher (max length {kd['teacher_max_length']}), {kd['train_rows']} training rows, "
                  f"{kd['epochs']} epochs, batch {kd['batch_size']}, {kd['backend']}, seed {kd['seed']}. "
                  f"Per-step: `keras.distillation.Distiller`. Cached: kdsuite's Distiller on logits exported once "
                  f"({kd['teacher_export_s']} s for these rows).", "",
                  *markdown_table(kd["students"], ("student", "param_count", "cached_fit_s", "per_step_fit_s",
                                           "cached_accuracy", "per_step_accuracy")), "",
                  f"Total: cached {kd['cached_total_s']} s, per-step {kd['per_step_total_s']} s: **{kd['speedup']}x** "
                  f"faster ({kd['speedup_with_export']}x counting the one-off export)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m kdsuite.report.bench DATASET BACKEND STUDENT[,STUDENT...] [overhead]: JSON rows
    import json
    import sys

    from kdsuite.backend import use_backend

    use_backend(sys.argv[2])
    rows = bench_students(sys.argv[1], sys.argv[3].split(","))
    if sys.argv[4:] == ["overhead"]:
        rows = [r | fit_overhead(sys.argv[1], r["model"]) for r in rows]
    print(json.dumps(rows))
