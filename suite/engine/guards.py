"""Guards on a running fit: a student whose loss stops being a number fails its cell at once, in one line,
instead of training on NaN for the remaining epochs and being recorded as a chance-level result.

The usual cause is a row the students' standardisation strips to nothing (`. . .`): its ids are all padding, and
any pooling that divides by its count of tokens gives 0/0. `kdsuite datasets` counts such rows per split.
"""

from __future__ import annotations

import math

import keras

from kdsuite.errors import KdsuiteError

LIKELY_CAUSE = "rows with no tokens after standardisation? see `kdsuite datasets`"


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):  # not a scalar: nothing to judge
        return True


class NonFiniteLoss(keras.callbacks.Callback):
    """Stops the fit on the first non-finite loss and raises `KdsuiteError` naming the student and the epoch.

    Checks every logged `*loss` (loss, ce_loss, kd_loss: running means over the epoch, so one NaN batch shows at
    once) after each training batch, and the epoch's logs (val_loss too) at its end. Works on every backend:
    it reads the logs Keras hands to callbacks, never the tensors. After a failure `failure` holds the message and
    `epoch` / `batch` where it happened (1-based; `batch` is None when it showed only in the epoch's logs)."""

    def __init__(self, student_name: str):
        super().__init__()
        self.student_name = student_name
        self.epoch = 0  # 1-based epoch being trained, as Keras prints it
        self.batch: int | None = None
        self.failure: str | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        self._check(logs, batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        self.epoch = epoch + 1
        self._check(logs, None)

    def _check(self, logs, batch: int | None) -> None:
        bad = {k: v for k, v in (logs or {}).items() if k.endswith("loss") and not _finite(v)}
        if not bad:
            return
        key = "loss" if "loss" in bad else next(iter(bad))
        where = f"epoch {self.epoch}" + (f", batch {batch}" if batch is not None else "")
        self.batch = batch
        self.failure = (f"student {self.student_name!r}: {key} became {float(bad[key])} at {where}; "
                        f"training stopped (likely cause: {LIKELY_CAUSE})")
        if self.model is not None:
            self.model.stop_training = True
        raise KdsuiteError(self.failure)
