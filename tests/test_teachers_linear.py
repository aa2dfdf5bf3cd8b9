"""Linear teachers on small real data: NBSVM, the stopword choice, out-of-fold logits, ensembles of cached
logits (with the committed MiniLM), and the one-line refusals of bad ensembles and --oof values."""

import json
import shutil

import numpy as np
import pytest

from kdsuite.errors import KdsuiteError

SMALL_TFIDF = {"stopwords": ("none", "nltk", "nltk-lite"), "ngram_range": ((1, 2),), "sublinear_tf": (True,),
               "C": (4.0,)}


@pytest.fixture()
def small_grids(monkeypatch):
    """The TF-IDF grid cut to one point per stopword list (the NBSVM grid is cheap as it is)."""
    from kdsuite.teachers import sklearn

    monkeypatch.setitem(sklearn.GRIDS, "tfidf-logreg", SMALL_TFIDF)


@pytest.fixture(scope="module")
def emotion(data_dir):
    from kdsuite.data.datasets import load_dataset

    return load_dataset("emotion", data_dir, max_train=1500)


def _log_softmax(z):
    z = np.asarray(z, np.float64) - np.max(z, axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def test_stopword_lists_and_tokens():
    from kdsuite.teachers.sklearn import nltk_tokens, raw_words, stopword_list

    nltk, lite = set(stopword_list("nltk")), set(stopword_list("nltk-lite"))
    assert stopword_list("none") is None
    label_words = {"not", "no", "nor", "what", "who", "when", "where", "which", "how", "don", "didn't", "wasn"}
    assert label_words <= nltk and not label_words & lite  # NLTK drops them; nltk-lite keeps them
    assert {"the", "a", "i", "was", "did"} <= lite
    assert nltk_tokens(["I didn't like it.<br /><br />What a film!"]) == ["i did not like it what a film"]
    assert raw_words(["Not GOOD<br />at all?!"]) == ["not good at all?!"]


@pytest.mark.parametrize("model", ["tfidf-logreg", "nbsvm"])
def test_baseline_cleans_splits_streamed(data_dir, small_grids, monkeypatch, model):
    """The baseline cleans each split batch by batch from its column, never reading a split whole, into the
    strings (same order) that cleaning the whole array gave."""
    from kdsuite.data.datasets import TextColumn, load_dataset
    from kdsuite.teachers import sklearn

    ds = load_dataset("emotion", data_dir, max_train=1500)  # the 1,500 rows are picked from two record batches
    encode, cleaned = sklearn.KINDS[model]["encode"], []
    with monkeypatch.context() as m:
        m.setattr(TextColumn, "array", lambda self: pytest.fail("a split was read whole"))
        m.setitem(sklearn.KINDS[model], "encode", lambda texts: cleaned.append(encode(texts)) or cleaned[-1])
        sklearn.run_baseline(ds, model=model)
    assert cleaned == [encode(ds.splits[s].texts) for s in ("train", "validation", "test")]
    assert [len(c) for c in cleaned] == [1500, 2000, 2000]


def test_nbsvm_baseline_on_amazon(data_dir):
    """NBSVM as a baseline row: tuned on validation (stopwords x n-grams x C), binary log-count ratios."""
    from kdsuite.data.datasets import load_dataset
    from kdsuite.teachers.sklearn import GRIDS, run_baseline

    ds = load_dataset("amazon_polarity", data_dir, max_train=2000)
    r = run_baseline(ds, model="nbsvm")
    assert r["model"] == "nbsvm" and r["test"]["accuracy"] > 0.83, r["test"]["accuracy"]
    grid = GRIDS["nbsvm"]
    assert len(r["tuning"]["grid"]) == len(grid["stopwords"]) * len(grid["ngram_range"]) * len(grid["C"])
    top = max(g["val_accuracy"] for g in r["tuning"]["grid"])
    near = [g for g in r["tuning"]["grid"] if g["val_accuracy"] >= top - (top * (1 - top) / 2094) ** 0.5]
    best = min(near, key=lambda g: g["val_log_loss"])  # within one standard error: the lowest log-loss
    assert {k: r["config"][k] for k in ("stopwords", "ngram_range", "C")} == \
        {k: best[k] for k in ("stopwords", "ngram_range", "C")}
    assert r["param_count"] == r["vocabulary_size"] + 1  # two classes: one weight per n-gram and a bias


def test_nbsvm_head_is_wang_manning():
    """Binary: logistic regression on r-scaled binary counts; more classes: one-vs-rest, normalised."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    from kdsuite.teachers.sklearn import NBHead

    rng = np.random.default_rng(0)
    x = sparse.csr_matrix((rng.random((60, 12)) < 0.3).astype(float))
    y = rng.integers(0, 3, 60)
    y2 = (y > 0).astype(int)
    head = NBHead(C=1.0).fit(x, y2, 2)
    p, q = 1 + x[y2 == 1].sum(0).A1, 1 + x[y2 == 0].sum(0).A1
    r = np.log(p / p.sum()) - np.log(q / q.sum())
    ref = LogisticRegression(C=1.0, solver="liblinear", random_state=0).fit(x @ sparse.diags(r), y2)
    np.testing.assert_allclose(head.log_proba(x), ref.predict_log_proba(x @ sparse.diags(r)), atol=1e-8)
    multi = NBHead(C=1.0).fit(x, y, 3).log_proba(x)
    np.testing.assert_allclose(np.exp(multi).sum(1), 1, atol=1e-9)
    assert multi.shape == (60, 3)


def test_tfidf_stopword_choice_is_made_on_validation(emotion, small_grids):
    """Each stopword list is a grid point; the `nltk` point is the old NLTK-cleaned baseline."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from kdsuite.data.preprocess import clean_all
    from kdsuite.teachers.sklearn import run_baseline

    r = run_baseline(emotion)
    assert {g["stopwords"] for g in r["tuning"]["grid"]} == {"none", "nltk", "nltk-lite"}
    assert r["config"]["stopwords"] in {g["stopwords"] for g in r["tuning"]["grid"]}
    assert {"stopwords", "ngram_range", "sublinear_tf", "C", "min_df"} <= set(r["config"])

    old = {s: clean_all(emotion.splits[s].texts) for s in ("train", "validation")}
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    model = LogisticRegression(C=4.0, max_iter=1000).fit(vectorizer.fit_transform(old["train"]),
                                                        emotion.splits["train"].labels)
    old_acc = (model.predict(vectorizer.transform(old["validation"])) == emotion.splits["validation"].labels).mean()
    nltk_row = next(g for g in r["tuning"]["grid"] if g["stopwords"] == "nltk")
    assert nltk_row["val_accuracy"] == pytest.approx(old_acc, abs=1e-3)


def test_out_of_fold_logits(emotion, data_dir, tmp_path):
    """--oof: each fitted training row is labelled by the model refitted without its fold; the rest (and
    validation/test) by the model fitted on all rows; the folds are kept and shipped."""
    from scipy import sparse

    from kdsuite.teachers.runs import load_teacher_logits
    from kdsuite.teachers.runs import oof_folds, run_teacher
    from kdsuite.teachers.sklearn import NbsvmTeacher, make_head

    kwargs = dict(max_train=1500, data_dir=str(data_dir), verbose=0)
    plain = run_teacher("emotion", "nbsvm", **kwargs)
    full = load_teacher_logits("nbsvm", emotion)
    r = run_teacher("emotion", "nbsvm", oof=4, ship_dir=tmp_path, **kwargs)
    oof = load_teacher_logits("nbsvm", emotion)  # the newest entry
    assert r["config"]["oof"] == 4 and "oof" not in plain["config"] and r["test"] == plain["test"]
    for split in ("validation", "test"):
        np.testing.assert_array_equal(oof[split], full[split])
    idx, labels = emotion.train_index, emotion.full_train.labels
    with np.load(f"{r['cache']}/folds.npz") as f:
        folds = f["train"]
    with np.load(tmp_path / "emotion__nbsvm.folds.npz") as f:
        np.testing.assert_array_equal(f["train"], folds)
    assert (folds[idx] >= 0).all() and (np.delete(folds, idx) == -1).all()
    np.testing.assert_array_equal(folds[idx], oof_folds(labels[idx], 4, 0))
    record = r["fit"]["oof"]
    assert record["rows_per_fold"] == np.bincount(folds[idx]).tolist() and record["rows_not_fitted"] == 16000 - 1500
    assert record["train_accuracy"]["out_of_fold"] < record["train_accuracy"]["fitted_on_all"]
    unfitted = np.setdiff1d(np.arange(len(labels)), idx)
    np.testing.assert_array_equal(oof["train"][unfitted], full["train"][unfitted])
    assert not np.allclose(oof["train"][idx], full["train"][idx])

    teacher = NbsvmTeacher(label_names=emotion.label_names, max_length=64)  # fold 0 by hand
    assert teacher.restore(r["workdir"])
    pipe = teacher.pipeline
    counts = sparse.csr_matrix(pipe.counts(teacher.encode(emotion.full_train.texts[idx])["text"]))
    options = {k: v for k, v in pipe.options.items() if k not in ("stopwords", "ngram_range")}
    held = folds[idx] == 0
    head = make_head("nbsvm", options, 0).fit(counts[~held], labels[idx][~held], emotion.num_classes)
    np.testing.assert_allclose(oof["train"][idx[held]], head.log_proba(counts[held]), atol=2e-2)  # float16 copy


def test_ensemble_of_committed_minilm_and_nbsvm(emotion, data_dir, tmp_path):
    """minilm-l6 (committed logits) + nbsvm: the weighted mean of log-probabilities, weights chosen on
    validation and recorded; given weights are used as given; the row names its members and `--out` stores it."""
    from kdsuite.cli import main
    from kdsuite.report.leaderboard import aggregate, load_records
    from kdsuite.teachers.runs import load_teacher_logits, teacher_record
    from kdsuite.teachers.runs import run_teacher

    run_teacher("emotion", "nbsvm", max_train=1500, data_dir=str(data_dir), verbose=0)
    members = {m: {s: _log_softmax(v) for s, v in load_teacher_logits(m, emotion).items()}
               for m in ("minilm-l6", "nbsvm")}
    r = run_teacher("emotion", "minilm-l6+nbsvm", data_dir=str(data_dir), ship_dir=tmp_path, verbose=0)
    weights = r["fit"]["weights"]
    assert set(weights) == {"minilm-l6", "nbsvm"} and sum(weights.values()) == pytest.approx(1)
    assert r["family"] == "ensemble" and r["fit"]["weight_search"]["points"] == 21
    best = max(m["validation_accuracy"] for m in r["fit"]["members"])  # the simplex holds each member alone
    assert r["validation"]["accuracy"] >= best - (best * (1 - best) / 2000) ** 0.5  # within one standard error
    logits = load_teacher_logits("minilm-l6+nbsvm", emotion)
    expected = sum(w * members[m]["test"] for m, w in weights.items())
    np.testing.assert_allclose(logits["test"], expected, atol=1e-2)
    assert (tmp_path / "emotion__minilm-l6_nbsvm.npz").is_file()
    assert run_teacher("emotion", "minilm-l6+nbsvm", data_dir=str(data_dir), verbose=0)["cached"]

    row = teacher_record("minilm-l6+nbsvm", emotion)
    assert row["family"] == "ensemble" and row["config"]["teacher"]["members"] == ["minilm-l6", "nbsvm"]
    assert row["model"] == "minilm-l6+nbsvm"  # named as the suite names it, not by its cache folder
    given = load_teacher_logits("minilm-l6+nbsvm@0.3,0.7", emotion)
    np.testing.assert_allclose(given["validation"], 0.3 * members["minilm-l6"]["validation"]
                               + 0.7 * members["nbsvm"]["validation"], atol=1e-2)

    store = tmp_path / "store"  # `kdsuite teacher --out` stores the row a suite's teacher cell would, once
    for _ in range(2):
        assert main(["teacher", "emotion", "--data-dir", str(data_dir), "--teacher", "minilm-l6+nbsvm",
                     "--out", str(store)]) == 0
    (stored,) = aggregate(load_records(store / "results")[0])
    assert (stored["model"], stored["kind"], stored["seeds"]) == ("minilm-l6+nbsvm", "teacher", 1)
    assert stored["accuracy"] == pytest.approx(r["test"]["accuracy"])


def test_ensemble_labels_new_text_and_takes_logits_files(emotion, data_dir, tmp_path, small_grids):
    """Transfer text is labelled by each member's fitted model; a logits file or a student run folder is a
    member for the students' splits, but a logits file cannot label new text."""
    from kdsuite.teachers.logit_store import teacher_id
    from kdsuite.teachers.runs import load_teacher_logits
    from kdsuite.teachers.runs import run_teacher
    from kdsuite.teachers.transfer import augmented_logits, label_texts

    for teacher in ("nbsvm", "tfidf-logreg"):
        run_teacher("emotion", teacher, max_train=1500, data_dir=str(data_dir), verbose=0)
    texts = np.array(["i feel so happy and loved today", "i am furious and bitter about it"], dtype=object)
    r = run_teacher("emotion", "nbsvm+tfidf-logreg", data_dir=str(data_dir), verbose=0)
    w = r["fit"]["weights"]
    members = {m: _log_softmax(label_texts(emotion, m, texts)) for m in w}
    np.testing.assert_allclose(label_texts(emotion, "nbsvm+tfidf-logreg", texts),
                               sum(w[m] * members[m] for m in w), atol=1e-5)

    nb = load_teacher_logits("nbsvm", emotion)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    np.savez(run_dir / "logits.npz", **nb)  # as a student's run folder holds them (logits.json beside)
    (run_dir / "logits.json").write_text(json.dumps({"base_fingerprint": emotion.base_fingerprint,
                                                     "label_names": emotion.label_names}))
    spec = f"minilm-l6+student:{run_dir}@0.5,0.5"
    mixed = load_teacher_logits(spec, emotion)
    minilm = _log_softmax(load_teacher_logits("minilm-l6", emotion)["test"])
    np.testing.assert_allclose(mixed["test"], 0.5 * minilm + 0.5 * _log_softmax(nb["test"]), atol=1e-2)
    deep = tmp_path / ("d" * 200) / "run"  # its spec's file-safe name is longer than a file name may be
    shutil.copytree(run_dir, deep)
    np.testing.assert_allclose(load_teacher_logits(f"minilm-l6+student:{deep}@0.5,0.5", emotion)["test"],
                               mixed["test"])
    ids = {teacher_id(f"minilm-l6+student:{deep}{end}") for end in ("@0.5,0.5", "@0.4,0.6")}
    assert len(ids) == 2 and max(map(len, ids)) <= 100
    with pytest.raises(KdsuiteError, match="cannot label new text"):
        label_texts(emotion, f"nbsvm+logits:{run_dir / 'logits.npz'}", texts)
    with pytest.raises(KdsuiteError, match="cannot label new text"):  # nor label a transfer set member by member
        augmented_logits(emotion, f"nbsvm+logits:{run_dir / 'logits.npz'}", "tang:1", 0, texts)


def _bad_logits(folder, ds, **change):
    """A logits file for `ds` with one thing wrong (rows, label names or base fingerprint)."""
    rng = np.random.default_rng(0)
    rows = {s: len(d) for s, d in ds.splits.items()} | {"train": len(ds.full_train)} | change.pop("rows", {})
    path = folder / f"bad-{len(list(folder.glob('*.npz')))}.npz"
    np.savez(path, **{s: rng.normal(size=(n, ds.num_classes)).astype("float32") for s, n in rows.items()})
    meta = {"base_fingerprint": ds.base_fingerprint, "label_names": ds.label_names} | change
    path.with_suffix(".json").write_text(json.dumps(meta))
    return path


def test_bad_ensembles_and_oof_values_fail_in_one_line(emotion, data_dir, tmp_path, capsys, monkeypatch):
    from kdsuite.cli import main
    from kdsuite.store import cache_root

    bad = tmp_path / "bad"
    bad.mkdir()
    names = list(emotion.label_names)
    cases = {
        f"minilm-l6+logits:{_bad_logits(bad, emotion, label_names=names[::-1])}": "label names",
        f"minilm-l6+logits:{_bad_logits(bad, emotion, rows={'test': 1999})}": "1999 rows",
        f"minilm-l6+logits:{_bad_logits(bad, emotion, base_fingerprint='0123456789abcdef')}": "other data",
        "minilm-l6+no-such-teacher": "unknown teacher 'no-such-teacher'",
        "minilm-l6+nbsvm@1.5,0": r"weight 1.5 is outside \[0, 1\]",
        "minilm-l6+nbsvm@0.5": "1 weights for 2 members",
        "minilm-l6+logits:/no/such/file.npz": "no such logits file",
    }
    flags = {("--teacher", spec): message for spec, message in cases.items()}
    flags |= {("--teacher", "nbsvm", "--oof", "1"): "at least 2 folds",
              ("--teacher", "nbsvm", "--oof", "60", "--max-train", "1500"): "above the .* rows of the smallest class",
              ("--teacher", "minilm-l6", "--oof", "5"): "minilm-l6 cannot be refitted cheaply",
              ("--teacher", "minilm-l6+nbsvm", "--oof", "5"): "'minilm-l6' cannot be refitted cheaply"}
    ship = tmp_path / "ship"
    before = sorted(p.relative_to(cache_root()) for p in cache_root().rglob("*"))
    for args, message in flags.items():
        code = main(["teacher", "emotion", "--data-dir", str(data_dir), *args, "--ship", str(ship)])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("kdsuite: error: ") and err.count("\n") == 1, (args, err)
        assert __import__("re").search(message, err), (message, err)
    assert not ship.exists()
    assert sorted(p.relative_to(cache_root()) for p in cache_root().rglob("*")) == before  # nothing written


@pytest.mark.slow
def test_ensemble_with_a_student_labels_transfer_text_member_by_member(emotion, data_dir, tmp_path, monkeypatch):
    """A student run folder labels new text with its raw-text model; every member's logits for augmented text are
    cached per member (a student's by its model file), so the ensemble labels the same texts again without
    running any member, and new texts afresh."""
    import kdsuite
    from kdsuite.data.augment import augment
    from kdsuite.teachers import ensemble, transfer
    from kdsuite.teachers.runs import run_teacher
    from tests.conftest import cli_json

    run_teacher("emotion", "nbsvm", max_train=1500, data_dir=str(data_dir), verbose=0)
    record = cli_json("distill", "emotion", "--max-train", "1500", "--student", "mlp-s", "--no-kd", "--epochs", "1",
                      "--out", str(tmp_path / "runs"))
    spec = f"nbsvm+student:{record['run_dir']}@0.25,0.75"
    texts = augment(emotion.splits["train"].texts[:40], "tang", copies=1, seed=0)
    got = transfer.augmented_logits(emotion, spec, "tang:1", 0, texts)
    student = kdsuite.load_student(record["run_dir"]).probabilities(list(texts))
    nbsvm = _log_softmax(transfer.label_texts(emotion, "nbsvm", texts))
    np.testing.assert_allclose(got, 0.25 * nbsvm + 0.75 * np.log(student), atol=1e-4)
    monkeypatch.setattr(transfer, "finetuned_teacher", lambda *a: pytest.fail("a member's model ran again"))
    monkeypatch.setattr(ensemble.StudentMember, "predict", lambda *a: pytest.fail("the student member ran again"))
    np.testing.assert_allclose(transfer.augmented_logits(emotion, spec, "tang:1", 0, texts), got, atol=1e-6)
    monkeypatch.undo()
    monkeypatch.setattr(ensemble.StudentMember, "predict", lambda *a: pytest.fail("the student member ran again"))
    other = augment(emotion.splits["train"].texts[:40], "tang", copies=1, seed=1)  # new texts: labelled afresh
    with pytest.raises(pytest.fail.Exception, match="the student member ran again"):
        transfer.augmented_logits(emotion, spec, "tang:1", 1, other)


@pytest.mark.slow
def test_a_jax_student_gets_its_transfer_text_labelled_by_a_tensorflow_student_member(emotion, data_dir, tmp_path):
    """A student member's raw-text model is a TensorFlow model: a JAX cell (Keras fixed to JAX in its process)
    that labels its transfer text runs that model in a TensorFlow process of its own, and gets the labels this
    (TensorFlow) process computes."""
    import hashlib
    import os
    from pathlib import Path

    import kdsuite
    from kdsuite import store
    from kdsuite.data.augment import augment
    from kdsuite.teachers.runs import run_teacher
    from tests.conftest import cli_json

    run_teacher("emotion", "nbsvm", max_train=1500, data_dir=str(data_dir), verbose=0)
    common = ("--max-train", "1500", "--student", "mlp-s", "--epochs", "1", "--out", str(tmp_path / "runs"))
    member = cli_json("distill", "emotion", "--no-kd", *common)
    kd = cli_json("distill", "emotion", *common, "--backend", "jax", "--transfer", "tang:1",
                  "--teacher", f"nbsvm+student:{member['run_dir']}@0.5,0.5")
    assert kd["backend"] == "jax" and kd["transfer_rows"] > 1000
    texts = augment(emotion.splits["train"].texts, "tang", copies=1, seed=0)
    model_hash = hashlib.sha256(Path(member["run_dir"], "student_text.keras").read_bytes()).hexdigest()[:16]
    cached = Path(os.environ["KDSUITE_CACHE"], "transfer", "students",
                  f"emotion-{model_hash}-{store.text_hash(texts)}.npz")
    expected = np.log(kdsuite.load_student(member["run_dir"]).probabilities(list(texts)))
    np.testing.assert_allclose(np.load(cached)["logits"], expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("folder, dataset", [("amazon_full", "amazon_polarity"), ("imdb_minilm", "imdb")])
def test_committed_report_teacher_is_its_members_recombined(data_dir, folder, dataset):
    """`reports/amazon_full`, `reports/imdb_minilm`: the committed ensemble row is MiniLM-L6 fine-tuned on every
    training row (its logits shipped in the folder) + the committed NBSVM and TF-IDF, recombined with the recorded
    weights; its test accuracy follows, and it beats each member."""
    from kdsuite.data.datasets import load_dataset
    from kdsuite.records import read_records
    from kdsuite.teachers.logit_store import COMMITTED, load_logits_file
    from tests.conftest import REPO

    minilm = REPO / "reports" / folder / f"{dataset}__minilm-l6.npz"
    spec = f"logits:reports/{folder}/{minilm.name}+nbsvm+tfidf-logreg"
    shipped = json.loads(next(minilm.parent.glob(f"{dataset}__logits_*.json")).read_text())
    weights = shipped["fit"]["weights"]
    assert shipped["config"]["teacher"]["teacher"] == spec and sum(weights.values()) == pytest.approx(1)
    assert json.loads(minilm.with_suffix(".json").read_text())["config"]["train"] == {}  # every training row
    ds = load_dataset(dataset, data_dir)
    files = {f"logits:reports/{folder}/{minilm.name}": minilm, "nbsvm": COMMITTED / f"{dataset}__nbsvm.npz",
             "tfidf-logreg": COMMITTED / f"{dataset}__tfidf-logreg.npz"}
    test = sum(w * _log_softmax(load_logits_file(files[m], ds)["test"]) for m, w in weights.items())
    accuracy = (test.argmax(1) == ds.splits["test"].labels).mean()
    row = next(r for r in read_records(minilm.parent / "results") if r.kind == "teacher")
    assert row.teacher == spec and accuracy == pytest.approx(row.test["accuracy"], abs=5e-4)
    assert accuracy > max(m["test_accuracy"] for m in shipped["fit"]["members"])


TANG6 = ("amazon_tang", "amazon_polarity__minilm-l6__unused+tang6-s0.npz", 0)  # folder, transfer file, copies beyond


@pytest.mark.parametrize("report,shipped", [("amazon_tang", TANG6), ("amazon_cnn", TANG6), (
    "amazon_imdb", ("amazon_imdb", "amazon_polarity__minilm-l6__unused+tang6+imdb.unsup20000-s0.npz", 6))])
def test_committed_amazon_students_learned_from_the_shipped_teacher(data_dir, report, shipped):
    """`reports/amazon_tang` (fastText-xw), `amazon_cnn` and `amazon_imdb` (Kim CNN): their teacher is a MiniLM-L6
    run whose logits are shipped in `amazon_tang` (`amazon_imdb` ships its refit: the same logits up to float16
    rounding), with the transfer set's logits as the kd+transfer cells saw them (the unused rows, the `tang:6`
    copies, and in `amazon_imdb` 20,000 IMDb reviews); every distilled record's teacher hash is that of those
    files, and the teacher row's accuracy is theirs."""
    from kdsuite.data.datasets import load_dataset
    from kdsuite.records import read_records
    from kdsuite.teachers.logit_store import array_hash, load_logits_file, read_npz
    from tests.conftest import REPO

    folder, transfer_file, copies = REPO / "reports" / shipped[0], shipped[1], shipped[2]
    ds = load_dataset("amazon_polarity", data_dir, max_train=6000)
    teacher = load_logits_file(folder / "amazon_polarity__minilm-l6.npz", ds)
    first = load_logits_file(REPO / "reports" / "amazon_tang" / "amazon_polarity__minilm-l6.npz", ds)
    assert all(np.abs(teacher[s] - first[s]).max() < 2e-3 for s in teacher)
    transfer = read_npz(folder / transfer_file)["logits"]
    unused = len(ds.full_train) - len(ds.train_index)
    assert len(transfer) > unused + copies * len(ds.train_index)  # the unused rows and more (IMDb: beyond all copies)
    records = read_records(REPO / "reports" / report / "results")
    kd = [r for r in records if r.kind == "kd+transfer"]
    assert sorted(r.seed for r in kd) == [0, 1, 2] and {r.teacher_logits for r in kd} == {
        array_hash(teacher | {"train": teacher["train"][ds.train_index], "transfer": transfer})}
    row = next(r for r in records if r.kind == "teacher")
    accuracy = (teacher["test"].argmax(1) == ds.splits["test"].labels).mean()
    assert accuracy == pytest.approx(row.test["accuracy"], abs=1e-6)
