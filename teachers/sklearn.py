"""The scikit-learn family: linear models on n-gram counts, tuned on validation, as the strong classic baseline
rows and as teachers (their log-probabilities as logits).

- `tfidf-logreg`: NLTK tokens (lower-cased, `n't` -> `not`, alphabetic only), TF-IDF, multinomial logistic
  regression.
- `nbsvm`: Wang & Manning (2012) on raw words: binary n-gram counts (tokens `\\b\\w+\\b` plus `!` and `?`,
  `<br />` removed, lower-cased) scaled by the log-count ratio of each class against the rest (add-one
  smoothing), a logistic regression (liblinear) on top; one-vs-rest for more than two classes, their
  sigmoid scores normalised into probabilities (as scikit-learn does for one-vs-rest).

Like MTEB's BM25, the classic model is just another model: it fits in seconds to minutes on a CPU, sees the
whole document (a transformer fine-tuned here truncates its input), and can label any text, so it teaches
where a CPU-scale transformer is weak. Every choice in its grid (stopword list, n-gram range, sublinear tf, C)
is made on the validation split, the same split students use for early stopping: among the grid points within
one standard error of the best validation accuracy (closer than that is noise: 0.5 points on 2,500 rows), the
lowest validation log-loss (`select`), which also favours the better-calibrated soft targets a student learns
from; the chosen pipeline is refitted on train.

Stopword lists, applied to the token stream before n-grams are formed: `none`; `nltk` (NLTK's English list,
which drops not/no/nor, the n't forms and what/who/when/where/which/how); `nltk-lite` (NLTK's list without
`LABEL_WORDS`, the negations and their n't forms).

Refits are cheap, so these teachers also give out-of-fold logits (`oof_predict`): the vocabulary learnt on all
training rows is kept (no labels involved), while idf, log-count ratios and weights are refitted on k-1 folds.
"""

from __future__ import annotations

import itertools
import pickle
import re
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import sparse

from kdsuite import store
from kdsuite.data.datasets import TextDataset
from kdsuite.errors import KdsuiteError
from kdsuite.metrics import classification_metrics
from kdsuite.teachers import register_teacher
from kdsuite.teachers.base import median_ms

MIN_DF = 2  # an n-gram must occur in two training documents to become a feature
CS = (0.25, 1.0, 4.0, 16.0, 64.0, 256.0)
STOPWORDS = ("none", "nltk", "nltk-lite")
# kept by `nltk-lite`: words that carry a label (negation, contrast, degree, questions); NLTK's list drops them
LABEL_WORDS = frozenset({"not", "no", "nor", "against", "but", "very", "too", "only", "few", "more", "most",
                         "what", "which", "who", "whom", "when", "where", "why", "how"})
GRIDS = {  # searched on validation; module-level so a test can shrink them
    "tfidf-logreg": {"stopwords": STOPWORDS, "ngram_range": ((1, 1), (1, 2)), "sublinear_tf": (True, False),
                     "C": CS},
    "nbsvm": {"stopwords": STOPWORDS, "ngram_range": ((1, 2), (1, 3)), "C": (0.1, 0.3, 1.0, 3.0)},
}
PARAM_NOTES = {
    "tfidf-logreg": "logistic-regression weights + biases + TF-IDF idf vector (one per vocabulary term)",
    "nbsvm": "logistic-regression weights (log-count ratios folded in; one per term and one-vs-rest classifier) "
             "+ biases",
}
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def stopword_list(choice: str) -> list[str] | None:
    """The stopwords removed under `choice` (one of STOPWORDS); None for `none`."""
    from kdsuite.data.preprocess import stopwords

    if choice not in STOPWORDS:
        raise ValueError(f"stopwords {choice!r}: expected one of {STOPWORDS}")
    if choice == "none":
        return None
    stop = set(stopwords())
    if choice == "nltk-lite":
        negations = {w for w in stop if w.endswith("n't")} | {"ain"}
        negations |= {w[:-2] for w in negations if w.endswith("n't")}  # don (from don't), didn, ...
        stop -= LABEL_WORDS | negations
    return sorted(stop)


def nltk_tokens(texts) -> list[str]:
    """NLTK tokens for TF-IDF of any iterable of texts (a `TextColumn` streams): lower-cased, `<br />` removed,
    `n't` -> `not`, alphabetic tokens only; no stopword is removed here (that is a choice of the grid)."""
    from nltk.tokenize import word_tokenize

    from kdsuite.data.preprocess import ensure_nltk

    ensure_nltk("stopwords", "punkt_tab")
    out = []
    for text in texts:
        tokens = ("not" if t == "n't" else t for t in word_tokenize(_BR.sub(" ", str(text)).lower()))
        out.append(" ".join(t for t in tokens if t.isalpha()))
    return out


def raw_words(texts) -> list[str]:
    """Text for NBSVM of any iterable of texts: lower-cased, `<br />` removed; the vectorizer's pattern picks the
    words, `!` and `?`."""
    return [_BR.sub(" ", str(text)).lower() for text in texts]


KINDS = {  # how each model turns texts into features: its encoder, token pattern and count type
    "tfidf-logreg": {"encode": nltk_tokens, "token_pattern": r"\S+", "binary": False, "tokens": "nltk"},
    "nbsvm": {"encode": raw_words, "token_pattern": r"\b\w+\b|[!?]", "binary": True, "tokens": r"\b\w+\b|[!?]"},
}


def _counter(kind: str, stopwords: str, ngram_range):
    from sklearn.feature_extraction.text import CountVectorizer

    spec = KINDS[kind]
    return CountVectorizer(token_pattern=spec["token_pattern"], lowercase=False, binary=spec["binary"],
                           ngram_range=tuple(ngram_range), min_df=MIN_DF, stop_words=stopword_list(stopwords),
                           dtype=np.float64)


class TfidfHead:
    """TF-IDF weighting of counts, then a multinomial logistic regression (lbfgs)."""

    def __init__(self, C: float, sublinear_tf: bool, seed: int = 0):
        self.C, self.sublinear_tf, self.seed = C, sublinear_tf, seed

    def fit(self, counts, y, num_classes: int) -> "TfidfHead":
        from sklearn.feature_extraction.text import TfidfTransformer
        from sklearn.linear_model import LogisticRegression

        _check_classes(y, num_classes)
        self.tfidf = TfidfTransformer(sublinear_tf=self.sublinear_tf).fit(counts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at large C on tiny data
            self.model = LogisticRegression(C=self.C, max_iter=1000, random_state=self.seed)
            self.model.fit(self.tfidf.transform(counts), y)
        return self

    def log_proba(self, counts) -> np.ndarray:
        """log-softmax of the decision scores: finite where predict_log_proba would give log(0) = -inf."""
        scores = self.model.decision_function(self.tfidf.transform(counts))
        return _log_softmax(np.c_[np.zeros_like(scores), scores] if scores.ndim == 1 else scores)

    def param_count(self) -> int:
        return int(self.model.coef_.size + self.model.intercept_.size + self.tfidf.idf_.size)


class NBHead:
    """NBSVM: binary counts scaled by each class's log-count ratio r = log(p/|p|1) - log(q/|q|1) (p, q: alpha +
    feature counts of the class and of the rest), a logistic regression per class (one for two classes)."""

    def __init__(self, C: float, seed: int = 0, alpha: float = 1.0):
        self.C, self.seed, self.alpha = C, seed, alpha

    def fit(self, counts, y, num_classes: int) -> "NBHead":
        from sklearn.linear_model import LogisticRegression

        _check_classes(y, num_classes)
        self.num_classes = num_classes
        counts = sparse.csr_matrix(counts)
        self.coef, self.intercept = [], []
        for c in ([1] if num_classes == 2 else range(num_classes)):
            pos = np.asarray(y) == c
            p = self.alpha + np.asarray(counts[pos].sum(0)).ravel()
            q = self.alpha + np.asarray(counts[~pos].sum(0)).ravel()
            r = np.log(p / p.sum()) - np.log(q / q.sum())
            model = LogisticRegression(C=self.C, solver="liblinear", random_state=self.seed)
            model.fit(counts @ sparse.diags(r), pos)
            self.coef.append(model.coef_.ravel() * r)  # the score is linear in the counts: fold r into the weights
            self.intercept.append(float(model.intercept_[0]))
        self.coef, self.intercept = np.stack(self.coef, 1), np.asarray(self.intercept)
        return self

    def scores(self, counts) -> np.ndarray:
        return np.asarray(sparse.csr_matrix(counts) @ self.coef) + self.intercept

    def log_proba(self, counts) -> np.ndarray:
        s = self.scores(counts)
        if self.num_classes == 2:  # log-odds of class 1: logits [0, s]
            return _log_softmax(np.concatenate([np.zeros_like(s), s], 1))
        return _log_softmax(-np.logaddexp(0, -s))  # one-vs-rest: log sigmoid per class, normalised to sum to one

    def param_count(self) -> int:
        return int(self.coef.size + self.intercept.size)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _check_classes(y, num_classes: int) -> None:
    missing = sorted(set(range(num_classes)) - set(np.unique(np.asarray(y)).tolist()))
    if missing:
        raise KdsuiteError(f"training rows hold no example of class(es) {missing}: a linear model needs every class")


def make_head(kind: str, options: dict, seed: int):
    if kind == "tfidf-logreg":
        return TfidfHead(options["C"], options["sublinear_tf"], seed)
    return NBHead(options["C"], seed)


def _head_grid(kind: str, grid: dict) -> list[dict]:
    names = [k for k in grid if k not in ("stopwords", "ngram_range")]
    return [dict(zip(names, values)) for values in itertools.product(*(grid[k] for k in names))]


class LinearText:
    """A fitted pipeline: n-gram counts over the vocabulary learnt on its training rows, then a head (TF-IDF +
    logistic regression, or NBSVM). `options` are the grid choices it was built with."""

    def __init__(self, kind: str, options: dict, counter, head, train_counts=None):
        self.kind, self.options, self.counter, self.head = kind, options, counter, head
        self.train_counts = train_counts  # counts of the rows it was fitted on (not pickled), for refits

    def __getstate__(self) -> dict:
        return {**self.__dict__, "train_counts": None}

    def counts(self, texts):
        return self.counter.transform(list(texts))

    def log_proba(self, texts) -> np.ndarray:
        return self.head.log_proba(self.counts(texts)).astype(np.float32)

    def param_count(self) -> int:
        return self.head.param_count()

    @property
    def vocabulary_size(self) -> int:
        return len(self.counter.vocabulary_)


def select(table: list[dict], val_rows: int) -> dict:
    """The grid point kept: among those within one standard error of the best validation accuracy
    (sqrt(a(1-a)/n): differences below it are noise), the lowest validation log-loss; ties to the earlier."""
    top = max(row["val_accuracy"] for row in table)
    tolerance = (top * (1 - top) / val_rows) ** 0.5
    near = [row for row in table if row["val_accuracy"] >= top - tolerance - 1e-12]
    return min(near, key=lambda row: row["val_log_loss"])


SELECTED_ON = "lowest validation log-loss within one standard error of the best validation accuracy"


def tune(kind: str, x_train, y_train, x_val, y_val, num_classes: int, seed: int = 0, grid: dict | None = None,
         refit: bool = True) -> tuple[dict, list[dict], "LinearText | None"]:
    """Validation accuracy and log-loss of every grid point; returns (chosen point (`select`), table, the
    chosen pipeline refitted on train, or None unless `refit`).

    Counts are computed once per stopword list at the widest n-gram range; narrower ranges select its columns
    (the same features, as min_df counts documents per n-gram)."""
    grid = grid or GRIDS[kind]
    lo = min(n[0] for n in grid["ngram_range"])
    hi = max(n[1] for n in grid["ngram_range"])
    heads = _head_grid(kind, grid)
    y_val = np.asarray(y_val)
    table = []
    for stop in grid["stopwords"]:
        train, val, order = _counts(kind, stop, (lo, hi), x_train, x_val)
        for ngram in grid["ngram_range"]:
            cols = np.flatnonzero((order >= ngram[0]) & (order <= ngram[1]))
            x_fit, x_check = train[:, cols].tocsr(), val[:, cols].tocsr()
            for options in heads:
                head = make_head(kind, options, seed).fit(x_fit, y_train, num_classes)
                lp = head.log_proba(x_check)
                table.append({"stopwords": stop, "ngram_range": list(ngram), **options,
                              "val_accuracy": float((lp.argmax(1) == y_val).mean()),
                              "val_log_loss": round(float(-lp[np.arange(len(y_val)), y_val].mean()), 5),
                              "features": int(len(cols))})
        del train, val
    best = select(table, len(y_val))
    if not refit:
        return best, table, None
    return best, table, fit_pipeline(kind, options_of(best), x_train, y_train, num_classes, seed)


def options_of(point: dict) -> dict:
    """The pipeline options of a grid table row (without its scores)."""
    return {k: v for k, v in point.items() if k not in ("val_accuracy", "val_log_loss", "features")}


def fit_pipeline(kind: str, options: dict, x_train, y_train, num_classes: int, seed: int = 0) -> "LinearText":
    """The pipeline with grid choices `options` fitted on (x_train, y_train)."""
    counter = _counter(kind, options["stopwords"], options["ngram_range"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counts = counter.fit_transform(list(x_train))
    head_options = {k: v for k, v in options.items() if k not in ("stopwords", "ngram_range")}
    head = make_head(kind, head_options, seed).fit(counts, y_train, num_classes)
    return LinearText(kind, options, counter, head, counts)


def _counts(kind: str, stopwords: str, ngram_range, x_train, x_val):
    """(train counts, validation counts) as CSC matrices, and each column's n-gram order."""
    counter = _counter(kind, stopwords, ngram_range)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "stop_words may be inconsistent with your preprocessing"
        train = counter.fit_transform(list(x_train)).tocsc()
        val = counter.transform(list(x_val)).tocsc()
    terms = counter.get_feature_names_out().astype(str)
    return train, val, np.char.count(terms, " ") + 1


def oof_log_proba(model: LinearText, texts, y, folds: np.ndarray, num_classes: int, seed: int = 0,
                  counts=None) -> np.ndarray:
    """Log-probabilities for rows with `folds >= 0`, each from a head with `model`'s options refitted on the
    other folds (vocabulary kept); rows with fold -1 come from `model` itself."""
    counts = model.counts(texts) if counts is None else counts
    counts = sparse.csr_matrix(counts)
    out = model.head.log_proba(counts).astype(np.float32)
    head_options = {k: v for k, v in model.options.items() if k not in ("stopwords", "ngram_range")}
    for fold in sorted(set(np.unique(folds).tolist()) - {-1}):
        held, fit_rows = folds == fold, (folds >= 0) & (folds != fold)
        head = make_head(model.kind, head_options, seed).fit(counts[fit_rows], np.asarray(y)[fit_rows], num_classes)
        out[held] = head.log_proba(counts[held])
    return out


def run_baseline(ds: TextDataset, seed: int = 0, ngrams=None, cs=None, model: str = "tfidf-logreg",
                 grid: dict | None = None) -> dict:
    """Tune on validation, refit on train, evaluate on test: the `model` baseline row (tfidf-logreg or nbsvm).
    `ngrams`/`cs` narrow the grid's n-gram ranges and C values. Returns a JSON-ready result."""
    if model not in KINDS:
        raise ValueError(f"baseline {model!r}: expected one of {', '.join(KINDS)}")
    grid = dict(grid or GRIDS[model])
    if ngrams is not None:
        grid["ngram_range"] = tuple(tuple(n) for n in ngrams)
    if cs is not None:
        grid["C"] = tuple(cs)
    t0 = time.perf_counter()
    encode = KINDS[model]["encode"]
    # iterating a split's column reads its raw texts batch by batch, never whole: only the cleaned texts are
    # kept, in memory (no larger than the raw ones; tuning fits a vectorizer on them per stopword list)
    clean = {s: encode(ds.splits[s].column) for s in ("train", "validation", "test")}
    clean_s = time.perf_counter() - t0
    y = {s: ds.splits[s].labels for s in clean}
    best, table, _ = tune(model, clean["train"], y["train"], clean["validation"], y["validation"], ds.num_classes,
                          seed, grid, refit=False)
    t1 = time.perf_counter()
    pipeline = fit_pipeline(model, options_of(best), clean["train"], y["train"], ds.num_classes, seed)
    fit_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    pred = pipeline.log_proba(clean["test"]).argmax(1)
    predict_s = time.perf_counter() - t2
    return {
        "model": model,
        "kind": "baseline",
        "dataset": ds.name,
        "data_source": ds.source,
        "data_fingerprint": ds.fingerprint,
        "data_recipe": ds.recipe,
        "train_rows": len(ds.splits["train"]),
        "seed": seed,
        "config": {**pipeline.options, "min_df": MIN_DF, "tokens": KINDS[model]["tokens"]},
        "tuning": {"selected_on": SELECTED_ON, "grid": table},
        "param_count": pipeline.param_count(),
        "param_count_note": PARAM_NOTES[model],
        "vocabulary_size": pipeline.vocabulary_size,
        "test": classification_metrics(y["test"], pred, ds.label_names),
        "times_s": {"clean": round(clean_s, 2), "fit": round(fit_s, 2), "tune_total": round(t1 - t0, 2),
                    "predict_test": round(predict_s, 3)},
        "predict_rows_per_s": round(len(pred) / predict_s, 1) if predict_s else None,
        "commit": store.git_commit(),
    }


class LinearTeacher:
    """A tuned linear text model as a teacher: `kind` names the recipe (KINDS), the grid is GRIDS[kind]."""

    kind = "tfidf-logreg"
    family = "sklearn"
    trainable = True
    fit_options = ("seed",)
    cache_encoding = False  # cleaned text, recomputed in seconds; token caches are for transformer tokenisers

    def __init__(self, *, label_names: list[str], max_length: int, name: str | None = None):
        self.name, self.label_names = name or self.kind, list(label_names)
        self.pipeline: LinearText | None = None
        self._fit_texts = None  # hash of the texts `fit` saw: their counts are kept for out-of-fold refits

    @property
    def model_file(self) -> str:
        return f"{self.kind}.pkl"

    def config(self) -> dict:
        grid = {k: [list(v) if isinstance(v, tuple) else v for v in values] for k, values in GRIDS[self.kind].items()}
        return {"family": self.family, "teacher": self.name, "model": self.kind, "tokens": KINDS[self.kind]["tokens"],
                "min_df": MIN_DF, "grid": grid, "selected_on": SELECTED_ON}

    def count_params(self) -> int:
        return self.pipeline.param_count()

    def encode(self, texts) -> dict[str, np.ndarray]:
        return {"text": np.array(KINDS[self.kind]["encode"](texts), dtype=object)}

    def fit(self, train: tuple[dict, np.ndarray], validation: tuple[dict, np.ndarray], workdir: Path, *,
            seed: int = 0, verbose: int | str = "auto") -> dict:
        """Choose stopwords, n-grams and the rest on validation, refit on train, keep the pipeline in `workdir`."""
        (x, y), (vx, vy) = train, validation
        best, table, self.pipeline = tune(self.kind, list(x["text"]), y, list(vx["text"]), vy,
                                          len(self.label_names), seed)
        self._fit_texts = store.text_hash(x["text"])
        with store.atomic_path(Path(workdir) / self.model_file) as tmp:
            tmp.write_bytes(pickle.dumps(self.pipeline))
        return {"selected_on": SELECTED_ON, "best": best, "grid": table,
                "vocabulary_size": self.pipeline.vocabulary_size}

    def restore(self, workdir: Path) -> bool:
        """Load the pipeline a `fit` kept in `workdir`; False when there is none."""
        path = Path(workdir) / self.model_file
        if not path.is_file():
            return False
        self.pipeline = pickle.loads(path.read_bytes())
        return True

    def predict(self, x: dict[str, np.ndarray], batch_size: int = 4096) -> np.ndarray:
        """Log-probabilities [N, K] (float32): softmax of them gives back the model's probabilities."""
        out = np.zeros((len(x["text"]), len(self.label_names)), np.float32)
        for start in range(0, len(out), batch_size):
            rows = list(x["text"][start:start + batch_size])
            out[start:start + len(rows)] = self.pipeline.log_proba(rows)
        return out

    def oof_predict(self, train: tuple[dict, np.ndarray], folds: np.ndarray, seed: int = 0) -> np.ndarray:
        """Log-probabilities for every row of `train`, each row with fold f >= 0 labelled by the chosen
        options refitted without fold f; rows with fold -1 by the model fitted on all training rows."""
        (x, y) = train
        counts = self.pipeline.train_counts if self._fit_texts == store.text_hash(x["text"]) else None
        return oof_log_proba(self.pipeline, list(x["text"]), y, np.asarray(folds), len(self.label_names), seed,
                             counts)

    def latency_ms(self, x: dict[str, np.ndarray], rows: int = 20) -> float:
        """Median milliseconds to classify one cleaned row (batch of 1, after warm-up)."""
        texts = x["text"]
        return median_ms(lambda i: self.pipeline.log_proba([texts[i % len(texts)]]), min(rows, len(texts)))


class TfidfTeacher(LinearTeacher):
    """NLTK tokens, TF-IDF and a logistic regression; stopwords, n-grams, sublinear tf and C tuned on validation."""

    kind = "tfidf-logreg"


class NbsvmTeacher(LinearTeacher):
    """NBSVM (log-count-ratio scaled binary n-grams + logistic regression); stopwords, n-grams, C on validation."""

    kind = "nbsvm"


@register_teacher("tfidf-logreg", family="sklearn",
                  description="TF-IDF + logistic regression (the tuned baseline), log-probabilities as logits")
def tfidf_logreg(*, label_names: list[str], max_length: int, name: str = "tfidf-logreg") -> TfidfTeacher:
    return TfidfTeacher(label_names=label_names, max_length=max_length, name=name)


@register_teacher("nbsvm", family="sklearn",
                  description="NBSVM (Wang & Manning 2012): NB log-count-ratio n-grams + logistic regression")
def nbsvm(*, label_names: list[str], max_length: int, name: str = "nbsvm") -> NbsvmTeacher:
    return NbsvmTeacher(label_names=label_names, max_length=max_length, name=name)
