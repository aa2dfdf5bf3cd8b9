"""What caching the teacher's logits saves: KD from cached logits against per-step KD, where the teacher
runs on every training batch, with the same fine-tuned teacher, students, rows, epochs and initial weights.

- per-step: the stock `keras.distillation.Distiller`. The teacher reads BERT token ids and the student reads
  its own word ids, so both are wrapped as models over one input dict holding both.
- cached: kdsuite's `Distiller` (suite/distill.py) reading logits the teacher exported once; that one-off
  export of the same rows is timed too and reported beside the ratio.

Both use the KL loss at T=1 and no early stopping; each fit is timed end to end (tracing included).
"""

from __future__ import annotations

import time

import numpy as np


def _wrap(teacher_model, student, seq_len: int, teacher_inputs: dict[str, np.ndarray]):
    """(teacher, student) as Keras models over {"ids": student ids, **teacher token arrays}."""
    import keras

    inputs = {"ids": keras.Input((seq_len,), dtype="int32", name="ids")}
    inputs |= {k: keras.Input((v.shape[1],), dtype=str(v.dtype), name=k) for k, v in teacher_inputs.items()}
    teacher = keras.Model(inputs, teacher_model({k: inputs[k] for k in teacher_inputs}), name="teacher_wrap")
    student_wrap = keras.Model(inputs, student(inputs["ids"]), name="student_wrap")
    return teacher, student_wrap


def compare(dataset: str, students=("mlp", "cnn", "bilstm"), teacher: str = "minilm-l6", rows: int = 2000,
            epochs: int = 3, batch_size: int = 64, seed: int = 0, data_dir: str | None = None) -> dict:
    """Distil each student both ways on the first `rows` stratified training rows; times and test accuracy."""
    import keras

    from kdsuite.students import build_student
    from kdsuite.backend import seed_everything
    from kdsuite.data.datasets import default_length, load_dataset
    from kdsuite.engine.loss import Distiller
    from kdsuite.metrics import classification_metrics
    from kdsuite.teachers.runs import finetuned_teacher
    from kdsuite.engine.tokens import tokenize

    ds = load_dataset(dataset, data_dir, seed=seed, max_train=rows)
    seq_len = default_length(ds.name)
    ids = tokenize(ds, 5000, seq_len).ids
    labels, test_labels = ds.splits["train"].labels.astype("int32"), ds.splits["test"].labels
    model = finetuned_teacher(ds, teacher)
    model.model.trainable = False
    encoded = model.encode(ds.splits["train"].texts)
    start = time.perf_counter()
    cached_logits = model.predict(encoded)
    export_s = time.perf_counter() - start

    def test_accuracy(student) -> float:
        return classification_metrics(test_labels, student.predict(ids["test"], verbose=0).argmax(-1),
                                      ds.label_names)["accuracy"]

    out = []
    for name in students:
        seed_everything(seed)
        student, _ = build_student(name, 5000, seq_len, ds.num_classes)
        initial = student.get_weights()

        cached = Distiller(student, "kl")
        cached.compile(optimizer=keras.optimizers.Adam(1e-3))
        start = time.perf_counter()
        cached.fit(ids["train"], {"label": labels, "teacher": cached_logits}, batch_size=batch_size, epochs=epochs,
                   shuffle=True, verbose=0)
        cached_s = time.perf_counter() - start
        cached_acc = test_accuracy(student)

        student.set_weights(initial)
        seed_everything(seed)
        t_wrap, s_wrap = _wrap(model.model, student, seq_len, encoded)
        # an explicit KLDivergence: the default loss="kl_divergence" resolves to a function, which Keras 3.15's
        # LogitsDistillation applies to raw logits instead of softmax probabilities (the student then learns nothing)
        kl = keras.distillation.LogitsDistillation(temperature=1.0, loss=keras.losses.KLDivergence())
        online = keras.distillation.Distiller(t_wrap, s_wrap, kl, student_loss_weight=0.0)
        online.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
        start = time.perf_counter()
        online.fit({"ids": ids["train"], **encoded}, labels, batch_size=batch_size, epochs=epochs, shuffle=True,
                   verbose=0)
        online_s = time.perf_counter() - start
        online_acc = test_accuracy(student)
        out.append({"student": name, "param_count": int(student.count_params()),
                    "cached_fit_s": round(cached_s, 2), "per_step_fit_s": round(online_s, 2),
                    "cached_accuracy": cached_acc, "per_step_accuracy": online_acc})
    cached_total = sum(r["cached_fit_s"] for r in out)
    online_total = sum(r["per_step_fit_s"] for r in out)
    return {"dataset": ds.name, "teacher": teacher, "train_rows": len(labels), "epochs": epochs,
            "batch_size": batch_size, "seed": seed, "teacher_max_length": model.max_length,
            "backend": keras.backend.backend(), "data_fingerprint": ds.fingerprint, "students": out,
            "teacher_export_s": round(export_s, 2), "cached_total_s": round(cached_total, 2),
            "per_step_total_s": round(online_total, 2),
            "speedup": round(online_total / cached_total, 1),
            "speedup_with_export": round(online_total / (cached_total + export_s), 1)}


if __name__ == "__main__":  # python -m kdsuite.report.kd_speed DATASET STUDENTS ROWS EPOCHS: one JSON object on stdout
    import json
    import sys

    from kdsuite.backend import use_backend

    use_backend("tensorflow")
    dataset, students, rows, epochs = sys.argv[1:5]
    print(json.dumps(compare(dataset, students.split(","), rows=int(rows), epochs=int(epochs))))
