"""Datasets: the benchmark registry, loading (local mirror, user files, Hugging Face hub), validation,
validation-split carving, stratified subsampling and content fingerprints.

Everything downstream sees a `TextDataset`: named splits of (texts, int labels), label names, where the
data came from and a content fingerprint that keys every cache. Texts stay in their files (`TextColumn`, read in
record batches) until some code asks for them all, so validating, fingerprinting and tokenising a split of
millions of rows holds one batch of texts at a time; labels are held whole (8 bytes a row).
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import numpy as np

from kdsuite import store
from kdsuite.errors import KdsuiteError

UNLABELLED = -1
DEFAULT_LENGTH = 64  # tokens per text for datasets without a registered default (user data)
FILE_FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "json", ".json": "json"}


@dataclass(frozen=True)
class DatasetSpec:
    """A benchmark dataset: where it lives on the hub and what it looks like."""

    name: str
    hub_id: str
    label_names: tuple[str, ...]
    hub_splits: dict[str, str]  # kdsuite split name -> hub split name
    hub_config: str | None = None
    text_fields: tuple[str, ...] = ("text",)  # joined with ". " when several (Amazon: title, content)
    unlabelled_splits: tuple[str, ...] = ()
    max_length: int = DEFAULT_LENGTH  # default student/teacher sequence length in tokens
    note: str = ""


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "emotion", "dair-ai/emotion",
            ("sadness", "joy", "love", "anger", "fear", "surprise"),
            {"train": "train", "validation": "validation", "test": "test"},
            hub_config="split", max_length=64,
        ),
        DatasetSpec(
            "imdb", "stanfordnlp/imdb", ("neg", "pos"),
            {"train": "train", "test": "test", "unsup": "unsupervised"},
            unlabelled_splits=("unsup",), max_length=256,
        ),
        DatasetSpec(
            "amazon_polarity", "fancyzhx/amazon_polarity", ("negative", "positive"),
            {"train": "train", "test": "test"},
            text_fields=("title", "content"), max_length=256,
            note="hub: 3.6M/400k rows; the offline mirror holds a real sample of official rows",
        ),
    )
}


def default_length(dataset: str) -> int:
    """Tokens per text that students and teachers read on `dataset` unless told otherwise."""
    spec = DATASETS.get(dataset)
    return spec.max_length if spec else DEFAULT_LENGTH


BATCH_ROWS = 8192  # texts per record batch read from a file


class TextColumn:
    """A split's texts, read from their file in record batches: validation, the fingerprint and tokenisation
    stream them, so a million-row split never sits in memory; `array()` holds them all (read once) for the code
    that wants an array. `rows` selects sorted rows of the file (carving, subsampling) without reading it."""

    def __init__(self, read: Callable[[int], Iterator[list]], size: int, source: str, rows: np.ndarray | None = None):
        self._read, self._size, self.source, self._rows = read, size, source, rows
        self._array: np.ndarray | None = None

    @classmethod
    def of(cls, texts, source: str = "memory") -> "TextColumn":
        """A column over texts already in memory."""
        column = cls(lambda n: iter(()), len(texts), source)
        column._array = np.asarray(texts, dtype=object).reshape(-1)
        return column

    def __len__(self) -> int:
        return self._size if self._rows is None else len(self._rows)

    def __iter__(self) -> Iterator[str]:
        for batch in self.batches():
            yield from batch

    def batches(self, n: int = BATCH_ROWS) -> Iterator[np.ndarray]:
        """The texts in order, as object arrays of at most `n` (fewer where `rows` skips some)."""
        if self._array is not None:
            for start in range(0, len(self._array), n):
                yield self._array[start:start + n]
            return
        start = 0
        for texts in self._read(n):
            stop = start + len(texts)
            batch = np.empty(len(texts), dtype=object)
            batch[:] = texts
            if self._rows is None:
                yield batch
            else:
                lo, hi = np.searchsorted(self._rows, [start, stop])
                if hi > lo:
                    yield batch[self._rows[lo:hi] - start]
            start = stop

    def take(self, idx: np.ndarray) -> "TextColumn":
        """The rows `idx` (sorted) of this column, still unread."""
        if self._array is not None:
            return TextColumn.of(self._array[idx], self.source)
        idx = np.asarray(idx)
        if idx.size > 1 and (np.diff(idx) < 0).any():
            raise ValueError("TextColumn.take needs sorted row indices")
        return TextColumn(self._read, self._size, self.source, idx if self._rows is None else self._rows[idx])

    def array(self) -> np.ndarray:
        """Every text, as an object array of str, read once and kept."""
        if self._array is None:
            parts = list(self.batches())
            self._array = np.concatenate(parts) if parts else np.empty(0, dtype=object)
        return self._array


class Split:
    """A split's texts (a `TextColumn`; `texts` reads them all into an object array of str) and labels
    (int64, -1 = unlabelled)."""

    def __init__(self, texts, labels: np.ndarray):
        self.column = texts if isinstance(texts, TextColumn) else TextColumn.of(texts)
        self.labels = labels

    @property
    def texts(self) -> np.ndarray:
        return self.column.array()

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, idx: np.ndarray) -> "Split":
        """The rows `idx` (sorted) of this split."""
        return Split(self.column.take(idx), self.labels[idx])


@dataclass
class TextDataset:
    name: str
    source: str  # local path or hub id actually used
    label_names: list[str]
    splits: dict[str, Split]
    fingerprint: str  # content hash of every split as loaded (before carving/subsampling)
    recipe: dict = field(default_factory=dict)  # how validation/test were carved and train subsampled
    train_index: np.ndarray | None = None  # rows of the full (carved) train kept by subsampling
    full_train: Split | None = None  # the full (carved) train when subsampled, for transfer sets

    @property
    def base_fingerprint(self) -> str:
        """Hash of the splits before subsampling: content plus carving; keys teacher logits."""
        base = {k: v for k, v in self.recipe.items() if k not in ("train_fraction", "max_train", "subsample_seed")}
        return store.key(data=self.fingerprint, recipe=base)

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def view_fingerprint(self) -> str:
        """Hash of the data as used: content fingerprint plus carving/subsampling recipe."""
        return store.key(data=self.fingerprint, recipe=self.recipe)

    def summary(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "fingerprint": self.fingerprint,
            "label_names": self.label_names,
            "recipe": self.recipe,
            "splits": {
                name: {
                    "rows": len(split),
                    "empty_rows": sum(count_without_tokens(b) for b in split.column.batches()),
                    "labels": {
                        ("unlabelled" if k == UNLABELLED else self.label_names[k]): int(v)
                        for k, v in zip(*np.unique(split.labels, return_counts=True))
                    },
                }
                for name, split in self.splits.items()
            },
        }


# keras TextVectorization("lower_and_strip_punctuation") deletes these characters, then splits on ASCII whitespace
_NOTHING_BUT_PUNCTUATION = re.compile(r"""[!"#$%&()*+,\-./:;<=>?@\[\\\]^_`{|}~' \t\n\v\f\r]*""")


def load_cell_data(cell, data_dir: str | None = None) -> "TextDataset":
    """The dataset view a grid cell (`config.Cell`) reads: carved and subsampled by its data options and seed."""
    return load_dataset(cell.dataset, data_dir, val_size=cell.option("val_size"), seed=cell.option("data_seed"),
                        train_fraction=cell.option("train_fraction"), max_train=cell.option("max_train"))


def no_tokens(text: str) -> bool:
    """True when the students' standardisation leaves no token of `text`: lower-casing, stripping the punctuation
    `[!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~']` and splitting on whitespace gives nothing (`. . .`, `--`, ``). Such a row
    becomes all padding ids. Lower-casing cannot turn a letter into punctuation, so the text is simply made of
    those characters and ASCII whitespace (TextVectorization's split ignores Unicode spaces: they are tokens)."""
    return _NOTHING_BUT_PUNCTUATION.fullmatch(str(text)) is not None


def count_without_tokens(texts) -> int:
    """How many of `texts` standardise to no token (see `no_tokens`)."""
    return sum(map(no_tokens, texts))


def content_hash(splits: dict[str, Split], label_names: list[str], check: bool = False) -> str:
    """A hash of every split's texts and labels, in one streaming pass over the texts; with `check`, each text is
    validated on the way (a one-line `KdsuiteError` naming its file and row)."""
    h = hashlib.sha256(json.dumps(label_names).encode())
    for name in sorted(splits):
        split = splits[name]
        h.update(name.encode() + b"\0")
        row = 0
        for batch in split.column.batches():
            if check:
                _check_texts(batch, split.column.source, row)
            for text in batch:
                encoded = text.encode("utf-8")
                h.update(len(encoded).to_bytes(8, "little") + encoded)
            row += len(batch)
        h.update(np.ascontiguousarray(split.labels, dtype="<i8").tobytes())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------- reading files

class _Table(NamedTuple):
    """A file or hub split opened for reading a column whole or columns in record batches."""

    columns: list[str]
    rows: int
    column: Callable[[str], object]  # name -> the whole column (a pyarrow ChunkedArray)
    batches: Callable[[list[str], int], Iterator]  # (columns, rows per batch) -> record batches or tables


def _hf_table(dataset) -> _Table:
    """A Hugging Face `datasets.Dataset` (memory-mapped Arrow) as a `_Table`."""
    return _Table(dataset.column_names, len(dataset), lambda name: dataset.data.table.column(name),
                  lambda cols, n: dataset.select_columns(cols).with_format("arrow").iter(n))


def _check_utf8(path: Path) -> None:
    """Fail in one line, naming the byte, when `path` is not UTF-8; reads it in chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    done = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 24)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                raise KdsuiteError(f"{path}: not UTF-8 text (byte {done - pending + exc.start})") from None
            if not chunk:
                return
            done += len(chunk)


def _read_file(path: Path) -> _Table:
    """Open a split file: parquet with pyarrow (read in record batches, never whole), CSV/JSON through
    `datasets` (converted once to memory-mapped Arrow)."""
    fmt = FILE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise KdsuiteError(f"{path}: unsupported file type (use {', '.join(FILE_FORMATS)})")
    if not path.is_file():
        raise KdsuiteError(f"{path}: file not found")
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            meta = pq.ParquetFile(path)
        except Exception as exc:
            raise KdsuiteError(f"{path}: cannot read as parquet: {str(exc).splitlines()[0][:200]}") from None
        return _Table(meta.schema_arrow.names, meta.metadata.num_rows,
                      lambda name: pq.read_table(path, columns=[name]).column(name),
                      # one row group at a time: pyarrow's read-ahead (threads, pre-buffering) holds the whole file
                      lambda cols, n: pq.ParquetFile(path, pre_buffer=False).iter_batches(n, columns=cols,
                                                                                          use_threads=False))
    import datasets

    _check_utf8(path)
    datasets.disable_progress_bars()
    try:
        return _hf_table(datasets.load_dataset(fmt, data_files=str(path), split="train"))
    except Exception as exc:  # datasets wraps parser errors in several types
        cause = exc.__cause__ or exc
        raise KdsuiteError(f"{path}: cannot read as {fmt}: {str(cause).splitlines()[0][:200]}") from None


def _columns(table: _Table, where: str, text_fields: tuple[str, ...]) -> tuple[TextColumn, np.ndarray | list]:
    """(texts, raw labels): the `text` column, else `text_fields` joined with ". " (the hub's Amazon title/content),
    as an unread `TextColumn`; the labels whole (an int64 array when the column is one, else a list of values)."""
    import pyarrow as pa

    if "text" in table.columns:
        text_fields = ("text",)
    missing = [c for c in (*text_fields, "label") if c not in table.columns]
    if missing:
        raise KdsuiteError(f"{where}: missing column {missing[0]!r} (have {', '.join(table.columns)})")

    def read(n: int) -> Iterator[list]:
        for batch in table.batches(list(text_fields), n):
            parts = [batch.column(c).to_pylist() for c in text_fields]
            yield parts[0] if len(parts) == 1 else [". ".join("" if p is None else p for p in row)
                                                    for row in zip(*parts)]

    labels = table.column("label")
    if pa.types.is_integer(labels.type) and labels.null_count == 0:
        raw = labels.to_numpy().astype(np.int64)
    else:
        raw = [_int_like(v) for v in labels.to_pylist()]
    return TextColumn(read, table.rows, where), raw


def _check_texts(texts, where: str, offset: int = 0) -> None:
    """Every text a non-empty string; rows are counted from `offset` (the batch's first row in its file)."""
    for i, t in enumerate(texts, offset):
        if t is None or (isinstance(t, float) and np.isnan(t)):
            raise KdsuiteError(f"{where}: field 'text' is missing (null/NaN) in row {i}")
        if not isinstance(t, str):
            raise KdsuiteError(f"{where}: field 'text' is not a string in row {i} ({type(t).__name__})")
        if not t.strip():
            raise KdsuiteError(f"{where}: field 'text' is empty in row {i}")


def _check_labels(raw: np.ndarray | list, where: str, label_names: list[str] | None, unlabelled: bool) -> np.ndarray:
    """Validate labels; string labels are mapped through `label_names`."""
    if isinstance(raw, np.ndarray):
        out = raw
    else:
        out = np.empty(len(raw), dtype=np.int64)
        index = {n: i for i, n in enumerate(label_names or [])}
        for i, v in enumerate(raw):
            if isinstance(v, str) and v in index:
                out[i] = index[v]
                continue
            if isinstance(v, (bool, np.bool_)) or v is None or isinstance(v, str):
                raise KdsuiteError(f"{where}: field 'label' is not an integer in row {i} ({v!r})")
            if isinstance(v, float) and not (np.isfinite(v) and v.is_integer()):
                raise KdsuiteError(f"{where}: field 'label' is not an integer in row {i} ({v!r})")
            out[i] = int(v)
    if label_names is not None:
        low = UNLABELLED if unlabelled else 0
        bad = np.flatnonzero((out < low) | (out >= len(label_names)))
        if bad.size:
            i = int(bad[0])
            allowed = f"{low}..{len(label_names) - 1}"
            raise KdsuiteError(f"{where}: field 'label' out of range in row {i} ({out[i]}; allowed {allowed})")
    return out


def _int_like(v):
    """'3' -> 3 (CSV readers give strings when a label column mixes types); other values unchanged."""
    return int(v) if isinstance(v, str) and v.strip().lstrip("-").isdigit() else v


def _infer_label_names(raw_by_split: dict[str, np.ndarray | list], where: dict[str, str]) -> list[str]:
    """String labels are names (sorted); integer labels 0..max are named by their number."""
    def kinds(raw) -> set[bool]:
        if isinstance(raw, np.ndarray):
            return {False} if len(raw) else set()
        return {isinstance(v, str) for v in raw if v is not None}

    found = {split: kinds(raw) for split, raw in raw_by_split.items()}
    for split, raw in raw_by_split.items():
        if True in found[split] and (False in found[split] or any(False in k for k in found.values())):
            row = next(i for i, v in enumerate(raw) if isinstance(v, str))
            raise KdsuiteError(f"{where[split]}: field 'label' mixes integers and names (row {row}: {raw[row]!r})")
    if any(True in k for k in found.values()):
        return sorted({str(v) for raw in raw_by_split.values() for v in raw if v is not None})
    top = max((int(raw.max(initial=-1)) if isinstance(raw, np.ndarray) else
               max((int(v) for v in raw if isinstance(v, (int, np.integer)) and v >= 0), default=-1)
               for raw in raw_by_split.values()), default=-1)
    return [str(i) for i in range(top + 1)]


# ---------------------------------------------------------------- sources

def data_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    value = explicit or os.environ.get("KDSUITE_DATA_DIR")
    if not value:
        return None
    path = Path(value).expanduser().resolve()
    if not path.is_dir():
        where = "--data-dir" if explicit else "KDSUITE_DATA_DIR"
        raise KdsuiteError(f"{where}: data directory {path} does not exist")
    return path


def _split_files(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in FILE_FORMATS and path.stem not in files and path.name != "info.json":
            files[path.stem] = path
    return files


def _load_files(name: str, files: dict[str, Path], label_names: list[str] | None,
                text_fields: tuple[str, ...], unlabelled: tuple[str, ...]) -> tuple[dict[str, Split], list[str]]:
    """Splits over the files, texts unread (`content_hash(check=True)` validates them) and labels checked."""
    raw = {split: _columns(_read_file(path), str(path), text_fields) for split, path in files.items()}
    if label_names is None:
        label_names = _infer_label_names({s: r[1] for s, r in raw.items()}, {s: r[0].source for s, r in raw.items()})
        if not label_names:
            raise KdsuiteError(f"{name}: cannot infer label names (no labelled rows)")
    splits = {split: Split(column, _check_labels(labels, column.source, label_names,
                                                 unlabelled=split in unlabelled or split == "unsup"))
              for split, (column, labels) in raw.items()}
    return splits, label_names


def _info_label_names(folder: Path) -> list[str] | None:
    info = folder / "info.json"
    if not info.is_file():
        return None
    try:
        names = json.loads(info.read_text())["label_names"]
    except (ValueError, KeyError, TypeError):
        raise KdsuiteError(f"{info}: not valid JSON with a 'label_names' list") from None
    if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
        raise KdsuiteError(f"{info}: field 'label_names' must be a non-empty list of strings")
    return names


def _load_hub(spec: DatasetSpec) -> dict[str, Split]:
    from kdsuite.data.hub import hub_reachable, offline_mode

    hint = (f"offline, point --data-dir or KDSUITE_DATA_DIR at a folder holding {spec.name}/<split>.parquet, "
            f"or set HF_HUB_OFFLINE=1 to use the Hugging Face cache")
    if not offline_mode() and not hub_reachable():
        raise KdsuiteError(f"{spec.name}: the Hugging Face hub is unreachable ({spec.hub_id}); {hint}")
    import datasets

    try:
        loaded = datasets.load_dataset(spec.hub_id, spec.hub_config)
    except Exception as exc:
        first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise KdsuiteError(f"{spec.name}: cannot load {spec.hub_id} from the Hugging Face hub ({first}); {hint}") from None
    splits = {}
    for ours, theirs in spec.hub_splits.items():
        where = f"{spec.hub_id}[{theirs}]"
        column, labels = _columns(_hf_table(loaded[theirs]), where, spec.text_fields)
        splits[ours] = Split(column, _check_labels(labels, where, list(spec.label_names),
                                                   ours in spec.unlabelled_splits))
    return splits


def _load_raw(dataset: str, data_dir_: str | os.PathLike | None) -> tuple[str, str, dict[str, Split], list[str]]:
    """Return (name, source, splits, label_names) without carving or subsampling."""
    spec = DATASETS.get(dataset)
    if spec is not None:
        root = data_dir(data_dir_)
        if root is None:
            return spec.name, spec.hub_id, _load_hub(spec), list(spec.label_names)
        folder = root / spec.name
        if not folder.is_dir():
            raise KdsuiteError(f"{folder}: dataset folder not found (expected {spec.name}/<split>.parquet)")
        files = _split_files(folder)
        files = {s: p for s, p in files.items() if s in spec.hub_splits}
        for required in ("train", "test"):
            if required not in files:
                raise KdsuiteError(f"{folder / (required + '.parquet')}: split {required!r} not found")
        names = _info_label_names(folder) or list(spec.label_names)
        if names != list(spec.label_names):
            raise KdsuiteError(f"{folder / 'info.json'}: label_names {names} differ from {list(spec.label_names)}")
        splits, _ = _load_files(spec.name, files, names, spec.text_fields, spec.unlabelled_splits)
        return spec.name, str(folder), splits, names

    path = Path(dataset).expanduser()
    if not path.exists():
        known = ", ".join(DATASETS)
        raise KdsuiteError(f"unknown dataset {dataset!r}: not a registered name ({known}) nor an existing path")
    if path.is_file():
        splits, names = _load_files(path.stem, {"train": path}, _info_label_names(path.parent), ("text",), ())
        return path.stem, str(path), splits, names
    files = _split_files(path)
    if "train" not in files:
        raise KdsuiteError(f"{path}: no train.<csv|parquet|jsonl> file")
    splits, names = _load_files(path.name, files, _info_label_names(path), ("text",), ("unsup",))
    return path.name, str(path), splits, names


def _stratified_pick(labels: np.ndarray, size: int | float, seed: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Indices (picked, rest) of a stratified seeded split; falls back to unstratified for tiny classes."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    counts = np.bincount(labels)
    stratify = labels if counts[counts > 0].min() >= 2 else None
    try:
        rest, picked = train_test_split(idx, test_size=size, random_state=seed, stratify=stratify)
    except ValueError as exc:
        raise KdsuiteError(f"{what}: {exc}") from None
    return np.sort(picked), np.sort(rest)


def load_dataset(
    dataset: str,
    data_dir: str | os.PathLike | None = None,
    *,
    val_size: float = 0.1,
    seed: int = 0,
    train_fraction: float | None = None,
    max_train: int | None = None,
) -> TextDataset:
    """Load a registered dataset or a user folder/file, validated, with train/validation/test splits.

    Validation is the official split when there is one, else a stratified seeded `val_size` share of train
    (a single user file also gives up a test share of the same size). `train_fraction`/`max_train` then
    subsample train, stratified and seeded. The recipe is recorded in `TextDataset.recipe`.
    """
    if not 0 < val_size < 1:
        raise KdsuiteError(f"--val-size must be in (0, 1), got {val_size}")
    if train_fraction is not None and not 0 < train_fraction <= 1:
        raise KdsuiteError(f"--train-fraction must be in (0, 1], got {train_fraction}")
    if max_train is not None and max_train < 1:
        raise KdsuiteError(f"--max-train must be positive, got {max_train}")
    name, source, splits, label_names = _load_raw(dataset, data_dir)
    fingerprint = content_hash(splits, label_names, check=True)  # one streaming pass validates every text
    recipe: dict = {}

    train = splits["train"]
    if "test" not in splits:
        test_idx, rest = _stratified_pick(train.labels, val_size, seed, f"{source}: carving test")
        splits["test"], train = train.subset(test_idx), train.subset(rest)
        recipe["test"] = f"carved from train: {val_size:g}, stratified, seed {seed}"
    if "validation" in splits:
        recipe["validation"] = "official"
    else:
        val_idx, rest = _stratified_pick(train.labels, val_size, seed, f"{source}: carving validation")
        splits["validation"], train = train.subset(val_idx), train.subset(rest)
        recipe["validation"] = f"carved from train: {val_size:g}, stratified, seed {seed}"
    n = len(train)
    train_index, full_train = np.arange(n), None
    keep = n
    if train_fraction is not None:
        keep = max(1, round(n * train_fraction))
        recipe["train_fraction"] = train_fraction
    if max_train is not None:
        keep = min(keep, max_train)
        recipe["max_train"] = max_train
    if keep < n:
        picked, _ = _stratified_pick(train.labels, keep, seed, f"{source}: subsampling train")
        full_train, train, train_index = train, train.subset(picked), picked
        recipe["subsample_seed"] = seed
    splits["train"] = train
    for split_name in ("train", "validation", "test"):
        if (splits[split_name].labels == UNLABELLED).any():
            raise KdsuiteError(f"{source}: split {split_name!r} has unlabelled rows (label -1)")
    order = ["train", "validation", "test"] + sorted(set(splits) - {"train", "validation", "test"})
    return TextDataset(name, source, label_names, {s: splits[s] for s in order}, fingerprint, recipe, train_index,
                       full_train)
