"""Student inputs: one integer-id vocabulary per dataset view (keras TextVectorization adapted on train), computed
once and cached, so every backend trains on the very same ids.

Texts are read, adapted on and tokenised in batches, and each split's ids are appended to a `.npy` file as they
come, so the cache of a million-row split is built holding one batch; readers map the files (`np.load(mmap_mode)`)
and stream them (`engine/batches.py`) rather than load them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kdsuite import store
from kdsuite.data.datasets import TextColumn, TextDataset

STANDARDIZE = "lower_and_strip_punctuation"
BATCH_ROWS = 8192  # texts adapted on / tokenised per call


@dataclass
class Tokens:
    ids: dict[str, np.ndarray]  # split -> int32 [rows, seq_len], memory-mapped; 0 = padding, 1 = out of vocabulary
    vocabulary: list[str]
    key: str
    empty_rows: dict[str, int]  # rows per split whose ids are all padding: their text standardised to no token
    # (`. . .`); they carry no signal, and a student that averages over its tokens must not divide by their zero count

    @property
    def seq_len(self) -> int:
        return next(iter(self.ids.values())).shape[1]


def _write_ids(path: Path, vectorizer, column: TextColumn, seq_len: int) -> int:
    """Tokenise `column` batch by batch into the `.npy` file `path` (plain writes, no map held); its empty rows."""
    empty = 0
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": np.dtype("<i4").str, "fortran_order": False, "shape": (len(column), seq_len)})
        for batch in column.batches(BATCH_ROWS):
            ids = np.asarray(vectorizer(batch.astype(str)), dtype="<i4")
            empty += int(np.count_nonzero(~ids.any(axis=1)))
            f.write(ids.tobytes())
    return empty


def tokenize(ds: TextDataset, vocab_size: int, seq_len: int,
             extra: dict[str, np.ndarray | TextColumn] | None = None) -> Tokens:
    """Ids for every split of `ds` (and any `extra` named texts: arrays or columns), cached by content."""
    extra = extra or {}
    columns = {name: split.column for name, split in ds.splits.items()} | {
        name: texts if isinstance(texts, TextColumn) else TextColumn.of(texts) for name, texts in extra.items()}
    extra_hash = store.key(**{name: store.text_hash(texts) for name, texts in extra.items()})
    cache_key = store.key(data=ds.view_fingerprint, vocab=vocab_size, seq_len=seq_len, std=STANDARDIZE,
                          extra=extra_hash)
    folder = store.cache_root() / "tokens" / f"{ds.name}-{cache_key}"

    def compute(tmp: Path) -> None:
        import keras

        vectorizer = keras.layers.TextVectorization(
            max_tokens=vocab_size, output_sequence_length=seq_len, standardize=STANDARDIZE)
        # token counts add up batch by batch, and the vocabulary is sorted by (count, token): the same as one call
        vectorizer.adapt(batch.astype(str) for batch in columns["train"].batches(BATCH_ROWS))
        empty = {name: _write_ids(tmp / f"{name}.npy", vectorizer, column, seq_len) for name, column in columns.items()}
        (tmp / "tokens.json").write_text(json.dumps({"vocabulary": vectorizer.get_vocabulary(), "empty_rows": empty}))

    folder = store.cached_folder(folder, compute)
    meta = json.loads((folder / "tokens.json").read_text())
    ids = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in columns}
    return Tokens(ids, meta["vocabulary"], cache_key, meta["empty_rows"])
