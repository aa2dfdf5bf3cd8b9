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

    from students import build_student
    from suite.data import DATASETS, load_dataset
    from suite.distill import Distiller
    from suite.metrics import inference_speed
    from suite.tokens import tokenize

    ds = load_dataset(dataset, data_dir)
    spec = DATASETS.get(ds.name)
    tokens = tokenize(ds, 5000, spec.max_length if spec else 64)
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
                     **inference_speed(student, tokens.ids["test"]),
                     "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)})
    return rows


def fit_overhead(dataset: str, name: str, epochs: int = 3, batch_size: int = 64, data_dir: str | None = None,
                 repeats: int = 3) -> dict:
    """Seconds of the suite's student fit (`train_student`: KD wrapper, early stopping, TensorBoard) against a bare
    `model.fit` of the same student on the same ids, labels, validation data and epochs. Single fits varied by
    up to ±20% here (shared host), in either direction, so `repeats` alternating pairs are run and the minima
    compared."""
    import tempfile

    import keras

    from students import build_student
    from suite.backend import seed_everything
    from suite.data import DATASETS, load_dataset
    from suite.tokens import tokenize
    from suite.train import TrainConfig, train_student

    ds = load_dataset(dataset, data_dir)
    spec = DATASETS.get(ds.name)
    cfg = TrainConfig(student=name, loss="ce", epochs=epochs, patience=epochs, batch_size=batch_size,
                      seq_len=spec.max_length if spec else 64)
    ids = tokenize(ds, cfg.vocab_size, cfg.seq_len).ids

    def bare_fit() -> float:
        seed_everything(cfg.seed)
        student, _ = build_student(name, cfg.vocab_size, cfg.seq_len, ds.num_classes)
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
            suite.append(train_student(ds, cfg, None, None, tmp, verbose=0)["times_s"]["train"])
            whole.append(time.perf_counter() - t)
    return {"bare_fit_s": round(min(bare), 2), "suite_fit_s": min(suite),
            "fit_overhead": round(min(suite) / min(bare), 2), "suite_total_s": round(min(whole), 2),
            "overhead_epochs": epochs, "overhead_repeats": len(bare)}


if __name__ == "__main__":  # python -m suite.bench DATASET BACKEND STUDENT[,STUDENT...] [overhead]: JSON rows
    import json
    import sys

    from suite.backend import use_backend

    use_backend(sys.argv[2])
    rows = bench_students(sys.argv[1], sys.argv[3].split(","))
    if sys.argv[4:] == ["overhead"]:
        rows = [r | fit_overhead(sys.argv[1], r["model"]) for r in rows]
    print(json.dumps(rows))
