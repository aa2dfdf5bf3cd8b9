"""Teachers: one module per family (`keras_hub`, `hf`, `sklearn`), each implementing `base.Teacher`, plus
what turns a teacher into logits a student learns from. Imports flow one way, from the top:
`transfer` (extra teacher-labelled text) -> `runs` (fit once, export logits for every split, read a finished
run back) -> `ensemble` (combine members' logits) -> `logit_store` (cached and committed logits, checked
against the data) -> this registry. Teachers never import the training engine.

A teacher is named by a registered name (`minilm-l6`), by `FAMILY:SOURCE` (`keras-hub:hf://google/bert...`,
`keras-hub:/path/to/preset`, `hf:/path/to/fine-tuned-classifier`), lazily as `module:attr`/`file.py:attr`, or
as an ensemble of such teachers, logits files and student runs: `a+b[+c...][@wa,wb,...]` (see `ensemble`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kdsuite.errors import KdsuiteError
from kdsuite.registry import Registry

if TYPE_CHECKING:
    from kdsuite.teachers.base import Teacher

TEACHERS = Registry("teacher", "kdsuite.teachers")  # named teachers: factories (label_names, max_length) -> teacher
register_teacher = TEACHERS.register
FAMILIES = Registry("teacher family", "kdsuite.teachers")  # families: classes (source, label_names, max_length)
register_family = FAMILIES.register


def is_ensemble(spec: str) -> bool:
    return "+" in str(spec)


def make_teacher(spec: str, label_names: list[str], max_length: int) -> "Teacher":
    """Build the teacher named by `spec` for a dataset with `label_names`, truncating at `max_length` tokens.
    An ensemble is made of its members' fitted models: `runs.finetuned_teacher(ds, "a+b")`."""
    if is_ensemble(spec):
        raise KdsuiteError(f"teacher {spec!r} is an ensemble: it is built from its members' runs on a dataset")
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
