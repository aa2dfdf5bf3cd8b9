"""Teachers: one module per family, each a registered class that can `fit` on a dataset (when trainable) and
return `logits(texts)` in the dataset's label order.

A teacher is named by a registered name (`minilm-l6`), by `FAMILY:SOURCE` (`keras-hub:hf://google/bert...`,
`keras-hub:/path/to/preset`, `hf:/path/to/fine-tuned-classifier`), or lazily as `module:attr`/`file.py:attr`.
"""

from __future__ import annotations

import re

import numpy as np

from suite.errors import KdsuiteError
from suite.registry import Registry

TEACHERS = Registry("teacher", "teachers")  # named teachers: factories (label_names, max_length) -> teacher
register_teacher = TEACHERS.register
FAMILIES = Registry("teacher family", "teachers")  # families: classes (source, label_names, max_length)
register_family = FAMILIES.register


def teacher_id(spec: str) -> str:
    """A filesystem-safe id for a teacher spec (cache folders, committed file names)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", spec).strip("_")


def make_teacher(spec: str, label_names: list[str], max_length: int):
    """Build the teacher named by `spec` for a dataset with `label_names`, truncating at `max_length` tokens."""
    family, sep, source = spec.partition(":")
    if sep and family in FAMILIES.names():
        if not source:
            raise KdsuiteError(f"teacher {spec!r}: give a source after '{family}:'")
        factory = FAMILIES.get(family).target
        return factory(source, label_names=label_names, max_length=max_length, name=spec)
    try:
        entry = TEACHERS.get(spec)
    except KdsuiteError as exc:
        raise KdsuiteError(f"{exc}; or FAMILY:SOURCE with FAMILY in {', '.join(FAMILIES.names())}") from None
    return entry.target(label_names=label_names, max_length=max_length, name=spec, **entry.defaults)


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
