"""The classic NLTK text cleaning used by the TF-IDF baseline: lower-case, word_tokenize, keep
alphabetic tokens, drop English stopwords. NLTK data comes from $NLTK_DATA or, online, a download."""

from __future__ import annotations

from functools import lru_cache

from kdsuite.errors import KdsuiteError

NLTK_PACKAGES = {"stopwords": "corpora/stopwords", "punkt_tab": "tokenizers/punkt_tab"}


def ensure_nltk(*packages: str) -> None:
    """Find NLTK data packages locally, else try to download them, else fail with one line."""
    import nltk

    for package in packages:
        resource = NLTK_PACKAGES.get(package, f"corpora/{package}")
        try:
            nltk.data.find(resource)
            continue
        except LookupError:
            pass
        if not nltk.download(package, quiet=True, raise_on_error=False):
            raise KdsuiteError(
                f"NLTK data {package!r} not found and could not be downloaded; set NLTK_DATA to a folder "
                f"holding {resource} (e.g. ../shared/nltk_data)"
            )


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    ensure_nltk("stopwords")
    from nltk.corpus import stopwords

    return frozenset(stopwords.words("english"))


def nltk_clean(text: str) -> str:
    """Lower-case, tokenise with NLTK, keep alphabetic non-stopword tokens; returns them space-joined."""
    from nltk.tokenize import word_tokenize

    stop = stopwords()
    return " ".join(t for t in word_tokenize(text.lower()) if t.isalpha() and t not in stop)


def clean_all(texts) -> list[str]:
    ensure_nltk("stopwords", "punkt_tab")
    return [nltk_clean(t) for t in texts]
