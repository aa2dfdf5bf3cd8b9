"""`kdsuite diagnose` (report/diagnose.py) on real Emotion rows: the sensitivity formula, an order-blind teacher
scoring 0, lexical share, lengths in student tokens, the stored record and the leaderboard line."""

import shutil

import numpy as np
import pytest

from kdsuite.data.datasets import load_dataset
from kdsuite.records import DiagnosisRecord, read_record, read_records
from kdsuite.report import diagnose as dg
from kdsuite.teachers.sklearn import TfidfTeacher, fit_pipeline, nltk_tokens
from tests.conftest import REPO, run_cli


@pytest.fixture(scope="module")
def emotion(data_dir):
    return load_dataset("emotion")


def test_shuffle_keeps_words_and_is_seeded():
    texts = ["i feel so very happy today", "one", ""]
    a, b, c = dg.shuffle_words(texts, 0), dg.shuffle_words(texts, 0), dg.shuffle_words(texts, 1)
    assert a == b and a != c and [sorted(t.split()) for t in a] == [sorted(t.split()) for t in texts]


def test_sensitivity_formula(emotion):
    test = emotion.splits["test"]
    texts, labels = test.texts[:300], test.labels[:300]
    blind = dg.word_order(lambda ts: np.array([len(t.split()) % 6 for t in ts]), texts, labels, 6, shuffles=2)
    assert blind["agreement"] == 1.0 and blind["sensitivity"] == 0.0  # word counts do not see order
    first = dg.word_order(lambda ts: np.array([len(t.split()[0]) % 6 if t.split() else 0 for t in ts]), texts, labels,
                          6, shuffles=3)
    a, c = first["agreement"], first["chance_agreement"]
    assert 0 < first["sensitivity"] == pytest.approx(min(1, (1 - a) / (1 - c)), abs=1e-4) and len(
        first["agreement_per_shuffle"]) == 3
    rng = np.random.default_rng(0)
    noise = dg.word_order(lambda ts: rng.integers(0, 6, len(ts)), texts, labels, 6, shuffles=3)
    assert noise["sensitivity"] > 0.85  # answers unrelated to the text: no better than chance
    assert first["accuracy_original"] == pytest.approx(
        float((np.array([len(t.split()[0]) % 6 if t.split() else 0 for t in texts]) == labels).mean()), abs=1e-5)


def test_token_counts_match_the_students_vectorizer():
    import keras

    texts = ["I feel GREAT, really!", "don't   stop\tnow", "...", "état d'âme — ok", "a-b c.d"]
    vec = keras.layers.TextVectorization(standardize="lower_and_strip_punctuation")
    vec.adapt(texts)
    ids = np.asarray(vec(texts))
    assert dg.token_counts(texts).tolist() == (ids > 0).sum(1).tolist()
    stats = dg.lengths(["a b c", "a b c d e", "a"], seq_len=3)
    assert (stats["p50"], stats["max"], stats["truncated_share"]) == (3, 5, pytest.approx(1 / 3, abs=1e-5))


class _Unigram(TfidfTeacher):
    """The TF-IDF teacher with unigrams only: a bag of words, blind to order by construction."""


@pytest.fixture(scope="module")
def unigram(emotion):
    train = emotion.splits["train"]
    teacher = _Unigram(label_names=emotion.label_names, max_length=64)
    teacher.pipeline = fit_pipeline("tfidf-logreg", {"stopwords": "none", "ngram_range": [1, 1], "C": 4.0,
                                                     "sublinear_tf": True},
                                    nltk_tokens(train.texts[:3000]), train.labels[:3000], emotion.num_classes)
    return teacher


def test_diagnose_order_blind_teacher_stored_and_shown(tmp_path, emotion, unigram, monkeypatch):
    monkeypatch.setenv("KDSUITE_CACHE", str(tmp_path / "cache"))  # the committed teacher, not another test's fit
    out = tmp_path / "store"
    (out / "results").mkdir(parents=True)
    [baseline] = [r for r in read_records(REPO / "reports" / "results") if r.dataset == "emotion"
                  and r.kind == "baseline" and r.model == "tfidf-logreg"]
    shutil.copy(REPO / "reports" / "results" / f"{baseline.cell_key}.json", out / "results")
    d = dg.diagnose(emotion, "tfidf-logreg", out, shuffles=2, rows=150, seq_len=20, model=unigram)
    assert isinstance(d, DiagnosisRecord) and d.word_order["rows"] == 150
    assert d.word_order["agreement"] == 1.0 and d.word_order["sensitivity"] == 0.0 and "lower bound" in \
        d.word_order["note"]
    assert d.lexical["source"] == "1 stored record(s)" and d.lexical["share"] == pytest.approx(
        baseline.test["accuracy"] / 0.897, abs=1e-4)  # the committed tfidf-logreg teacher: 89.70% on test
    counts = dg.token_counts(emotion.splits["test"].texts)
    assert d.lengths["seq_len"] == 20 and d.lengths["truncated_share"] == pytest.approx((counts > 20).mean(), abs=1e-5)
    assert d.lengths["p50"] == int(np.percentile(counts, 50, method="inverted_cdf"))
    [path] = (out / "diagnostics").glob("*.json")
    assert read_record(path) == d
    unfitted = _Unigram(label_names=emotion.label_names, max_length=64)  # would fail to predict: not called
    assert dg.diagnose(emotion, "tfidf-logreg", out, shuffles=2, rows=150, seq_len=20, model=unfitted) == d
    [line] = [x for x in dg.markdown(dg.load(out), "emotion") if x.startswith("- ")]
    assert "word-order sensitivity 0.00" in line and "cut at 20" in line and dg.FORMULA in line


def test_cli_bad_input_one_line():
    proc = run_cli("diagnose", "emotion", "--teacher", "tfidf-logreg", "--shuffles", "0", "--out", "/nonexistent")
    assert proc.returncode == 2 and proc.stderr.strip() == "kdsuite: error: --shuffles must be at least 1, got 0"
