"""Suites: TOML files (stdlib tomllib) naming a grid of datasets x entries x kinds x backends x seeds,
validated on load so that a typo fails in one line before any training starts."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from kdsuite.backend import BACKENDS
from kdsuite.config import (BASELINES, KINDS, LOSSES, TFLITE_FORMATS, TrainConfig, parse_transfer, scratch_members,
                            with_scratch_seeds)
from kdsuite.errors import KdsuiteError

PRESETS = Path(__file__).resolve().parent / "presets"
TRAIN_KEYS = {f.name: f.type for f in fields(TrainConfig)}
TUNE_KEYS = {"trials": "int", "seed": "int", "learning_rate": "range", "patience": "range", "temperature": "range",
             "alpha": "range", "loss": "list"}
DATA_KEYS = {"train_fraction": "float", "max_train": "int", "val_size": "float", "seq_len": "int",
             "transfer": "str", "data_seed": "int", "students": "list", "teacher": "str"}
# a [data.NAME] table may also override [train] options for that dataset (vocab_size, epochs, ...)


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    datasets: tuple[str, ...]
    students: tuple[str, ...] = ()
    baselines: tuple[str, ...] = ()
    teacher: str | None = None
    train_teacher: bool = False  # fine-tune the teacher in the run when no logits are stored
    kinds: tuple[str, ...] = ("scratch", "kd")
    backends: tuple[str, ...] = ("tensorflow",)
    seeds: tuple[int, ...] = (0,)
    train: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)  # dataset name -> DATA_KEYS options
    backend_comparison: dict = field(default_factory=dict)  # students, backends: extra cells (seed 0)
    extra_seeds: dict = field(default_factory=dict)  # students, seeds: extra cells on the suite's backends
    transfer_students: tuple[str, ...] = ()  # students that get kd+transfer cells (default: all)
    nested: tuple[tuple[str, str], ...] = ()  # (teacher student, student): distil from a distilled student
    tune: dict = field(default_factory=dict)  # [tune]: trials per (dataset, student, kind) and the search space
    exports: tuple[str, ...] = ()  # TFLite formats for each dataset's best run of each student (report/tflite.py)


def _type_ok(value, kind: str) -> bool:
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str)


def _str_list(where: str, value, allowed: tuple[str, ...] | None = None, empty_ok: bool = False) -> tuple:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or (not value and not empty_ok):
        raise KdsuiteError(f"{where}: expected a {'' if empty_ok else 'non-empty '}list of strings, got {value!r}")
    for v in value:
        if allowed is not None and v not in allowed:
            raise KdsuiteError(f"{where}: unknown value {v!r} (known: {', '.join(allowed)})")
    return tuple(value)


def _options(where: str, table, schema: dict) -> dict:
    if not isinstance(table, dict):
        raise KdsuiteError(f"{where}: expected a table")
    for k, v in table.items():
        if k not in schema:
            raise KdsuiteError(f"{where}: unknown key {k!r} (known: {', '.join(sorted(schema))})")
        if not (isinstance(v, list) if schema[k] == "list" else _type_ok(v, schema[k])):
            raise KdsuiteError(f"{where} {k}: expected {schema[k]}, got {v!r}")
    return dict(table)


def parse_suite(name: str, raw: dict, where: str) -> Suite:
    known = {f.name for f in fields(Suite)} - {"name"}
    for k in raw:
        if k not in known:
            raise KdsuiteError(f"{where}: unknown key {k!r} (known: {', '.join(sorted(known))})")
    if not isinstance(raw.get("description", ""), str):
        raise KdsuiteError(f"{where}: description: expected a string")
    if "datasets" not in raw:
        raise KdsuiteError(f"{where}: missing key 'datasets'")
    seeds = raw.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(_type_ok(s, "int") and s >= 0 for s in seeds):
        raise KdsuiteError(f"{where}: seeds: expected a non-empty list of integers >= 0, got {seeds!r}")
    comparison = _options(f"{where}: [backend_comparison]", raw.get("backend_comparison", {}),
                          {"students": "list", "backends": "list"})
    extra = _options(f"{where}: [extra_seeds]", raw.get("extra_seeds", {}), {"students": "list", "seeds": "list"})
    extra_seeds = extra.get("seeds", [])
    if not all(_type_ok(x, "int") and x >= 0 for x in extra_seeds):
        raise KdsuiteError(f"{where}: [extra_seeds] seeds: expected integers >= 0, got {extra_seeds!r}")
    nested = raw.get("nested", [])
    if not isinstance(nested, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in nested):
        raise KdsuiteError(f"{where}: nested: expected a list of [teacher_student, student] pairs, got {nested!r}")
    if not isinstance(raw.get("train_teacher", False), bool):
        raise KdsuiteError(f"{where}: train_teacher: expected true or false")
    teacher = raw.get("teacher")
    if teacher is not None and not isinstance(teacher, str):
        raise KdsuiteError(f"{where}: teacher: expected a string, got {teacher!r}")
    # [train] seq_len is a default for every dataset; [data.NAME] seq_len overrides it
    train = _options(f"{where}: [train]", raw.get("train", {}), TRAIN_KEYS | {"seq_len": "int"})
    data = {name: _options(f"{where}: [data.{name}]", opts, DATA_KEYS | TRAIN_KEYS)
            for name, opts in _table(where, raw, "data").items()}
    if "seq_len" in train:
        data = {name: data.get(name, {}) for name in _str_list(f"{where}: datasets", raw["datasets"])} | data
    tune = _tune(f"{where}: [tune]", raw.get("tune", {}))
    suite = Suite(
        name=name,
        tune=tune,
        description=raw.get("description", ""),
        datasets=_str_list(f"{where}: datasets", raw["datasets"]),
        students=_str_list(f"{where}: students", raw.get("students", []), empty_ok=True),
        baselines=_str_list(f"{where}: baselines", raw.get("baselines", []), BASELINES, empty_ok=True),
        teacher=teacher,
        train_teacher=raw.get("train_teacher", False),
        kinds=_str_list(f"{where}: kinds", raw.get("kinds", list(KINDS)), KINDS),
        backends=_str_list(f"{where}: backends", raw.get("backends", ["tensorflow"]), BACKENDS),
        seeds=tuple(seeds),
        train={k: v for k, v in train.items() if k != "seq_len"},
        data={name: ({"seq_len": train["seq_len"]} if "seq_len" in train else {}) | opts for name, opts in data.items()},
        nested=tuple(tuple(p) for p in nested),
        transfer_students=_str_list(f"{where}: transfer_students", raw.get("transfer_students", []), empty_ok=True),
        exports=_str_list(f"{where}: exports", raw.get("exports", []), TFLITE_FORMATS, empty_ok=True),
        backend_comparison=comparison and {
            "students": _str_list(f"{where}: [backend_comparison] students", comparison.get("students", [])),
            "backends": _str_list(f"{where}: [backend_comparison] backends",
                                  comparison.get("backends", list(BACKENDS)), BACKENDS)},
        extra_seeds=extra and {"students": _str_list(f"{where}: [extra_seeds] students", extra.get("students", [])),
                               "seeds": tuple(extra_seeds)},
    )
    if {"kd", "kd+transfer"} & set(suite.kinds) and suite.students and not suite.teacher and \
            not all("teacher" in suite.data.get(d, {}) for d in suite.datasets):
        raise KdsuiteError(f"{where}: kinds include 'kd' but no teacher is named")
    for src, _ in suite.nested:
        if src not in suite.students or "kd" not in suite.kinds or not suite.teacher:
            raise KdsuiteError(f"{where}: nested teacher {src!r} must be a student of this suite with kind 'kd'")
    if "kd+transfer" in suite.kinds and suite.students and not any("transfer" in o for o in suite.data.values()):
        raise KdsuiteError(f"{where}: kind 'kd+transfer' needs a transfer set: [data.NAME] transfer = ...")
    try:
        TrainConfig(**suite.train).validate()  # temperature > 0, alpha in [0, 1], ...
    except KdsuiteError as exc:
        raise KdsuiteError(f"{where}: [train] {exc}") from None
    for name, opts in suite.data.items():  # [train] is valid: a bad value here came from this [data.NAME] table
        try:
            TrainConfig(**suite.train | {k: v for k, v in opts.items() if k in TRAIN_KEYS}).validate()
        except KdsuiteError as exc:
            raise KdsuiteError(f"{where}: [data.{name}] {exc}") from None
    for name, opts in suite.data.items():
        if name not in suite.datasets:
            raise KdsuiteError(f"{where}: [data.{name}] names a dataset not in datasets")
        if "students" in opts:
            _str_list(f"{where}: [data.{name}] students", opts["students"])
        if "transfer" in opts:
            try:
                parse_transfer(opts["transfer"])
            except KdsuiteError as exc:
                raise KdsuiteError(f"{where}: [data.{name}] {exc}") from None
        if not 0 < opts.get("train_fraction", 1) <= 1 or not 0 < opts.get("val_size", 0.5) < 1:
            raise KdsuiteError(f"{where}: [data.{name}] train_fraction must be in (0, 1], val_size in (0, 1)")
    return _scratch_members_seeded(suite, where)


def _scratch_members_seeded(suite: Suite, where: str) -> Suite:
    """The suite with each teacher's seedless `scratch:NAME` members written once per seed of the suite."""
    try:
        teacher = suite.teacher and with_scratch_seeds(suite.teacher, suite.seeds)
        data = {name: opts | ({"teacher": with_scratch_seeds(opts["teacher"], suite.seeds)} if "teacher" in opts else {})
                for name, opts in suite.data.items()}
        for dataset in suite.datasets:
            scratch_members(data.get(dataset, {}).get("teacher", teacher))  # a malformed member fails here
    except KdsuiteError as exc:
        raise KdsuiteError(f"{where}: {exc}") from None
    return replace(suite, teacher=teacher, data=data)


def _tune(where: str, table) -> dict:
    """The [tune] table: `trials` (>= 1), `seed`, ranges [low, high] for learning_rate, patience, temperature
    and alpha, and the KD losses to choose from."""
    if not table:
        return {}
    tune = _options(where, {k: v for k, v in table.items() if TUNE_KEYS.get(k) not in ("range",)},
                    {k: t for k, t in TUNE_KEYS.items() if t != "range"})
    for key, value in table.items():
        if TUNE_KEYS.get(key) != "range":
            continue
        if not (isinstance(value, list) and len(value) == 2 and all(_type_ok(v, "float") for v in value)
                and 0 <= value[0] < value[1]) or (key == "patience" and not all(_type_ok(v, "int") for v in value)):
            raise KdsuiteError(f"{where} {key}: expected [low, high] with 0 <= low < high, got {value!r}")
        if key == "alpha" and value[1] > 1 or key in ("learning_rate", "temperature") and value[0] <= 0:
            raise KdsuiteError(f"{where} {key}: {value!r} is out of range")
        tune[key] = tuple(value)
    if not _type_ok(tune.get("trials"), "int") or tune["trials"] < 1:
        raise KdsuiteError(f"{where}: trials: expected an integer >= 1")
    tune["loss"] = _str_list(f"{where} loss", tune["loss"], tuple(x for x in LOSSES if x != "ce")) \
        if "loss" in tune else ()
    return {k: v for k, v in tune.items() if v != ()}


def _table(where: str, raw: dict, key: str) -> dict:
    value = raw.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise KdsuiteError(f"{where}: [{key}] must hold one table per dataset")
    return value


def load_suite(spec: str) -> Suite:
    """A preset name (quick, cpu, full, imdb, imdb-tfidf) or a path to a TOML file."""
    path = Path(spec)
    if not path.suffix:
        path = PRESETS / f"{spec}.toml"
        if not path.is_file():
            names = ", ".join(sorted(p.stem for p in PRESETS.glob("*.toml")))
            raise KdsuiteError(f"unknown suite {spec!r}; presets: {names} (or a path to a .toml file)")
    if not path.is_file():
        raise KdsuiteError(f"{path}: suite file not found")
    try:
        raw = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KdsuiteError(f"{path}: invalid TOML ({exc})") from None
    return parse_suite(path.stem, raw, str(path))
