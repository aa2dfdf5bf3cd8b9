"""Train one student (scratch or distilled) end to end: ids, targets, fit with early stopping and
TensorBoard, evaluation on test, `.keras` export and one result record. A finished run is not redone."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from suite import store
from suite.data import DATASETS, TextDataset
from suite.errors import KdsuiteError
from suite.metrics import classification_metrics
from suite.tokens import tokenize


@dataclass(frozen=True)
class TrainConfig:
    student: str = "mlp"
    loss: str = "kl"  # kl | ce+kl | mse | ce (no teacher)
    temperature: float = 1.0
    alpha: float = 0.5
    epochs: int = 50
    patience: int = 5
    batch_size: int = 64
    learning_rate: float = 1e-3
    vocab_size: int = 5000
    seq_len: int = 64
    seed: int = 0
    transfer: str = ""  # transfer set spec (suite/transfer.py), KD only

    def validate(self) -> None:
        if self.temperature <= 0:
            raise KdsuiteError(f"--temperature must be > 0, got {self.temperature}")
        if not 0 <= self.alpha <= 1:
            raise KdsuiteError(f"--alpha must be in [0, 1], got {self.alpha}")
        for name in ("epochs", "batch_size", "vocab_size", "seq_len"):
            if getattr(self, name) < 1:
                raise KdsuiteError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if self.patience < 0 or self.learning_rate <= 0:
            raise KdsuiteError("--patience must be >= 0 and --learning-rate > 0")


def _targets(labels: np.ndarray, teacher: np.ndarray | None) -> dict:
    return {"label": labels.astype("int32")} | ({} if teacher is None else {"teacher": teacher.astype("float32")})


def _write_hparams(log_dir: Path, hparams: dict) -> None:
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    with tf.summary.create_file_writer(str(log_dir / "hparams")).as_default():
        hp.hparams({k: v for k, v in hparams.items() if isinstance(v, (int, float, str, bool))})


def _epoch_tensorboard(log_dir: Path):
    """Keras' TensorBoard callback with epoch scalars only. Keras 3.15 converts every batch's logs to summaries
    even with update_freq="epoch", where no writer is active to record them (~1 s of a 3-epoch MLP fit, a third
    of it), and on TensorFlow it also traces and writes the train-step graph: both are skipped."""
    import keras

    class EpochTensorBoard(keras.callbacks.TensorBoard):
        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, None)

    return EpochTensorBoard(str(log_dir), write_graph=False)


def train_student(ds: TextDataset, cfg: TrainConfig, teacher_logits: dict[str, np.ndarray] | None,
                  teacher_id: str | None, out_dir: str | Path, verbose: int = 2,
                  transfer: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """Fit `cfg.student` on `ds` (distilled from `teacher_logits` unless cfg.loss == 'ce'), plus the
    `transfer` (texts, teacher logits) rows, which are unlabelled and only feed the KD term."""
    import keras

    from students import build_student
    from suite.backend import seed_everything
    from suite.metrics import inference_speed
    from suite.distill import Distiller

    cfg.validate()
    if (cfg.loss == "ce") != (teacher_logits is None):
        raise KdsuiteError("teacher logits are needed for every loss but 'ce' (use --no-kd to train on labels)")
    if (transfer is None) != (not cfg.transfer):
        raise KdsuiteError("a transfer set needs its spec in the config (and the reverse)")
    backend = keras.backend.backend()
    kind = "scratch" if teacher_logits is None else "kd+transfer" if transfer else "kd"
    run_key = store.key(cfg=asdict(cfg), data=ds.view_fingerprint, teacher=teacher_id, backend=backend,
                        code=store.git_commit().removesuffix("+dirty"))
    run_dir = Path(out_dir) / ds.name / f"{cfg.student.replace('/', '_').replace(':', '_')}-{kind}-{backend}-s{cfg.seed}-{run_key[:8]}"
    result_path = run_dir / "result.json"
    if result_path.exists():
        return json.loads(result_path.read_text())

    tokens = tokenize(ds, cfg.vocab_size, cfg.seq_len, extra={"transfer": transfer[0]} if transfer else None)
    seed_everything(cfg.seed)
    student, entry = build_student(cfg.student, cfg.vocab_size, cfg.seq_len, ds.num_classes)
    model = Distiller(student, cfg.loss, cfg.temperature, cfg.alpha)
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate))
    teacher = teacher_logits or {}
    x_train = tokens.ids["train"]
    y_train = _targets(ds.splits["train"].labels, teacher.get("train"))
    if transfer:
        x_train = np.concatenate([x_train, tokens.ids["transfer"]])
        y_train = {"label": np.concatenate([y_train["label"], np.full(len(transfer[1]), -1, "int32")]),
                   "teacher": np.concatenate([y_train["teacher"], transfer[1].astype("float32")])}
    y_val = _targets(ds.splits["validation"].labels, teacher.get("validation"))

    log_dir = run_dir / "tensorboard"
    callbacks = [
        # validation loss, not accuracy: tiny students sit on the majority class for several epochs first
        keras.callbacks.EarlyStopping("val_loss", patience=cfg.patience, mode="min", restore_best_weights=True),
        _epoch_tensorboard(log_dir),
    ]
    t0 = time.perf_counter()
    history = model.fit(x_train, y_train, validation_data=(tokens.ids["validation"], y_val),
                        epochs=cfg.epochs, batch_size=cfg.batch_size, shuffle=True, callbacks=callbacks,
                        verbose=verbose)
    train_s = time.perf_counter() - t0
    epochs_run = len(history.history["loss"])
    _write_hparams(log_dir, asdict(cfg) | {"kind": kind, "backend": backend, "teacher": teacher_id or ""})

    t1 = time.perf_counter()
    logits = student.predict(tokens.ids["test"], batch_size=256, verbose=0)
    predict_s = time.perf_counter() - t1
    speed = inference_speed(student, tokens.ids["test"])
    model_path = run_dir / "student.keras"
    with store.atomic_path(model_path) as tmp:
        student.save(tmp)
    store.write_text(run_dir / "vocabulary.txt", "\n".join(tokens.vocabulary) + "\n")
    _export_logits(student, ds, cfg, run_dir / "logits.npz")
    val_acc = history.history["val_accuracy"]
    result = {
        "model": cfg.student,
        "family": entry.meta.get("family", "external"),
        "kind": kind,
        "backend": backend,
        "dataset": ds.name,
        "data_source": ds.source,
        "data_fingerprint": ds.fingerprint,
        "data_view": ds.view_fingerprint,
        "data_recipe": ds.recipe,
        "train_rows": len(ds.splits["train"]),
        "transfer_rows": len(transfer[0]) if transfer else 0,
        "teacher": teacher_id,
        "seed": cfg.seed,
        "config": asdict(cfg),
        "param_count": int(student.count_params()),
        "param_count_note": "all student weights (embedding included)",
        "disk_bytes": model_path.stat().st_size,
        "epochs_run": epochs_run,
        "best_epoch": int(np.argmin(history.history["val_loss"])) + 1,
        "val_accuracy": float(val_acc[int(np.argmin(history.history["val_loss"]))]),
        "test": classification_metrics(ds.splits["test"].labels, logits.argmax(-1), ds.label_names),
        "times_s": {"train": round(train_s, 2), "predict_test": round(predict_s, 3)},
        "train_samples_per_s": round(epochs_run * len(x_train) / train_s, 1),
        "predict_samples_per_s": round(len(logits) / predict_s, 1),
        "speed": speed,
        "run_dir": str(run_dir),
        "commit": store.git_commit(),
    }
    store.write_json(result_path, result)
    return result


def _export_logits(student, ds: TextDataset, cfg: TrainConfig, path: Path) -> None:
    """The student's logits for every split (train: the full carved train), so it can teach another student
    (nested distillation): `kdsuite distill --teacher-logits <run>/logits.npz`."""
    full = {"train": ds.full_train or ds.splits["train"]} | {k: v for k, v in ds.splits.items() if k != "train"}
    texts = {name: split.texts for name, split in full.items()}
    ids = tokenize(ds, cfg.vocab_size, cfg.seq_len, extra={"full_train": texts["train"]} if ds.full_train else None).ids
    arrays = {name: student.predict(ids["full_train" if name == "train" and ds.full_train else name],
                                    batch_size=1024, verbose=0) for name in texts}
    with store.atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **{k: v.astype(np.float32) for k, v in arrays.items()})
    store.write_json(path.with_suffix(".json"), {"teacher": cfg.student, "dataset": ds.name,
                                                 "base_fingerprint": ds.base_fingerprint,
                                                 "label_names": ds.label_names})


def teacher_logits_for(ds: TextDataset, teacher: str | None, logits_file: str | None) -> dict | None:
    """Teacher logits aligned with `ds` (train rows follow any subsampling), or None."""
    if not (teacher or logits_file):
        return None
    from suite import logits as logit_store

    full = logit_store.load_logits_file(logits_file, ds) if logits_file else \
        logit_store.load_teacher_logits(teacher, ds)
    return full | {"train": full["train"][ds.train_index]}


def distill_command(args, ds: TextDataset) -> dict:
    if not (args.no_kd or args.teacher or args.teacher_logits):
        raise KdsuiteError("say where targets come from: --teacher NAME, --teacher-logits FILE or --no-kd")
    spec = DATASETS.get(ds.name)
    if args.transfer and not args.teacher:
        raise KdsuiteError("--transfer needs --teacher NAME (its checkpoint or logits label the transfer text)")
    cfg = TrainConfig(
        student=args.student, loss="ce" if args.no_kd else args.loss, temperature=args.temperature,
        alpha=args.alpha, epochs=args.epochs, patience=args.patience, batch_size=args.batch_size,
        learning_rate=args.learning_rate, vocab_size=args.vocab_size,
        seq_len=args.seq_len or (spec.max_length if spec else 64), seed=args.seed, transfer=args.transfer or "",
    )
    cfg.validate()
    teacher = teacher_logits_for(ds, args.teacher, args.teacher_logits)
    teacher_id = args.teacher or (args.teacher_logits and Path(args.teacher_logits).name)
    transfer = None
    if args.transfer:
        from suite.transfer import transfer_set

        transfer = transfer_set(ds, args.teacher, args.transfer, args.seed)
    return train_student(ds, cfg, teacher, teacher_id, args.out, transfer=transfer)
