"""The scikit-learn family: NLTK-cleaned TF-IDF + logistic regression, tuned on validation, as the strong classic
baseline row and as a teacher (`tfidf-logreg`, its log-probabilities as logits).

Like MTEB's BM25, the classic model is just another model: it fits in seconds to minutes on a CPU, sees the
whole document (a transformer fine-tuned here truncates its input), and can label any text, so it teaches
where a CPU-scale transformer is weak. The grid (n-gram range x inverse regularisation C) is searched on the
validation split, the same split students use for early stopping, and the chosen pipeline is refitted on train.
"""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from kdsuite import store
from kdsuite.data.datasets import TextDataset
from kdsuite.data.preprocess import clean_all
from kdsuite.metrics import classification_metrics
from kdsuite.teachers import register_teacher
from kdsuite.teachers.base import median_ms

NGRAMS = ((1, 1), (1, 2))
CS = (0.25, 1.0, 4.0, 16.0, 64.0, 256.0)
PARAM_NOTE = "logistic-regression weights + biases + TF-IDF idf vector (one per vocabulary term)"


def fit(x_train, y_train, ngram, c, seed):
    """The TF-IDF vectorizer and logistic regression fitted on cleaned texts."""
    vectorizer = TfidfVectorizer(ngram_range=ngram, min_df=2, sublinear_tf=True)
    model = LogisticRegression(C=c, max_iter=1000, random_state=seed)
    model.fit(vectorizer.fit_transform(x_train), y_train)
    return vectorizer, model


def tune(x_train, y_train, x_val, y_val, seed: int = 0, ngrams=NGRAMS, cs=CS) -> tuple[dict, list[dict]]:
    """(best, grid): validation accuracy of every (n-gram range, C) on cleaned texts; best = the highest."""
    grid = []
    for ngram in ngrams:
        vectorizer = TfidfVectorizer(ngram_range=ngram, min_df=2, sublinear_tf=True)
        x_fit, x_check = vectorizer.fit_transform(x_train), vectorizer.transform(x_val)
        for c in cs:
            model = LogisticRegression(C=c, max_iter=1000, random_state=seed).fit(x_fit, y_train)
            accuracy = float((model.predict(x_check) == y_val).mean())
            grid.append({"ngram_range": list(ngram), "C": c, "val_accuracy": accuracy})
    return max(grid, key=lambda g: g["val_accuracy"]), grid


def param_count(vectorizer, model) -> int:
    return int(model.coef_.size + model.intercept_.size + vectorizer.idf_.size)


def run_baseline(ds: TextDataset, seed: int = 0, ngrams=NGRAMS, cs=CS) -> dict:
    """Tune on validation, refit on train, evaluate on test. Returns a JSON-ready result."""
    t0 = time.perf_counter()
    clean = {s: clean_all(ds.splits[s].texts) for s in ("train", "validation", "test")}
    clean_s = time.perf_counter() - t0
    y = {s: ds.splits[s].labels for s in clean}
    best, grid = tune(clean["train"], y["train"], clean["validation"], y["validation"], seed, ngrams, cs)

    t1 = time.perf_counter()
    vectorizer, model = fit(clean["train"], y["train"], tuple(best["ngram_range"]), best["C"], seed)
    fit_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    pred = model.predict(vectorizer.transform(clean["test"]))
    predict_s = time.perf_counter() - t2
    params = param_count(vectorizer, model)
    return {
        "model": "tfidf-logreg",
        "kind": "baseline",
        "dataset": ds.name,
        "data_source": ds.source,
        "data_fingerprint": ds.fingerprint,
        "data_recipe": ds.recipe,
        "train_rows": len(ds.splits["train"]),
        "seed": seed,
        "config": {"ngram_range": best["ngram_range"], "C": best["C"], "min_df": 2, "sublinear_tf": True},
        "tuning": {"selected_on": "validation accuracy", "grid": grid},
        "param_count": params,
        "param_count_note": PARAM_NOTE,
        "vocabulary_size": int(vectorizer.idf_.size),
        "test": classification_metrics(y["test"], pred, ds.label_names),
        "times_s": {"clean": round(clean_s, 2), "fit": round(fit_s, 2), "tune_total": round(t1 - t0, 2),
                    "predict_test": round(predict_s, 3)},
        "predict_rows_per_s": round(len(pred) / predict_s, 1) if predict_s else None,
        "commit": store.git_commit(),
    }


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
        texts = x["text"]
        return median_ms(lambda i: self.model.predict_log_proba(self.vectorizer.transform([texts[i % len(texts)]])),
                         min(rows, len(texts)))


@register_teacher("tfidf-logreg", family="sklearn",
                  description="TF-IDF + logistic regression (the tuned baseline), log-probabilities as logits")
def tfidf_logreg(*, label_names: list[str], max_length: int, name: str = "tfidf-logreg") -> TfidfTeacher:
    return TfidfTeacher(label_names=label_names, max_length=max_length, name=name)
