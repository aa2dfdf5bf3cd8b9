"""Fit one student (scratch or distilled) in `run_dir`: ids, targets, fit with early stopping and TensorBoard,
evaluation on test, the `.keras` model, its vocabulary and logits, and the result fields of its record."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kdsuite.config import TrainConfig
from kdsuite.data.datasets import TextDataset
from kdsuite.engine import batches
from kdsuite.errors import KdsuiteError
from kdsuite.engine.run_folder import save_logits, save_student, write_card
from kdsuite.metrics import calibration, classification_metrics
from kdsuite.engine.guards import NonFiniteLoss
from kdsuite.engine.tokens import tokenize

if TYPE_CHECKING:
    from kdsuite.teachers.transfer import TransferSet


def _targets(labels: np.ndarray, teacher: np.ndarray | None) -> dict:
    return {"label": labels.astype("int32")} | ({} if teacher is None else {"teacher": teacher.astype("float32")})


def _write_hparams(log_dir: Path, hparams: dict, metrics: dict[str, float]) -> None:
    """The cell's options and its final metrics as one HParams session, so `tensorboard --logdir` over many runs
    shows one table of every cell, sortable by accuracy (the metrics are scalars of the session's own run)."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    with tf.summary.create_file_writer(str(log_dir / "hparams")).as_default():
        hp.hparams({k: v for k, v in hparams.items() if isinstance(v, (int, float, str, bool))})
        for name, value in metrics.items():
            tf.summary.scalar(f"metrics/{name}", value, step=0)


def _epoch_tensorboard(log_dir: Path):
    """Keras' TensorBoard callback with epoch scalars only. Keras 3.15 converts every batch's logs to summaries
    even with update_freq="epoch", where no writer is active to record them (~1 s of a 3-epoch MLP fit, a third
    of it), and on TensorFlow it also traces and writes the train-step graph: both are skipped."""
    import keras

    class EpochTensorBoard(keras.callbacks.TensorBoard):
        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, None)

    return EpochTensorBoard(str(log_dir), write_graph=False)


def train_student(ds: TextDataset, student_name: str, cfg: TrainConfig, seq_len: int, seed: int,
                  teacher_logits: dict[str, np.ndarray] | None, run_dir: Path, hparams: dict, verbose: int = 2,
                  transfer: "TransferSet | None" = None) -> dict:
    """Fit `student_name` on `ds` (distilled from `teacher_logits` unless cfg.loss == 'ce'), plus the
    `transfer` (texts, teacher logits) rows, which are unlabelled and only feed the KD term. `hparams` (the
    cell's spec) go to TensorBoard's HParams dashboard beside the training options."""
    import keras

    from kdsuite.backend import seed_everything
    from kdsuite.engine.loss import Distiller
    from kdsuite.metrics import inference_speed
    from kdsuite.students import build_student

    if (cfg.loss == "ce") != (teacher_logits is None):
        raise KdsuiteError("teacher logits are needed for every loss but 'ce' (use --no-kd to train on labels)")
    backend = keras.backend.backend()
    tokens = tokenize(ds, cfg.vocab_size, seq_len, extra={"transfer": transfer.texts} if transfer else None)
    seed_everything(seed)
    student, entry = build_student(student_name, cfg.vocab_size, seq_len, ds.num_classes)
    model = Distiller(student, cfg.loss, cfg.temperature, cfg.alpha)
    # tiny students are bound by per-step overhead: run 32 steps per call (same math; PyTorch allows only 1)
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), steps_per_execution=1 if backend == "torch" else 32)
    teacher = teacher_logits or {}
    # ids stay in their mapped files and are streamed in batches (shuffled as keras shuffles arrays); targets are
    # small ([rows] labels, [rows, classes] teacher logits), so the transfer rows' follow the training rows' in memory
    x_train = [tokens.ids["train"]] + ([tokens.ids["transfer"]] if transfer else [])
    y_train = _targets(ds.splits["train"].labels, teacher.get("train"))
    if transfer:
        y_train = {"label": np.concatenate([y_train["label"], np.full(len(transfer.logits), -1, "int32")]),
                   "teacher": np.concatenate([y_train["teacher"], transfer.logits.astype("float32")])}
    y_val = _targets(ds.splits["validation"].labels, teacher.get("validation"))
    train_rows = len(y_train["label"])

    log_dir = run_dir / "tensorboard"
    callbacks = [
        # validation loss, not accuracy: tiny students sit on the majority class for several epochs first
        keras.callbacks.EarlyStopping("val_loss", patience=cfg.patience, mode="min", restore_best_weights=True),
        _epoch_tensorboard(log_dir),
        NonFiniteLoss(student_name),  # a NaN loss fails the cell at once, in one line
    ]
    t0 = time.perf_counter()
    history = model.fit(batches.dataset(x_train, y_train, cfg.batch_size, shuffle=True),
                        validation_data=batches.dataset([tokens.ids["validation"]], y_val, cfg.batch_size, False),
                        epochs=cfg.epochs, shuffle=False, callbacks=callbacks, verbose=verbose)
    train_s = time.perf_counter() - t0
    epochs_run = len(history.history["loss"])

    t1 = time.perf_counter()
    logits = batches.predict(student, tokens.ids["test"], batch_size=256)
    predict_s = time.perf_counter() - t1
    speed = inference_speed(student.predict_on_batch, student.predict_on_batch, tokens.ids["test"])
    info = {"model": student_name, "dataset": ds.name, "label_names": list(ds.label_names), "seq_len": seq_len,
            "vocab_size": cfg.vocab_size} | hparams
    save_student(run_dir, student, tokens.vocabulary, info)
    model_path = run_dir / "student.keras"
    split_logits = _all_logits(student, ds, cfg.vocab_size, seq_len)
    save_logits(run_dir / "logits.npz", split_logits, {"teacher": student_name, "dataset": ds.name,
                                                       "base_fingerprint": ds.base_fingerprint,
                                                       "label_names": ds.label_names})
    val_acc = history.history["val_accuracy"]
    result = {
        "family": entry.meta.get("family", "external"),
        "backend": backend,
        "transfer_rows": len(transfer.texts) if transfer else 0,
        "transfer_replaced": transfer.replaced if transfer else 0,
        "transfer_duplicates": transfer.duplicates if transfer else 0,
        "empty_rows": tokens.empty_rows,  # rows per split whose ids are all padding (no token survived)
        "config": asdict(cfg) | {"seq_len": seq_len},
        "param_count": int(student.count_params()),
        "param_count_note": "all student weights (embedding included)",
        "disk_bytes": model_path.stat().st_size,
        "epochs_run": epochs_run,
        "best_epoch": int(np.argmin(history.history["val_loss"])) + 1,
        "val_accuracy": float(val_acc[int(np.argmin(history.history["val_loss"]))]),
        "test": classification_metrics(ds.splits["test"].labels, logits.argmax(-1), ds.label_names),
        "times_s": {"train": round(train_s, 2), "predict_test": round(predict_s, 3)},
        "train_samples_per_s": round(epochs_run * train_rows / train_s, 1),
        "predict_samples_per_s": round(len(logits) / predict_s, 1),
        "speed": speed,
        "calibration": calibration(split_logits["validation"], ds.splits["validation"].labels, logits,
                                   ds.splits["test"].labels),
        "run_dir": str(run_dir),
    }
    write_card(run_dir, result | {"train_rows": len(ds.splits["train"])}, info)
    _write_hparams(log_dir, asdict(cfg) | {"seq_len": seq_len, "seed": seed, "backend": backend} | hparams,
                   {"val_accuracy": result["val_accuracy"], "test_accuracy": result["test"]["accuracy"],
                    "test_macro_f1": result["test"]["macro_f1"], "test_ece": result["calibration"]["ece"]})
    return result


def _all_logits(student, ds: TextDataset, vocab_size: int, seq_len: int) -> dict[str, np.ndarray]:
    """The student's logits for every split (train: the full carved train), so it can teach another student
    (nested distillation: `kdsuite distill --teacher-logits <run>/logits.npz`) and be calibrated."""
    full = {"train": ds.full_train or ds.splits["train"]} | {k: v for k, v in ds.splits.items() if k != "train"}
    ids = tokenize(ds, vocab_size, seq_len, extra={"full_train": ds.full_train.column} if ds.full_train else None).ids
    return {name: batches.predict(student, ids["full_train" if name == "train" and ds.full_train else name], 1024)
            for name in full}
