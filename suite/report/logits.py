"""Each finished cell's validation and test logits, kept small in the store so calibration and teacher fallback
are computed from stored results alone (no run folder, no data, no retraining) and travel with a committed report:
`OUT/logits/<cell_key>.npz` holds float16 `validation` and `test` logits and their int16 `*_labels`.

A report writes the file the first time it meets a student cell (from `logits.npz` in its run folder) or a teacher
cell (from the teacher's stored logits); cells whose logits are nowhere are listed, not guessed. Written here, on
the report side, so no key-hashed training file changes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kdsuite.config import Cell
from kdsuite.errors import KdsuiteError
from kdsuite.records import Record, StudentRecord, TeacherRecord
from kdsuite.report.members import logits_spec
from kdsuite.teachers.logit_store import read_logits, write_npz

SPLITS = ("validation", "test")


def path_of(out: str | Path, key: str) -> Path:
    return Path(out) / "logits" / f"{key}.npz"


def read(out: str | Path, key: str) -> dict[str, np.ndarray] | None:
    """{validation, test, validation_labels, test_labels} of cell `key` (logits as float32), or None."""
    path = path_of(out, key)
    if not path.is_file():
        return None
    with np.load(path) as f:
        return {k: f[k].astype(np.float32 if not k.endswith("_labels") else np.int64) for k in f.files}


def _source(record: Record, out: Path, ds) -> dict[str, np.ndarray]:
    """The full-precision logits of `record`'s cell for every split of `ds`."""
    if isinstance(record, TeacherRecord):
        return read_logits(logits_spec(record), ds)
    for folder in (Path(record.run_dir), out / "models" / record.cell_key):
        if (folder / "logits.npz").is_file():
            with np.load(folder / "logits.npz") as f:
                return {k: f[k] for k in f.files}
    raise KdsuiteError("run folder gone")


def keep(out: str | Path, records: list[Record]) -> dict[str, list[str]]:
    """Write the compact logits of every student and teacher record in `records` that has none yet; return the
    cells whose logits could not be found: dataset -> "model kind backend seed N (why)"."""
    from kdsuite.data.datasets import load_cell_data

    out, missing, datasets = Path(out), {}, {}
    for r in records:
        if not isinstance(r, (StudentRecord, TeacherRecord)) or path_of(out, r.cell_key).is_file():
            continue
        cell = Cell.from_dict(r.cell)
        view = (cell.dataset, json.dumps(cell.data, sort_keys=True))  # validation and test follow the carving only
        try:
            if view not in datasets:
                datasets[view] = load_cell_data(cell)
            ds = datasets[view]
            logits = _source(r, out, ds)
            for split in SPLITS:
                if logits[split].shape != (len(ds.splits[split]), ds.num_classes):
                    raise KdsuiteError(f"{split} logits have shape {logits[split].shape}, not "
                                       f"({len(ds.splits[split])}, {ds.num_classes})")
        except KdsuiteError as exc:
            missing.setdefault(r.dataset, []).append(f"{r.model} {r.kind} {r.backend or '-'} seed {r.seed} ({exc})")
            continue
        write_npz(path_of(out, r.cell_key), {
            **{s: np.asarray(logits[s], np.float16) for s in SPLITS},
            **{f"{s}_labels": ds.splits[s].labels.astype(np.int16) for s in SPLITS}})
    return missing
