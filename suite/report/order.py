"""How rows are ordered and named in every report table: the teacher first, then by name and kind, TensorFlow
first; and which teacher a distilled row learned from, shown beside its kind where a dataset's students learned
from more than one teacher (their rows are kept apart, never averaged together)."""

from collections import defaultdict
from pathlib import PurePath

from kdsuite.config import rewrite_members

BACKEND_ORDER = {"tensorflow": 0, "jax": 1, "torch": 2, None: -1}


def row_order(key: tuple) -> tuple:
    """Sort key of a (model, kind, backend[, teacher]) row."""
    model, kind, backend = key[:3]
    return kind != "teacher", model, kind, BACKEND_ORDER.get(backend, 9), str(key[3:])


def several_teachers(kinds_and_teachers) -> bool:
    """Whether, among (kind, teacher) pairs, rows of one distilled kind learned from more than one teacher (a
    nested row's teacher is a student: that alone is not a second teacher)."""
    seen = defaultdict(set)
    for kind, teacher in kinds_and_teachers:
        if teacher and kind not in ("teacher", "baseline"):
            seen[kind].add(teacher)
    return any(len(teachers) > 1 for teachers in seen.values())


def teacher_name(teacher: str) -> str:
    """A teacher spec as tables show it: a `student:PATH` member by its run folder's name."""
    return rewrite_members(teacher, lambda m: [
        f"student:{PurePath(m.removeprefix('student:')).name}" if m.startswith("student:") else m])


def kind_label(kind: str, teacher: str | None, several: bool) -> str:
    """`kind`, with `← teacher` where the dataset's students learned from `several` teachers."""
    return f"{kind} ← {teacher_name(teacher)}" if several and teacher and kind != "teacher" else kind
