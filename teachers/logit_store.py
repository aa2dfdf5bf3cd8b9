"""Teacher logits on disk: one float array [rows, classes] per split, with metadata saying which teacher, which
data (base fingerprint: content + carving, before subsampling) and which config produced them.

- Cache: `cache_root()/logits/<teacher>/<dataset>-<key>/` holding `logits.npz` (float32) and `meta.json`.
- Committed compact copies: `teachers/logits/<dataset>__<teacher>.npz` (float16) beside a `.json`.
- A user file: an `.npz` with one array per split, optionally beside a `.json` with `base_fingerprint`.

Train logits cover the full train split; index them with `ds.train_index` when train was subsampled.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

import numpy as np

from kdsuite.errors import KdsuiteError
from kdsuite.store import atomic_path, cache_root, write_json

COMMITTED = Path(__file__).resolve().parent / "logits"  # compact copies shipped with kdsuite


MAX_ID = 100  # an ensemble of run folders can name a spec longer than a file name may be (255 bytes)


def teacher_id(spec: str) -> str:
    """A filesystem-safe id for a teacher spec (cache folders, committed file names); a long spec keeps its head
    and ends in a hash of the whole, so two long specs that differ only at the end stay apart."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", spec).strip("_")
    if len(safe) <= MAX_ID:
        return safe
    return f"{safe[:MAX_ID - 17]}-{hashlib.sha256(spec.encode()).hexdigest()[:16]}"


def cache_dir(teacher: str, dataset: str, key: str) -> Path:
    return cache_root() / "logits" / teacher_id(teacher) / f"{dataset}-{key}"


def array_hash(logits: dict[str, np.ndarray]) -> str:
    """A content hash of per-split arrays (as float16, so the cache and its compact copy agree)."""
    h = hashlib.sha256()
    for split in sorted(logits):
        h.update(split.encode())
        h.update(np.ascontiguousarray(logits[split], np.float16).tobytes())
    return h.hexdigest()[:16]


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)


def save_cache(folder: Path, logits: dict[str, np.ndarray], meta: dict) -> None:
    """Write `logits.npz` then `meta.json` (its presence marks the entry complete)."""
    write_npz(folder / "logits.npz", {k: np.asarray(v, np.float32) for k, v in logits.items()})
    write_json(folder / "meta.json", {**meta, "logits_hash": array_hash(logits)})


def save_compact(path: Path, logits: dict[str, np.ndarray], meta: dict) -> Path:
    """Write a float16 copy of `logits` to `path` (.npz) and the metadata worth shipping beside it (.json)."""
    path = Path(path).with_suffix(".npz")
    keep = ("teacher", "dataset", "base_fingerprint", "label_names", "num_classes", "config", "rows", "commit",
            "param_count", "latency_ms_b1", "fit")
    write_npz(path, {k: np.asarray(v, np.float16) for k, v in logits.items()})
    test = meta.get("test", {})
    write_json(path.with_suffix(".json"), {
        **{k: meta[k] for k in keep if k in meta},
        "test_accuracy": test.get("accuracy"), "test_macro_f1": test.get("macro_f1"),
        "logits_hash": array_hash(logits), "npz_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    })
    return path


def read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: np.asarray(data[k], np.float32) for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise KdsuiteError(f"{path}: unreadable logits file ({type(exc).__name__}: {exc})") from None


def read_meta(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise KdsuiteError(f"{path}: unreadable metadata ({type(exc).__name__}: {exc})") from None


def check_logits(logits: dict[str, np.ndarray], meta: dict | None, ds, where: str) -> dict[str, np.ndarray]:
    """Refuse logits that do not fit `ds`: another base fingerprint, class count or row count, or non-finite."""
    if meta is not None:
        if meta.get("base_fingerprint") not in (None, ds.base_fingerprint):
            raise KdsuiteError(f"{where}: logits are for other data ({meta.get('dataset')}, base fingerprint "
                               f"{meta['base_fingerprint']}), not {ds.name} ({ds.base_fingerprint})")
        if meta.get("label_names") not in (None, list(ds.label_names)):
            raise KdsuiteError(f"{where}: logits label names {meta['label_names']} differ from {ds.label_names}")
    subsampled = bool({"train_fraction", "max_train"} & set(ds.recipe))
    for split, data in ds.splits.items():
        if split not in logits:
            raise KdsuiteError(f"{where}: no logits for split {split!r} (has {', '.join(sorted(logits))})")
        arr = logits[split]
        if arr.ndim != 2 or arr.shape[1] != ds.num_classes:
            raise KdsuiteError(f"{where}: split {split!r} logits have shape {arr.shape}, "
                               f"expected [rows, {ds.num_classes}] for {ds.num_classes} classes")
        expected = (meta or {}).get("rows", {}).get(split) if split == "train" and subsampled else len(data)
        if not (data.labels >= 0).any():  # an unlabelled split may be exported in part (its first rows)
            expected = arr.shape[0] if arr.shape[0] <= len(data) else len(data)
        if split == "train" and subsampled and arr.shape[0] <= int(ds.train_index.max()):
            raise KdsuiteError(f"{where}: split 'train' has {arr.shape[0]} rows, too few for the subsample "
                               f"(needs > {int(ds.train_index.max())})")
        if expected is not None and arr.shape[0] != expected:
            raise KdsuiteError(f"{where}: split {split!r} has {arr.shape[0]} rows of logits, expected {expected}")
        if not np.isfinite(arr).all():
            raise KdsuiteError(f"{where}: split {split!r} logits contain NaN or infinite values")
    return {split: logits[split] for split in ds.splits}


def load_logits_file(path: str | Path, ds) -> dict[str, np.ndarray]:
    """Logits from a user `.npz` (one [rows, classes] array per split; an optional same-stem `.json` may name
    the `base_fingerprint` and `label_names`), checked against `ds`; float32."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise KdsuiteError(f"{path}: logits file not found")
    return check_logits(read_npz(path), read_meta(path.with_suffix(".json")), ds, str(path))


def _candidates(teacher: str, ds) -> list[tuple[Path, Path]]:
    """(npz, json) pairs that may hold `teacher`'s logits for `ds`: newest cache entries, then committed."""
    tid = teacher_id(teacher)
    cached = sorted((cache_root() / "logits" / tid).glob(f"{ds.name}-*/meta.json"),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    pairs = [(m.parent / "logits.npz", m) for m in cached]
    committed = COMMITTED / f"{ds.name}__{tid}.npz"
    return pairs + ([(committed, committed.with_suffix(".json"))] if committed.is_file() else [])


def stored_meta(teacher: str, ds) -> tuple[Path | None, dict]:
    """The file and metadata `read_logits(teacher, ds)` reads, or (None, {}) when nothing is stored for `ds`."""
    for npz, meta_path in _candidates(teacher, ds):
        meta = read_meta(meta_path)
        if meta is not None and meta.get("base_fingerprint") == ds.base_fingerprint:
            return npz, meta
    return None, {}


def read_logits(teacher: str, ds) -> dict[str, np.ndarray]:
    """`teacher`'s stored logits for every split of `ds` (train covers the full train split), from the cache or
    the committed copies (`runs.load_teacher_logits` first recombines an ensemble); the first whose base
    fingerprint matches is checked and returned. Values are rounded to float16, as committed, so a student
    trained here and one rebuilt from the committed copy see the same. A `logits:FILE` teacher is that file, its
    values as given."""
    if teacher.startswith("logits:") and "+" not in teacher:
        return load_logits_file(teacher.removeprefix("logits:"), ds)
    others = []
    for npz, meta_path in _candidates(teacher, ds):
        meta = read_meta(meta_path)
        if meta is None or meta.get("base_fingerprint") != ds.base_fingerprint:
            others.append(str(npz))
            continue
        if "npz_sha256" in meta and hashlib.sha256(npz.read_bytes()).hexdigest() != meta["npz_sha256"]:
            raise KdsuiteError(f"{npz}: contents differ from the sha256 recorded in {meta_path.name}")
        logits = {k: v.astype(np.float16).astype(np.float32) for k, v in read_npz(npz).items()}
        return check_logits(logits, meta, ds, str(npz))
    hint = f" ({', '.join(others)} are for other data)" if others else ""
    raise KdsuiteError(f"no {teacher} logits for {ds.name} (base fingerprint {ds.base_fingerprint}){hint}; "
                       f"run `kdsuite teacher {ds.name} --teacher {teacher}` or pass a logits file")


def row(teacher: str, ds, npz: Path, meta: dict, test: dict) -> dict:
    """A teacher's leaderboard row: `test` metrics, the rest from the metadata stored beside its logits `npz`."""
    return {
        "model": teacher, "kind": "teacher",
        "family": meta.get("family") or ((meta.get("config") or {}).get("teacher") or {}).get("family", "teacher"),
        "dataset": ds.name, "data_source": ds.source, "data_fingerprint": ds.fingerprint, "teacher": teacher,
        "seed": meta.get("seed"), "config": meta.get("config"), "train_rows": meta.get("train_rows"),
        "param_count": meta.get("param_count"), "test": test,
        "speed": {"latency_ms_b1": meta.get("latency_ms_b1")}, "logits": str(npz), "commit": meta.get("commit"),
    }


def read_record(teacher: str, ds) -> dict:
    """The leaderboard row of `teacher` on `ds`, read from the metadata stored beside its logits."""
    npz, meta = stored_meta(teacher, ds)
    if npz is not None:
        test = meta.get("test") or {"accuracy": meta.get("test_accuracy"), "macro_f1": meta.get("test_macro_f1")}
        return row(teacher, ds, npz, meta, test)
    raise KdsuiteError(f"no {teacher} logits for {ds.name} (base fingerprint {ds.base_fingerprint}); "
                       f"run `kdsuite teacher {ds.name} --teacher {teacher}`")
