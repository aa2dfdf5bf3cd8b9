"""Teachers whose ensemble members include the store's own student runs (`scratch:NAME:SEED`, or a run folder
`student:RUN`): the teacher reads such members from run folders, which carry no size, so its record counts them as 0
parameters, and with scratch members its logits sit in the ensemble cache under the run folders' names. Here, on the
report side, the size is completed from the members' own records and the logits are found by the resolved spec the
record keeps."""

from __future__ import annotations

import dataclasses

from kdsuite.config import rewrite_members, scratch_members
from kdsuite.records import Record, StudentRecord, TeacherRecord


def _scratch_cells(records: list[Record]) -> dict[tuple, StudentRecord]:
    return {(r.dataset, r.model, r.seed, _data(r)): r for r in records
            if isinstance(r, StudentRecord) and r.kind == "scratch" and r.backend == "tensorflow"}


def _data(r: Record) -> str:
    return repr(sorted(((r.cell or {}).get("data") or {}).items()))


def _run_members(teacher: str) -> list[str]:
    """The run folders named by the `student:RUN` members of an ensemble teacher."""
    found = []

    def collect(member: str) -> list[str]:
        if member.startswith("student:"):
            found.append(member.removeprefix("student:"))
        return [member]

    rewrite_members(teacher, collect)
    return found


def sized(records: list[Record]) -> list[Record]:
    """`records` with each such teacher's `param_count` plus its student members' (from their records in the same
    store: a scratch member on the same data, a run folder by the record that made it); a teacher whose member
    record is absent keeps its count and says which are missing."""
    cells = _scratch_cells(records)
    runs = {r.run_dir.rstrip("/"): r for r in records if isinstance(r, StudentRecord) and r.run_dir}
    out = []
    for r in records:
        scratch = scratch_members(r.model) if isinstance(r, TeacherRecord) else []
        folders = _run_members(r.teacher or "") if isinstance(r, TeacherRecord) and "+" in (r.teacher or "") else []
        if not scratch and not folders:
            out.append(r)
            continue
        found = {f"scratch:{name}:{seed}": cells.get((r.dataset, name, seed, _data(r))) for name, seed in scratch}
        found |= {f"student:{folder}": runs.get(folder.rstrip("/")) for folder in folders}
        absent = [member for member, f in found.items() if f is None]
        note = "sum of the members' parameters" + (f" (not in this store: {', '.join(absent)})" if absent else "")
        out.append(dataclasses.replace(r, param_count=(r.param_count or 0) + sum(f.param_count or 0
                                                                                for f in found.values() if f),
                                       param_count_note=note))
    return out


def logits_spec(record: TeacherRecord) -> str:
    """The teacher spec whose stored logits are `record`'s: with scratch members, the resolved spec (members named
    by their run folders) the teacher cell combined."""
    if scratch_members(record.model):
        return ((record.config or {}).get("teacher") or {}).get("teacher") or record.model
    return record.model
