"""Transfer text for distillation: augmented copies of the training texts, deterministic per seed.

- `tang`: Tang et al. (2019) — per token, with p_mask replace it by a mask token, else with p_syn by a
  WordNet synonym (their POS-guided swap needs a POS tagger; WordNet synonyms keep the part of speech in
  practice); then with p_ngram keep only a random n-gram (n = 1..5) of the example.
- `eda`: EDA-style synonym replacement (Wei & Zou, 2019) — replace round(alpha * len) non-stopword tokens
  by a WordNet synonym.

The teacher labels these texts; the student sees them as unlabelled rows (label -1) that only feed the KD
term. Unlabelled in-domain text (IMDb `unsup`) is used as is.

A copy the students' standardisation strips to nothing (Tang's n-gram step keeping a lone `.` or `-`) would be
all padding ids: it is replaced by its source text, and `augment(..., return_replaced=True)` says how many were.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from kdsuite.config import AUGMENTATIONS as METHODS
from kdsuite.data.datasets import no_tokens
from kdsuite.data.preprocess import ensure_nltk

MASK = "[UNK]"  # BERT's unknown token for the teacher; an out-of-vocabulary word for the students


@lru_cache(maxsize=None)
def synonyms(word: str) -> tuple[str, ...]:
    """Single-word WordNet synonyms of `word` (lower-case, excluding the word itself)."""
    from nltk.corpus import wordnet

    names = {lemma.name().lower() for syn in wordnet.synsets(word) for lemma in syn.lemmas()}
    return tuple(sorted(n for n in names if n.isalpha() and n != word))


def _tang(tokens: list[str], rng: np.random.Generator, p_mask: float, p_syn: float, p_ngram: float) -> list[str]:
    out = []
    for tok in tokens:
        r = rng.random()
        if r < p_mask:
            out.append(MASK)
        elif r < p_mask + p_syn and synonyms(tok.lower()):
            options = synonyms(tok.lower())
            out.append(options[rng.integers(len(options))])
        else:
            out.append(tok)
    if len(out) > 1 and rng.random() < p_ngram:
        n = int(rng.integers(1, min(5, len(out)) + 1))
        start = int(rng.integers(0, len(out) - n + 1))
        out = out[start:start + n]
    return out


def _eda(tokens: list[str], rng: np.random.Generator, alpha: float, stop: frozenset[str]) -> list[str]:
    out = list(tokens)
    candidates = [i for i, t in enumerate(out) if t.lower() not in stop and synonyms(t.lower())]
    for i in rng.permutation(candidates)[:max(1, round(alpha * len(out)))]:
        options = synonyms(out[i].lower())
        out[i] = options[rng.integers(len(options))]
    return out


def augment(texts, method: str = "tang", copies: int = 1, seed: int = 0, p_mask: float = 0.1,
            p_syn: float = 0.1, p_ngram: float = 0.25, alpha: float = 0.1,
            return_replaced: bool = False) -> np.ndarray | tuple[np.ndarray, int]:
    """`copies` augmented versions of every text (copy-major order), as an object array; with `return_replaced`,
    (that array, how many copies had no token left and were replaced by their source text)."""
    if method not in METHODS:
        raise ValueError(f"augmentation must be one of {METHODS}, got {method!r}")
    ensure_nltk("wordnet")
    stop = frozenset()
    if method == "eda":
        from kdsuite.data.preprocess import stopwords

        stop = stopwords()
    rng = np.random.default_rng(seed)
    out, replaced = [], 0
    for _ in range(copies):
        for text in texts:
            tokens = str(text).split()
            new = _tang(tokens, rng, p_mask, p_syn, p_ngram) if method == "tang" else _eda(tokens, rng, alpha, stop)
            copy = " ".join(new)
            if no_tokens(copy):  # same random draws either way: other copies do not move
                copy, replaced = str(text), replaced + 1
            out.append(copy)
    out = np.array(out, dtype=object)
    return (out, replaced) if return_replaced else out
