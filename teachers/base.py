"""What every teacher is: the `Teacher` protocol the families implement, and helpers they share.

A teacher turns texts into its own inputs (`encode`), those inputs into logits in the dataset's label order
(`predict`), and, when `trainable`, fits on a dataset's train split with validation for model selection,
keeping what it needs in a work folder so a later process can `restore` it (to label augmented text).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Teacher(Protocol):
    name: str
    family: str
    trainable: bool  # fits here (keras-hub, sklearn) or comes fitted (hf)
    label_names: list[str]
    # optional: `truncations`, the ways it can cut a long text ("head", "head+tail"); `truncation`, the one it uses

    def config(self) -> dict:
        """What identifies this teacher's outputs (family, name, max length, ...): part of its cache key."""

    def count_params(self) -> int: ...

    def encode(self, texts) -> dict[str, np.ndarray]:
        """The teacher's own inputs for `texts` (token arrays, cleaned text), row-aligned with `texts`."""

    def predict(self, x: dict[str, np.ndarray], batch_size: int = 128) -> np.ndarray:
        """Logits [rows, classes] (float32) in the dataset's label order."""

    def latency_ms(self, x: dict[str, np.ndarray], rows: int = 20) -> float:
        """Median milliseconds to classify one encoded row (batch of 1, after warm-up)."""


@runtime_checkable
class TrainableTeacher(Teacher, Protocol):
    # keyword options `fit` takes (they key the fit); absent = every option of `kdsuite teacher`
    fit_options: tuple[str, ...]
    cache_encoding: bool  # encodings worth caching on disk (transformer tokenisers), or cheap to redo

    def fit(self, train: tuple[dict, np.ndarray], validation: tuple[dict, np.ndarray], workdir: Path,
            **options) -> dict:
        """Fit on (inputs, labels); keep checkpoints in `workdir` so a killed fit resumes; return its history.
        A `checkpoint_every` keyword (steps between checkpoints inside an epoch), when `fit` takes one, is passed
        without keying the fit."""

    def restore(self, workdir: Path) -> bool:
        """Load what `fit` kept in `workdir`; False when there is nothing."""


def median_ms(call: Callable[[int], object], rows: int, warmup: int = 3) -> float:
    """Median milliseconds of `call(i)` over `rows` calls after `warmup` untimed ones (i = 0, 1, ...)."""
    times = []
    for i in range(rows + warmup):
        start = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - start)
    return float(np.median(times[warmup:]) * 1000)


def batches_by_length(lengths: np.ndarray, batch_size: int, rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """Row indices in batches of similar length, so each batch can be trimmed to its longest row.

    Without `rng`: sorted by length (inference). With `rng`: shuffled, sorted within chunks of 50 batches, and
    the batches shuffled (training; the order changes every epoch).
    """
    lengths = np.asarray(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    perm, chunk, batches = rng.permutation(len(lengths)), 50 * batch_size, []
    for start in range(0, len(perm), chunk):
        part = perm[start:start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]
