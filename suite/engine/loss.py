"""The knowledge-distillation train step, one backend-agnostic `compute_loss`.

Targets arrive as data: `y = {"label": int ids (-1 = unlabelled), "teacher": teacher logits}`. The teacher
never runs inside the step, so any teacher (a BERT with its own tokenizer, another student, a cached file)
can teach a student that reads 5000-word-vocabulary ids. Losses, with s = student logits, t = teacher logits:

    kl     T^2 * KL(softmax(t/T) || softmax(s/T))                 every row (the blog's single loss)
    ce+kl  alpha * CE(y, s)[labelled rows] + (1 - alpha) * kl     (Hinton et al.; alpha=0.5, T=2 on IMDb)
    mse    mean((s - t)^2)                                        every row (Tang et al.)
    ce     CE(y, s)[labelled rows]                                no teacher (the "scratch" student)

Unlike `keras.distillation.Distiller`, which calls the teacher model on every batch, this wrapper reads
precomputed logits, so distilling costs no teacher forward passes and the teacher can live in another
framework or process.
"""

from __future__ import annotations

import keras
from keras import ops

LOSSES = ("kl", "ce+kl", "mse", "ce")


def loss_parts(labels, teacher, student, temperature: float = 1.0):
    """Per-batch (ce, kd_kl, mse) as scalars; ce averages over labelled rows only (label >= 0)."""
    labelled = ops.cast(ops.greater_equal(labels, 0), "float32")
    safe = ops.where(labels >= 0, labels, ops.zeros_like(labels))
    ce_rows = keras.losses.sparse_categorical_crossentropy(safe, student, from_logits=True)
    ce = ops.sum(ce_rows * labelled) / ops.maximum(ops.sum(labelled), 1.0)
    if teacher is None:
        return ce, None, None
    t = ops.cast(teacher, "float32")
    log_p_t = ops.log_softmax(t / temperature, axis=-1)
    log_p_s = ops.log_softmax(student / temperature, axis=-1)
    kl = ops.mean(ops.sum(ops.exp(log_p_t) * (log_p_t - log_p_s), axis=-1)) * temperature**2
    mse = ops.mean(ops.square(student - t))
    return ce, kl, mse


class Distiller(keras.Model):
    """Wraps a student (token ids -> logits) and trains it on labels and/or teacher logits."""

    def __init__(self, student: keras.Model, loss: str = "kl", temperature: float = 1.0, alpha: float = 0.5,
                 **kwargs):
        super().__init__(**kwargs)
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        self.student, self.kd_loss_name = student, loss
        self.temperature, self.alpha = float(temperature), float(alpha)
        self.ce_tracker = keras.metrics.Mean(name="ce_loss")
        if loss != "ce":
            self.kd_tracker = keras.metrics.Mean(name="kd_loss")
        self.accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")

    def call(self, tokens, training=False):
        return self.student(tokens, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        ce, kl, mse = loss_parts(y["label"], y.get("teacher"), y_pred, self.temperature)
        kd = {"kl": kl, "ce+kl": kl, "mse": mse, "ce": None}[self.kd_loss_name]
        if self.kd_loss_name == "ce":
            loss = ce
        elif self.kd_loss_name == "ce+kl":
            loss = self.alpha * ce + (1.0 - self.alpha) * kd
        else:
            loss = kd
        self.ce_tracker.update_state(ce)
        if kd is not None:
            self.kd_tracker.update_state(kd)
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        labels = y["label"]
        weight = ops.cast(ops.greater_equal(labels, 0), "float32")
        self.accuracy.update_state(ops.where(labels >= 0, labels, ops.zeros_like(labels)), y_pred, weight)
        return self.get_metrics_result()

