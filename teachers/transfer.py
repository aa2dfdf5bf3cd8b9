"""Transfer sets: extra text the teacher labels and the student learns from through the KD term only.

Specs (`config.parse_transfer`), one source or several joined by '+' (`unsup+tang:10`):
    unsup[:N]   the dataset's unlabelled split (IMDb `unsup`), first N rows; its logits come with the teacher's
    unused      rows of the full train split left out by --train-fraction/--max-train, labels hidden
    tang:N      N augmented copies of the training texts (Tang et al.), see data/augment.py
    eda:N       N EDA synonym-replacement copies
    DATASET.SPLIT[:N]  the first N texts of a registered dataset's split (`imdb.unsup:20000`: movie reviews as
                extra sentiment text for Amazon), labels unused; the teacher labels them as it labels copies

A text that occurs twice in the set (an augmented copy equal to another, a repeated unlabelled review) is kept
once; how many were dropped is recorded. The set's texts are a `TextColumn`: file-backed sources (`unsup`,
`unused`) stay in their files and are read in batches (duplicates are found in one such pass, a 16-byte digest
per row), so the student fit streams them; augmented texts are generated in memory.

Augmented and other datasets' texts are made in memory (augmented ones deterministically from the seed); their
teacher logits are computed once from the fine-tuned teacher's checkpoint and cached (and may be committed beside
the teacher's logits); an ensemble's student members' logits are cached the same way, by model file.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from kdsuite import store
from kdsuite.config import foreign_split, parse_transfer
from kdsuite.data.augment import augment
from kdsuite.data.datasets import DATASETS, TextColumn, TextDataset, load_dataset
from kdsuite.errors import KdsuiteError
from kdsuite.teachers import ensemble, is_ensemble
from kdsuite.teachers.logit_store import COMMITTED, teacher_id
from kdsuite.teachers.runs import finetuned_teacher, load_teacher_logits


class TransferSet(NamedTuple):
    texts: TextColumn  # streamed from their files where the sources are file-backed (`unsup`, `unused`)
    logits: np.ndarray  # the teacher's, row-aligned with texts
    replaced: int = 0  # augmented copies left with no token after standardisation, replaced by their source text
    duplicates: int = 0  # texts met a second time, dropped


def transfer_set(ds: TextDataset, teacher: str, spec: str, seed: int = 0, data_dir: str | None = None) -> TransferSet:
    """The texts (a `TextColumn`, read from their files in batches where they have one) and teacher logits of
    the transfer set `spec` for `ds`, each distinct text once; `data_dir` is where other datasets are read."""
    sources = parse_transfer(spec)
    for kind, _ in sources:  # before any labelling: its validation and test texts choose and measure the student
        if (foreign_split(kind) or ("",))[0] == ds.name:
            raise KdsuiteError(f"transfer {kind!r}: DATASET.SPLIT is another dataset's text; {ds.name}'s own is "
                               f"'unsup' or 'unused'")
    parts = [_source(ds, teacher, kind, n, seed, data_dir) for kind, n in sources]
    texts = _joined([p.texts for p in parts])
    keep = _first_occurrences(texts)
    logits = np.concatenate([p.logits for p in parts])
    duplicates = len(texts) - len(keep)
    return TransferSet(texts.take(keep) if duplicates else texts, logits[keep], sum(p.replaced for p in parts),
                       duplicates)


def _joined(columns: list[TextColumn]) -> TextColumn:
    """One column of `columns` in turn, still unread."""
    if len(columns) == 1:
        return columns[0]
    return TextColumn(lambda n: itertools.chain.from_iterable(c.batches(n) for c in columns),
                      sum(map(len, columns)), "+".join(c.source for c in columns))


def _head(column: TextColumn, n: int) -> TextColumn:
    """The first `n` rows of `column`, still unread (its reading stops there)."""
    if n >= len(column):
        return column

    def read(rows: int):
        left = n
        for batch in column.batches(rows):
            yield batch[:left]
            left -= len(batch)
            if left <= 0:
                return

    return TextColumn(read, n, column.source)


def _first_occurrences(texts) -> np.ndarray:
    """Indices of each distinct text's first occurrence, in order, in one streaming pass over `texts` (a
    `TextColumn` or an array); texts are compared by a 128-bit digest, so memory stays one 16-byte digest per row
    (a fixed-width string copy for `np.unique` would be ~4 KB per row)."""
    column = texts if isinstance(texts, TextColumn) else TextColumn.of(texts)
    digests = np.empty((len(column), 16), dtype=np.uint8)
    i = 0
    for batch in column.batches():
        joined = b"".join(hashlib.blake2b(str(text).encode("utf-8", "surrogatepass"), digest_size=16).digest()
                          for text in batch)
        digests[i:i + len(batch)] = np.frombuffer(joined, np.uint8).reshape(-1, 16)
        i += len(batch)
    if i != len(digests):
        raise KdsuiteError(f"transfer set: read {i} texts of {len(digests)}")
    words = digests.view(np.uint64)  # [rows, 2]
    order = np.lexsort((words[:, 1], words[:, 0]))  # stable: equal digests keep their rows' order
    ranked = words[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (ranked[1:] != ranked[:-1]).any(axis=1)
    return np.sort(order[first])


def _source(ds: TextDataset, teacher: str, kind: str, n: int | None, seed: int, data_dir: str | None) -> TransferSet:
    if foreign_split(kind):
        return _foreign(ds, teacher, kind, n, data_dir)
    if kind == "unsup":
        if "unsup" not in ds.splits:
            raise KdsuiteError(f"transfer 'unsup': {ds.name} has no unlabelled split")
        logits, n = load_teacher_logits(teacher, ds)["unsup"], n or len(ds.splits["unsup"])
        if len(logits) < min(n, len(ds.splits["unsup"])):
            raise KdsuiteError(f"transfer 'unsup:{n}': {teacher}'s logits cover only the first {len(logits)} unsup "
                               f"rows; export more with `kdsuite teacher {ds.name} --unlabelled-rows {n}`")
        texts = _head(ds.splits["unsup"].column, n)
        return TransferSet(texts, logits[:len(texts)])
    if kind == "unused":
        full = load_teacher_logits(teacher, ds)["train"]
        rest = np.setdiff1d(np.arange(len(full)), ds.train_index)
        if ds.full_train is None or not len(rest):
            raise KdsuiteError("transfer 'unused': every training row is labelled (set --train-fraction/--max-train)")
        return TransferSet(ds.full_train.column.take(rest), full[rest])
    texts, replaced = augment(ds.splits["train"].texts, kind, copies=n, seed=seed, return_replaced=True)
    return TransferSet(TextColumn.of(texts), augmented_logits(ds, teacher, f"{kind}:{n}", seed, texts), replaced)


def _foreign(ds: TextDataset, teacher: str, kind: str, n: int | None, data_dir: str | None) -> TransferSet:
    """The first `n` texts of another registered dataset's split, labelled by the teacher of `ds`."""
    name, split = foreign_split(kind)
    if name not in DATASETS:
        raise KdsuiteError(f"transfer {kind!r}: {name!r} is not a registered dataset ({', '.join(DATASETS)})")
    other = load_dataset(name, data_dir)
    if split not in other.splits:
        raise KdsuiteError(f"transfer {kind!r}: {name} has no split {split!r} ({', '.join(other.splits)})")
    column = other.splits[split].column
    texts = np.concatenate(list(_head(column, n or len(column)).batches()))
    spec = kind + (f":{n}" if n else "")
    return TransferSet(TextColumn.of(texts), augmented_logits(ds, teacher, spec, 0, texts))


def _committed_path(ds: TextDataset, teacher: str, spec: str, seed: int) -> Path:
    return COMMITTED / f"{ds.name}__{teacher_id(teacher)}__{spec.replace(':', '')}-s{seed}.npz"


def augmented_logits(ds: TextDataset, teacher: str, spec: str, seed: int, texts: np.ndarray) -> np.ndarray:
    """Teacher logits for augmented `texts`: committed copy, else cache, else the teacher's checkpoint. An
    ensemble combines its members' logits, each teacher member's found the same way (so a member whose
    checkpoint is gone still serves from its committed or cached copy); a student member runs its model."""
    if is_ensemble(teacher):
        return _ensemble_logits(ds, teacher, spec, seed, texts)
    th = store.text_hash(texts)
    committed = _committed_path(ds, teacher, spec, seed)
    if committed.is_file():
        meta = json.loads(committed.with_suffix(".json").read_text())
        if meta.get("text_hash") == th:
            with np.load(committed) as f:
                return f["logits"].astype(np.float32)
    path = store.cache_root() / "transfer" / teacher_id(teacher) / f"{ds.name}-{th}.npz"

    def compute(tmp: Path) -> None:
        logits = label_texts(ds, teacher, texts)
        with open(tmp, "wb") as f:
            np.savez(f, logits=logits)

    with np.load(store.cached(path, compute)) as f:
        return f["logits"]


def _ensemble_logits(ds: TextDataset, teacher: str, spec: str, seed: int, texts: np.ndarray) -> np.ndarray:
    weights = ensemble.build(teacher, ds)["fit"]["weights"]
    members, _ = ensemble.parse(teacher)
    logps = []
    for m in members:
        if m.kind == "student":
            logits = _student_logits(ds, m, texts)
        else:
            ensemble.student_labeller(m, ds.label_names)  # refuses a logits file: it cannot label new text
            logits = augmented_logits(ds, m.spec, spec, seed, texts)
        logps.append({"rows": ensemble.log_softmax(logits)})
    return ensemble.combine(logps, [weights[m.spec] for m in members], ["rows"])["rows"]


def _student_logits(ds: TextDataset, member: ensemble.Member, texts: np.ndarray) -> np.ndarray:
    """A student member's logits for `texts`, cached by its model file and the texts: every kd+transfer cell of
    a grid whose teacher has that member reads them once labelled (the model is loaded only to label)."""
    model_file = Path(member.path) / "student_text.keras"
    model_hash = hashlib.sha256(model_file.read_bytes()).hexdigest()[:16] if model_file.is_file() else "none"
    path = store.cache_root() / "transfer" / "students" / f"{ds.name}-{model_hash}-{store.text_hash(texts)}.npz"

    def compute(tmp: Path) -> None:
        model = ensemble.student_labeller(member, ds.label_names)
        with open(tmp, "wb") as f:
            np.savez(f, logits=model.predict(model.encode(texts)))

    with np.load(store.cached(path, compute)) as f:
        return f["logits"]


def label_texts(ds: TextDataset, teacher: str, texts: np.ndarray) -> np.ndarray:
    """Run the fine-tuned teacher (best checkpoint of its cached run on `ds`) on new texts."""
    model = finetuned_teacher(ds, teacher)
    return model.predict(model.encode(texts))
