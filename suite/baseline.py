"""The strong classic baseline: NLTK-cleaned TF-IDF + logistic regression, tuned on validation.

The grid (n-gram range x inverse regularisation C) is searched on the validation split, the same split
students use for early stopping, and the chosen pipeline is refitted on train only.
"""

from __future__ import annotations

import time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from suite.data import TextDataset
from suite.metrics import classification_metrics
from suite.store import git_commit
from suite.preprocess import clean_all

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


def tfidf_logreg(ds: TextDataset, seed: int = 0, ngrams=NGRAMS, cs=CS) -> dict:
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
        "commit": git_commit(),
    }
