"""The tuned TF-IDF + logistic regression baseline as a teacher: its log-probabilities are the logits.

Like MTEB's BM25, the classic model is just another model: it fits in seconds to minutes on a CPU, sees the
whole document (a transformer fine-tuned here truncates at 64-128 tokens), and can label any text, so it
teaches where a CPU-scale transformer is weak. On IMDb it scores 89.3% against MiniLM-L6's 84.3% at 128
tokens. The n-gram range and C are chosen on validation, exactly as for the `tfidf-logreg` baseline row.
"""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import numpy as np

from suite import store
from suite.baseline import fit, param_count, tune
from suite.preprocess import clean_all
from teachers import register_teacher

MODEL_FILE = "tfidf-logreg.pkl"


class TfidfTeacher:
    """NLTK-cleaned TF-IDF features and a logistic regression, tuned on validation, fitted on train."""

    family = "sklearn"
    trainable = True
    fit_options = ("seed",)
    cache_encoding = False  # cleaned text, recomputed in seconds; token caches are for transformer tokenisers

    def __init__(self, *, label_names: list[str], max_length: int, name: str = "tfidf-logreg"):
        self.name, self.label_names = name, list(label_names)
        self.vectorizer = self.model = None

    def config(self) -> dict:
        return {"family": self.family, "teacher": self.name}

    def count_params(self) -> int:
        return param_count(self.vectorizer, self.model)

    def encode(self, texts) -> dict[str, np.ndarray]:
        return {"text": np.array(clean_all(texts), dtype=object)}

    def fit(self, train: tuple[dict, np.ndarray], validation: tuple[dict, np.ndarray], workdir: Path, *,
            seed: int = 0, verbose: int | str = "auto") -> dict:
        """Tune the n-gram range and C on validation, refit on train, keep the pipeline in `workdir`."""
        (x, y), (vx, vy) = train, validation
        best, grid = tune(list(x["text"]), y, list(vx["text"]), vy, seed)
        self.vectorizer, self.model = fit(list(x["text"]), y, tuple(best["ngram_range"]), best["C"], seed)
        with store.atomic_path(Path(workdir) / MODEL_FILE) as tmp:
            tmp.write_bytes(pickle.dumps((self.vectorizer, self.model)))
        return {"selected_on": "validation accuracy", "best": best, "grid": grid}

    def restore(self, workdir: Path) -> bool:
        """Load the pipeline a `fit` kept in `workdir`; False when there is none."""
        path = Path(workdir) / MODEL_FILE
        if not path.is_file():
            return False
        self.vectorizer, self.model = pickle.loads(path.read_bytes())
        return True

    def predict(self, x: dict[str, np.ndarray], batch_size: int = 4096) -> np.ndarray:
        """Log-probabilities [N, K] (float32): softmax of them gives back the model's probabilities."""
        out = np.zeros((len(x["text"]), len(self.label_names)), np.float32)
        for start in range(0, len(out), batch_size):
            rows = list(x["text"][start:start + batch_size])
            out[start:start + len(rows)] = self.model.predict_log_proba(self.vectorizer.transform(rows))
        return out

    def latency_ms(self, x: dict[str, np.ndarray], rows: int = 20) -> float:
        """Median milliseconds to classify one cleaned row (batch of 1, after warm-up)."""
        times = []
        for i in range(min(rows, len(x["text"])) + 3):
            start = time.perf_counter()
            self.model.predict_log_proba(self.vectorizer.transform([x["text"][i % len(x["text"])]]))
            times.append(time.perf_counter() - start)
        return float(np.median(times[3:]) * 1000)


@register_teacher("tfidf-logreg", family="sklearn",
                  description="TF-IDF + logistic regression (the tuned baseline), log-probabilities as logits")
def tfidf_logreg(*, label_names: list[str], max_length: int, name: str = "tfidf-logreg") -> TfidfTeacher:
    return TfidfTeacher(label_names=label_names, max_length=max_length, name=name)
