"""Typed, versioned result records: one dataclass per kind of result, used by the code that writes a record
and by every reader (the leaderboard, the sweep table, the TFLite export, the grid's skip-and-supersede logic).

Six types, named in each file's `record` field:

- `student`  (StudentRecord):  a finished scratch / kd / kd+transfer / nested cell (`engine/fit.py`'s fields)
- `baseline` (BaselineRecord): a finished TF-IDF + logistic regression cell (`teachers/sklearn.py`)
- `teacher`  (TeacherRecord):  a teacher's row, read from its stored logits' metadata (`teachers/logit_store.py`)
- `failed`   (FailedRecord):   a grid cell that raised, with the last line it printed (`grid/runner.py`)
- `export`   (ExportRecord):   a student converted to TFLite and re-evaluated, or why it could not be (`report/tflite.py`)
- `diagnosis` (DiagnosisRecord): word order, lexical cues and lengths of a dataset (`report/diagnose.py`)

Every record carries `schema` (SCHEMA). A file without it is a version-1 record, written before this module by
hand-built dicts; it is refused with a hint to run `kdsuite migrate DIR`, which rewrites it (same numbers,
`migrated_from: 1`). A schema newer than SCHEMA is refused too.

Strict to write, lenient by one step to read: building a record (`Record.from_fields`) refuses a field its type
does not declare, so a typo, or a field a producer starts returning, fails at once and gets declared here.
Reading a file keeps fields its type does not declare in `extra` (a record of the same schema from a newer
kdsuite that added an optional field) and writes them back unchanged; a missing required field is an error.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import ClassVar

from kdsuite import store
from kdsuite.config import STUDENT_KINDS
from kdsuite.errors import KdsuiteError

SCHEMA = 2


@dataclass(frozen=True, kw_only=True)
class Record:
    """What every record says: which model of which kind, on which dataset, seed and backend, and how it ended."""

    TYPE: ClassVar[str] = ""
    STATUSES: ClassVar[tuple[str, ...]] = ("ok",)
    KINDS: ClassVar[tuple[str, ...] | None] = None  # allowed `kind` values; None: any

    status: str
    dataset: str
    model: str
    kind: str
    seed: int | None
    backend: str | None = None  # None: no Keras in this cell; "tflite" for exports
    teacher: str | None = None
    commit: str | None = None  # provenance only: the checkout that computed the numbers
    schema: int = SCHEMA
    migrated_from: int | None = None  # the schema a `kdsuite migrate` rewrote this record from
    extra: dict = field(default_factory=dict)  # read only: undeclared fields of a file, written back unchanged

    def __post_init__(self):
        if self.schema != SCHEMA:
            raise KdsuiteError(f"a record of this kdsuite has schema {SCHEMA}, not {self.schema!r}")
        if self.status not in self.STATUSES:
            raise KdsuiteError(f"a {self.TYPE} record has status {' or '.join(self.STATUSES)}, not {self.status!r}")
        if self.KINDS is not None and self.kind not in self.KINDS:
            raise KdsuiteError(f"a {self.TYPE} record has kind {' or '.join(self.KINDS)}, not {self.kind!r}")

    @classmethod
    def from_fields(cls, values: dict) -> "Record":
        """The record of `values`, refusing undeclared fields (the writer's typo check) and missing ones."""
        names = {f.name for f in fields(cls)} - {"extra"}
        unknown = sorted(set(values) - names - {"record"})
        if unknown:
            raise KdsuiteError(f"{cls.__name__} has no field {unknown[0]!r} (declare it in kdsuite/records.py)")
        return _build(cls, {k: v for k, v in values.items() if k != "record"}, cls.__name__)


@dataclass(frozen=True, kw_only=True)
class CellRecord(Record):
    """The outcome of one grid cell, stored as `results/<cell_key>.json`."""

    cell: dict  # Cell.to_dict(): the spec in normal form (only non-default train/data options)
    cell_key: str
    code_version: str | None = None  # hash of the code the cell ran (engine/keys.py)
    suite: str = ""
    wall_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class Result(CellRecord):
    """A finished cell: a leaderboard row's numbers and provenance."""

    family: str
    data_source: str
    data_fingerprint: str
    data_view: str | None = None
    data_recipe: dict | None = None
    train_rows: int | None
    config: dict | None
    param_count: int | None
    param_count_note: str | None = None
    test: dict  # classification metrics on the test split (metrics.classification_metrics)
    disk_bytes: int | None = None  # costs the leaderboard shows; None where not measured
    speed: dict | None = None


@dataclass(frozen=True, kw_only=True)
class StudentRecord(Result):
    TYPE: ClassVar[str] = "student"
    KINDS: ClassVar[tuple[str, ...]] = STUDENT_KINDS

    epochs_run: int
    best_epoch: int
    val_accuracy: float
    transfer_rows: int
    times_s: dict
    train_samples_per_s: float
    predict_samples_per_s: float
    run_dir: str
    transfer_replaced: int | None = None  # augmented copies with no token, replaced by their source
    transfer_duplicates: int | None = None  # transfer texts met a second time, dropped
    empty_rows: dict | None = None  # rows per split whose ids are all padding
    calibration: dict | None = None  # test ECE before / after temperature scaling fitted on validation
    teacher_logits: str | None = None  # content hash of the teacher logits it learned from (logit_store.array_hash)
    teacher_run: str | None = None  # content hash of the teacher's own logits (transfer rows left out): which run


@dataclass(frozen=True, kw_only=True)
class BaselineRecord(Result):
    TYPE: ClassVar[str] = "baseline"
    KINDS: ClassVar[tuple[str, ...]] = ("baseline",)

    tuning: dict
    vocabulary_size: int
    times_s: dict
    predict_rows_per_s: float | None


@dataclass(frozen=True, kw_only=True)
class TeacherRecord(Result):
    TYPE: ClassVar[str] = "teacher"
    KINDS: ClassVar[tuple[str, ...]] = ("teacher",)

    logits: str  # the logits file the row was read from


@dataclass(frozen=True, kw_only=True)
class FailedRecord(CellRecord):
    TYPE: ClassVar[str] = "failed"
    STATUSES: ClassVar[tuple[str, ...]] = ("failed",)

    error: str
    log: str | None = None


@dataclass(frozen=True, kw_only=True)
class ExportRecord(Record):
    """A student's TFLite conversion (`OUT/exports/<cell_key>-<format>.json`): a leaderboard row with backend
    "tflite" when `status` is ok, a "Not exported" line when unsupported."""

    TYPE: ClassVar[str] = "export"
    STATUSES: ClassVar[tuple[str, ...]] = ("ok", "unsupported")
    KINDS: ClassVar[tuple[str, ...]] = STUDENT_KINDS

    student: str
    format: str
    source: str  # the student's run folder
    source_accuracy: float  # the Keras model's test accuracy
    family: str
    config: dict | None
    param_count: int | None
    data_fingerprint: str | None
    data_recipe: dict | None = None
    path: str | None = None
    disk_bytes: int | None = None
    test: dict | None = None
    speed: dict | None = None
    error: str | None = None

    def __post_init__(self):
        super().__post_init__()
        needs = ("path", "disk_bytes", "test", "speed") if self.status == "ok" else ("error",)
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise KdsuiteError(f"an export record with status {self.status} needs {missing[0]!r}")


@dataclass(frozen=True, kw_only=True)
class DiagnosisRecord(Record):
    """A dataset's diagnosis by a teacher (`kdsuite diagnose`, `OUT/diagnostics/<key>.json`): `model` and `teacher`
    name the teacher, `seed` the first word shuffle."""

    TYPE: ClassVar[str] = "diagnosis"
    KINDS: ClassVar[tuple[str, ...]] = ("diagnosis",)

    key: str  # of the data, the teacher's logits and the options
    data_fingerprint: str
    word_order: dict  # the teacher's answers on word-shuffled test texts: agreement, chance, sensitivity 0-1
    lexical: dict  # the tuned bag-of-words baseline's test accuracy as a share of the teacher's
    lengths: dict  # test text lengths in student tokens (percentiles) and the share cut at seq_len
    wall_s: float | None = None


TYPES: dict[str, type[Record]] = {c.TYPE: c for c in (StudentRecord, BaselineRecord, TeacherRecord, FailedRecord,
                                                       ExportRecord, DiagnosisRecord)}


def result_type(kind: str) -> type[Result]:
    """The record type of a finished cell of `kind`."""
    return {"baseline": BaselineRecord, "teacher": TeacherRecord}.get(kind, StudentRecord)


def _build(cls: type[Record], values: dict, where: str) -> Record:
    required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
    missing = [name for name in required if name not in values]
    if missing:
        raise KdsuiteError(f"{where}: a {cls.TYPE} record needs field {missing[0]!r}")
    try:
        return cls(**values)
    except KdsuiteError as exc:
        raise KdsuiteError(f"{where}: {exc}") from None


def to_json(record: Record) -> dict:
    """The JSON object of `record`: its fields, `record` (its type) and any undeclared fields it was read with."""
    out = {f.name: getattr(record, f.name) for f in fields(record) if f.name != "extra"}
    return json.loads(json.dumps(record.extra | out | {"record": record.TYPE}, default=str))


def _migrate_hint(path: Path | None) -> str:
    if path is None:
        return "`kdsuite migrate DIR`"
    folder = path.parent.parent if path.parent.name in ("results", "exports") else path.parent
    return f"`kdsuite migrate {folder}`"


def read_record(source: str | Path | dict) -> Record:
    """The typed record in a file (or an already parsed object). Refuses a version-1 record (no `schema`) with
    the `kdsuite migrate` command that upgrades it, a newer schema, an unknown record type and missing fields,
    each in one line naming the file."""
    path = None if isinstance(source, dict) else Path(source)
    where = "record" if path is None else str(path)
    if path is None:
        data = source
    else:
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise KdsuiteError(f"{where}: not a readable JSON record ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise KdsuiteError(f"{where}: not a kdsuite record (a JSON {type(data).__name__}, not an object)")
    schema = data.get("schema")
    if schema is None or schema == 1 and type(schema) is int:  # records before SCHEMA 2 had no `schema`
        raise KdsuiteError(f"{where} is a version-1 record; run {_migrate_hint(path)}")
    if type(schema) is int and schema > SCHEMA:
        raise KdsuiteError(f"{where}: record schema {schema} is newer than this kdsuite reads ({SCHEMA}); "
                           f"upgrade kdsuite")
    if schema != SCHEMA or type(schema) is not int:
        raise KdsuiteError(f"{where}: unknown record schema {schema!r} (this kdsuite reads {SCHEMA})")
    cls = TYPES.get(data.get("record"))
    if cls is None:
        raise KdsuiteError(f"{where}: unknown record type {data.get('record')!r} (known: {', '.join(TYPES)})")
    names = {f.name for f in fields(cls)} - {"extra"}
    values = {k: v for k, v in data.items() if k in names}
    extra = {k: v for k, v in data.items() if k not in names and k != "record"}
    return _build(cls, values | {"extra": extra}, where)


def read_records(folder: str | Path) -> list[Record]:
    """Every record in `folder` (`*.json`, by name; hidden files are temporaries of interrupted writes)."""
    return [read_record(path) for path in sorted(Path(folder).glob("[!.]*.json"))]


def write_record(path: str | Path, record: Record) -> None:
    """Write `record` to `path` atomically (a reader never sees half a record)."""
    if not isinstance(record, Record):
        raise TypeError(f"write_record takes a kdsuite.records.Record, not {type(record).__name__}")
    store.write_json(path, to_json(record))


def result_path(out: str | Path, key: str) -> Path:
    """Where the store at `out` keeps the record of the cell with `key`."""
    return Path(out) / "results" / f"{key}.json"


def stored(out: str | Path, key: str) -> Result | None:
    """The finished record of `key` in the store at `out`, if any."""
    path = result_path(out, key)
    if not path.is_file():
        return None
    record = read_record(path)
    return record if isinstance(record, Result) else None
