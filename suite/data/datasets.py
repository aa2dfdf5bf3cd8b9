"""Datasets: the benchmark registry, loading (local mirror, user files, Hugging Face hub), validation,
validation-split carving, stratified subsampling and content fingerprints.

Everything downstream sees a `TextDataset`: named splits of (texts, int labels), label names, where the
data came from and a content fingerprint that keys every cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass
class Split:
    texts: np.ndarray  # object array of str
    labels: np.ndarray  # int64, -1 = unlabelled

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, idx: np.ndarray) -> "Split":
        return Split(self.texts[idx], self.labels[idx])


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
                    "empty_rows": count_without_tokens(split.texts),
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


def content_hash(splits: dict[str, Split], label_names: list[str]) -> str:
    h = hashlib.sha256(json.dumps(label_names).encode())
    for name in sorted(splits):
        split = splits[name]
        h.update(name.encode() + b"\0")
        for text in split.texts:
            encoded = text.encode("utf-8")
            h.update(len(encoded).to_bytes(8, "little") + encoded)
        h.update(np.ascontiguousarray(split.labels, dtype="<i8").tobytes())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------- reading files

def _read_file(path: Path) -> "datasets.Dataset":  # noqa: F821
    import datasets

    fmt = FILE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise KdsuiteError(f"{path}: unsupported file type (use {', '.join(FILE_FORMATS)})")
    if not path.is_file():
        raise KdsuiteError(f"{path}: file not found")
    if fmt in ("csv", "json"):
        try:
            path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise KdsuiteError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    datasets.disable_progress_bars()
    try:
        return datasets.load_dataset(fmt, data_files=str(path), split="train")
    except Exception as exc:  # datasets wraps parser errors in several types
        cause = exc.__cause__ or exc
        raise KdsuiteError(f"{path}: cannot read as {fmt}: {str(cause).splitlines()[0][:200]}") from None


def _columns(table, where: str, text_fields: tuple[str, ...]) -> tuple[list, list]:
    """(texts, labels): the `text` column, else `text_fields` joined with ". " (the hub's Amazon title/content)."""
    if "text" in table.column_names:
        text_fields = ("text",)
    missing = [c for c in (*text_fields, "label") if c not in table.column_names]
    if missing:
        raise KdsuiteError(f"{where}: missing column {missing[0]!r} (have {', '.join(table.column_names)})")
    if len(text_fields) == 1:
        texts = table[text_fields[0]]
    else:
        parts = [table[c] for c in text_fields]
        texts = [". ".join("" if p is None else p for p in row) for row in zip(*parts)]
    return list(texts), list(table["label"])


def _check_texts(texts: list, where: str) -> np.ndarray:
    for i, t in enumerate(texts):
        if t is None or (isinstance(t, float) and np.isnan(t)):
            raise KdsuiteError(f"{where}: field 'text' is missing (null/NaN) in row {i}")
        if not isinstance(t, str):
            raise KdsuiteError(f"{where}: field 'text' is not a string in row {i} ({type(t).__name__})")
        if not t.strip():
            raise KdsuiteError(f"{where}: field 'text' is empty in row {i}")
    return np.array(texts, dtype=object)


def _check_labels(raw: list, where: str, label_names: list[str] | None, unlabelled: bool) -> np.ndarray:
    """Validate labels; string labels are mapped through `label_names`."""
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


def _infer_label_names(raw_by_split: dict[str, list], where: dict[str, str]) -> list[str]:
    """String labels are names (sorted); integer labels 0..max are named by their number."""
    kinds = {split: {isinstance(v, str) for v in raw if v is not None} for split, raw in raw_by_split.items()}
    for split, raw in raw_by_split.items():
        if True in kinds[split] and (False in kinds[split] or any(False in k for k in kinds.values())):
            row = next(i for i, v in enumerate(raw) if isinstance(v, str))
            raise KdsuiteError(f"{where[split]}: field 'label' mixes integers and names (row {row}: {raw[row]!r})")
    values = [v for raw in raw_by_split.values() for v in raw if v is not None]
    if any(isinstance(v, str) for v in values):
        return sorted({str(v) for v in values})
    ints = [int(v) for v in values if isinstance(v, (int, np.integer)) and v >= 0]
    return [str(i) for i in range(max(ints) + 1)] if ints else []


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
    raw: dict[str, tuple[list, list, str]] = {}
    for split, path in files.items():
        table = _read_file(path)
        texts, labels = _columns(table, str(path), text_fields)
        raw[split] = (texts, [_int_like(v) for v in labels], str(path))
    if label_names is None:
        label_names = _infer_label_names({s: r[1] for s, r in raw.items()}, {s: r[2] for s, r in raw.items()})
        if not label_names:
            raise KdsuiteError(f"{name}: cannot infer label names (no labelled rows)")
    splits = {}
    for split, (texts, labels, where) in raw.items():
        splits[split] = Split(
            _check_texts(texts, where),
            _check_labels(labels, where, label_names, unlabelled=split in unlabelled or split == "unsup"),
        )
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
        table = loaded[theirs]
        texts, labels = _columns(table, f"{spec.hub_id}[{theirs}]", spec.text_fields)
        where = f"{spec.hub_id}[{theirs}]"
        splits[ours] = Split(_check_texts(texts, where),
                             _check_labels(labels, where, list(spec.label_names), ours in spec.unlabelled_splits))
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
    fingerprint = content_hash(splits, label_names)
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
