"""`kdsuite migrate DIR [DIR...]`: rewrite the version-1 records of a store (`DIR/results`, `DIR/exports`) in the
typed format of `kdsuite.records`, every number kept.

A version-1 record (no `schema` field) was a hand-built dict. Its upgrade adds `schema` and `record` (the
type), marks it `migrated_from: 1`, spells its `cell` in today's normal form (`Cell`: only non-default train
and data options; a `[train] seq_len` of old suites is a data option now) and its student `config` as
today's `TrainConfig` fields plus `seq_len` (the old copies of `student`, `seed` and `transfer` are checked
against the record and dropped). `cell_key` and `code_version` stay as they were: the numbers come from the
older code, so `kdsuite run` computes today's key, finds no record under it, reruns the cell and then removes
the migrated record of the same cell.

All files are read and converted before any is written, and each is written atomically: a file that is not
a record stops the command (one line naming it, exit 2) with nothing changed. Records already current are left
alone, so running it twice changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from kdsuite.config import STUDENT_KINDS, TRAIN_DEFAULTS, Cell
from kdsuite.errors import KdsuiteError
from kdsuite.records import (SCHEMA, BaselineRecord, ExportRecord, FailedRecord, Record, StudentRecord, TeacherRecord,
                             read_record, write_record)

FOLDERS = ("results", "exports")


def add(sub) -> None:
    p = sub.add_parser("migrate", help="rewrite a store's version-1 records in the current record format")
    p.add_argument("dirs", nargs="+", metavar="DIR", help="a folder holding results/ and/or exports/ (e.g. reports)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run, show=show)


def run(args) -> dict:
    plans = {d: plan(Path(d)) for d in args.dirs}  # everything is checked before anything is written
    out = {}
    for folder, (upgrades, current) in plans.items():
        for path, record in upgrades:
            write_record(path, record)
        out[folder] = {"migrated": len(upgrades), "current": current}
    return {"schema": SCHEMA, "dirs": out}


def show(result: dict) -> None:
    for folder, counts in result["dirs"].items():
        print(f"{folder}: {counts['migrated']} record(s) migrated to schema {SCHEMA}, "
              f"{counts['current']} already current")


def plan(folder: Path) -> tuple[list[tuple[Path, Record]], int]:
    """([(file, upgraded record)] for the version-1 records under `folder`, count of current records)."""
    stores = [folder / name for name in FOLDERS if (folder / name).is_dir()]
    if not stores:
        raise KdsuiteError(f"{folder}: no results/ or exports/ folder to migrate")
    upgrades, current = [], 0
    for path in sorted(p for s in stores for p in s.glob("[!.]*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise KdsuiteError(f"{path}: not a readable JSON record ({type(exc).__name__}: {exc})") from None
        if isinstance(data, dict) and "schema" in data:
            read_record(path)  # refuses a newer schema or a broken record
            current += 1
        else:
            upgrades.append((path, upgrade(data, str(path))))
    return upgrades, current


def upgrade(data, where: str = "record") -> Record:
    """The current record of version-1 record `data`, every number kept."""
    if not isinstance(data, dict) or not ("status" in data and "model" in data and "kind" in data):
        raise KdsuiteError(f"{where}: not a kdsuite record (no status, model and kind)")
    values = dict(data) | {"schema": SCHEMA, "migrated_from": 1}
    if data["status"] == "failed":
        cls = FailedRecord
    elif "format" in data and "student" in data:
        cls = ExportRecord
    elif data["kind"] in ("baseline", "teacher"):
        cls = BaselineRecord if data["kind"] == "baseline" else TeacherRecord
    elif data["kind"] in STUDENT_KINDS:
        cls = StudentRecord
    else:
        raise KdsuiteError(f"{where}: not a kdsuite record (kind {data['kind']!r})")
    try:
        if cls is not ExportRecord:
            if not isinstance(data.get("cell"), dict):
                raise KdsuiteError("it has no cell spec")
            values["cell"] = _cell(data["cell"])
        if cls is StudentRecord:
            transfer = data["cell"].get("data", {}).get("transfer", "") if data["kind"] == "kd+transfer" else ""
            values["config"] = _student_config(data.get("config"), data["model"], data["seed"], transfer)
        if cls is ExportRecord:  # a copy of its student's config (whose transfer set it does not name)
            values["config"] = _student_config(data.get("config"), data["student"], data["seed"], None)
        if cls is BaselineRecord:
            values.setdefault("family", data["model"])  # the leaderboard showed a baseline's model as its family
        return cls.from_fields(values)
    except KdsuiteError as exc:
        raise KdsuiteError(f"{where}: cannot migrate this version-1 record: {exc}") from None


def _cell(old: dict) -> dict:
    """`old` (a version-1 cell spec) in today's normal form."""
    names = {f.name for f in fields(Cell)}
    unknown = sorted(set(old) - names)
    if unknown or not {"dataset", "model", "kind"} <= set(old):
        raise KdsuiteError(f"its cell has keys {sorted(old)}, not those of a Cell ({', '.join(sorted(names))})")
    train, data = dict(old.get("train") or {}), dict(old.get("data") or {})
    if "seq_len" in train:  # old suites' [train] seq_len: a per-dataset data option now ([data.NAME] wins)
        data.setdefault("seq_len", train.pop("seq_len"))
    return Cell.from_dict(old | {"train": train, "data": data}).to_dict()


def _student_config(old: dict | None, model: str, seed: int, transfer: str | None) -> dict:
    """A version-1 student config (TrainConfig + student, seed, seq_len, transfer) as today's: the TrainConfig
    fields plus seq_len. The dropped keys are checked to repeat what the record says elsewhere (`transfer`:
    not checked when None)."""
    config = dict(old or {})
    missing = sorted((set(TRAIN_DEFAULTS) | {"seq_len"}) - set(config))
    if missing:
        raise KdsuiteError(f"its config lacks {missing[0]!r}")
    repeats = {"student": model, "seed": seed, "transfer": transfer}
    for key, expected in repeats.items():
        if key in config and expected is not None and config[key] != expected:
            raise KdsuiteError(f"its config says {key} {config[key]!r}, the record {expected!r}")
    unknown = sorted(set(config) - set(TRAIN_DEFAULTS) - {"seq_len"} - set(repeats))
    if unknown:
        raise KdsuiteError(f"its config has an unknown option {unknown[0]!r}")
    return {k: config[k] for k in TRAIN_DEFAULTS} | {"seq_len": config["seq_len"]}
