"""Student inputs: one integer-id vocabulary per dataset view (keras TextVectorization adapted on train),
computed once and cached as int32 arrays, so every backend trains on the very same ids."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kdsuite import store
from kdsuite.data.datasets import TextDataset

STANDARDIZE = "lower_and_strip_punctuation"


@dataclass
class Tokens:
    ids: dict[str, np.ndarray]  # split -> int32 [rows, seq_len]; 0 = padding, 1 = out of vocabulary
    vocabulary: list[str]
    key: str

    @property
    def seq_len(self) -> int:
        return next(iter(self.ids.values())).shape[1]

    @property
    def empty_rows(self) -> dict[str, int]:
        """Rows per split whose ids are all padding: their text standardised to no token (`. . .`). They carry
        no signal, and a student that averages over its tokens must not divide by their count of zero."""
        return {name: int(np.count_nonzero(~ids.any(axis=1))) for name, ids in self.ids.items()}


def tokenize(ds: TextDataset, vocab_size: int, seq_len: int, extra: dict[str, np.ndarray] | None = None) -> Tokens:
    """Ids for every split of `ds` (and any `extra` named text arrays), cached by content."""
    extra = extra or {}
    texts = {name: split.texts for name, split in ds.splits.items()} | extra
    extra_hash = store.key(**{name: store.text_hash(arr) for name, arr in extra.items()})
    cache_key = store.key(data=ds.view_fingerprint, vocab=vocab_size, seq_len=seq_len, std=STANDARDIZE,
                          extra=extra_hash)
    path = store.cache_root() / "tokens" / f"{ds.name}-{cache_key}.npz"

    def compute(tmp: Path) -> None:
        import keras

        vectorizer = keras.layers.TextVectorization(
            max_tokens=vocab_size, output_sequence_length=seq_len, standardize=STANDARDIZE)
        vectorizer.adapt(ds.splits["train"].texts.astype(str))
        arrays = {f"ids_{name}": np.asarray(vectorizer(arr.astype(str)), dtype=np.int32)
                  for name, arr in texts.items()}
        with open(tmp, "wb") as f:
            np.savez(f, vocabulary=np.array(vectorizer.get_vocabulary()), **arrays)

    with np.load(store.cached(path, compute)) as npz:
        ids = {name[4:]: npz[name] for name in npz.files if name.startswith("ids_")}
        return Tokens(ids, npz["vocabulary"].tolist(), cache_key)
