"""The KD step, the student catalogue and the distill command (TensorFlow in-process; other backends in
their own processes)."""

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import cli_json, run_cli, write_toy

keras = pytest.importorskip("keras")


def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _reference(labels, t, s, T, alpha):
    labelled = labels >= 0
    ce = -_log_softmax(s)[np.arange(len(s)), np.where(labelled, labels, 0)]
    ce = (ce * labelled).sum() / max(labelled.sum(), 1)
    p_t = np.exp(_log_softmax(t / T))
    kl = (p_t * (_log_softmax(t / T) - _log_softmax(s / T))).sum(-1).mean() * T**2
    return {"ce": ce, "kl": kl, "ce+kl": alpha * ce + (1 - alpha) * kl, "mse": ((s - t) ** 2).mean()}


@pytest.mark.parametrize("T,alpha", [(1.0, 0.5), (2.0, 0.5), (4.0, 0.1)])
@pytest.mark.parametrize("labels", [[0, 2, 1, 1, 0], [0, -1, 1, -1, 2], [-1, -1, -1, -1, -1]])
def test_kd_losses_match_numpy(T, alpha, labels):
    from kdsuite.engine.loss import Distiller

    rng = np.random.default_rng(0)
    labels = np.array(labels, dtype="int32")
    t, s = rng.normal(size=(5, 3)) * 3, rng.normal(size=(5, 3)) * 2
    ref = _reference(labels, t, s, T, alpha)
    student = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    for loss in ("kl", "ce+kl", "mse", "ce"):
        model = Distiller(student, loss, temperature=T, alpha=alpha)
        y = {"label": labels} | ({} if loss == "ce" else {"teacher": t.astype("float32")})
        got = float(model.compute_loss(y=y, y_pred=keras.ops.convert_to_tensor(s.astype("float32"))))
        np.testing.assert_allclose(got, ref[loss], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(float(model.ce_tracker.result()), ref["ce"], rtol=1e-5, atol=1e-6)


def test_unlabelled_rows_only_feed_the_kd_term():
    from kdsuite.engine.loss import loss_parts

    t = np.array([[3.0, 0.0], [0.0, 3.0]], "float32")
    s = np.array([[1.0, 0.0], [0.0, 1.0]], "float32")
    ce_a, kl_a, _ = loss_parts(np.array([0, -1]), t, s)
    ce_b, kl_b, _ = loss_parts(np.array([0, 0]), t, s)
    ce_only_first, _, _ = loss_parts(np.array([0]), t[:1], s[:1])
    np.testing.assert_allclose(float(ce_a), float(ce_only_first), rtol=1e-6)
    assert float(ce_b) > float(ce_a) and float(kl_a) == pytest.approx(float(kl_b))


@pytest.mark.slow
def test_every_student_builds_and_trains():
    from kdsuite.students import STUDENTS, build_student
    from kdsuite.engine.loss import Distiller

    rng = np.random.default_rng(0)
    x = rng.integers(0, 50, size=(32, 12)).astype("int32")
    y = {"label": rng.integers(0, 3, 32).astype("int32"), "teacher": rng.normal(size=(32, 3)).astype("float32")}
    names = STUDENTS.names()
    assert {"mlp", "cnn", "bilstm", "mlp-max", "mlp-meanmax", "mlp-attn", "fasttext", "fasttext-l"} <= set(names)
    for name in names:
        student, entry = build_student(name, 50, 12, 3)
        assert student.output_shape == (None, 3) and entry.meta["family"] in name
        model = Distiller(student, "ce+kl", temperature=2.0)
        model.compile(optimizer="adam")
        before = [w.copy() for w in student.get_weights()]
        logs = model.fit(x, y, batch_size=16, epochs=1, verbose=0).history
        assert set(logs) >= {"loss", "kd_loss", "ce_loss", "accuracy"}
        assert any(not np.array_equal(a, b) for a, b in zip(before, student.get_weights())), name


@pytest.mark.parametrize("name, widths", [("mlp-pair", (2,)), ("mlp-tri", (2, 3)), ("mlp-quad", (2, 3, 4))])
def test_neighbour_pooling_reads_windows_of_real_tokens(name, widths):
    """`mlp-pair` / `-tri` / `-quad` pool [mean, max, per width n the max over sums of n neighbouring real tokens]: the
    window parts alone see which words are next to each other, and padding never joins a window."""
    import keras

    from kdsuite.students import build_student

    model, _ = build_student(name, 6, 5, 2)
    table = np.random.default_rng(0).normal(size=(6, 16)).astype("float32")
    model.get_layer(index=1).embeddings.assign(table)
    pool = keras.Model(model.inputs, model.get_layer("pool").output)
    rows = np.array([[1, 2, 3, 0, 0], [1, 3, 2, 0, 0], [4, 5, 0, 0, 0], [4, 0, 0, 0, 0], [0, 0, 0, 0, 0],
                     [5, 1, 4, 2, 3]], "int32")
    got = keras.ops.convert_to_numpy(pool(rows))
    for row, out in zip(rows, got):
        vecs = table[row[row > 0]]
        want = [vecs.mean(0), vecs.max(0)] if len(vecs) else [np.zeros(16)] * 2
        for n in widths:
            sums = [vecs[i:i + n].sum(0) for i in range(len(vecs) - n + 1)]
            want.append(np.max(sums, axis=0) if sums else np.zeros(16))
        np.testing.assert_allclose(out, np.concatenate(want), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[0, :32], got[1, :32], rtol=1e-6)  # the same bag ...
    assert not np.allclose(got[0, 32:48], got[1, 32:48])  # ... in another order: other neighbours


def test_catalogue_spans_sizes():
    from kdsuite.students import count_params

    assert count_params("mlp") == 5000 * 16 + 16 * 6 + 6  # the blog's 80K student
    assert count_params("mlp-xs") < 12_000 and 1_500_000 < count_params("cnn-l") < 2_100_000
    # its pooling variants at the same budget: max, mean+max (the logits layer sees 32), attention (one score)
    assert count_params("mlp-max") == 80102 and count_params("mlp-meanmax") == 5000 * 16 + 32 * 6 + 6
    assert count_params("mlp-attn") == 80102 + 16
    assert count_params("mlp-pair") == 5000 * 16 + 48 * 6 + 6  # mean, max and adjacent-pair max: no extra weight
    assert count_params("mlp-tri") == 5000 * 16 + 64 * 6 + 6  # ... and triple max
    assert count_params("mlp-quad") == 5000 * 16 + 80 * 6 + 6  # ... and the max over runs of four
    # fastText: 10-dim words plus 4000 bigram buckets (+1: no bigram); its large size is ~1M
    assert count_params("fasttext") == 5000 * 10 + 4001 * 10 + 10 * 6 + 6
    assert 950_000 < count_params("fasttext-l") < 1_050_000
    assert count_params("fasttext-xw", 50_000) == 50_000 * 2 + 430_001 * 2 + 2 * 6 + 6  # 2 dims, 430K bigrams
    proc = run_cli("list", "students", "--json")
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["mlp"]["params_at_vocab_5000"] == 80102 and rows["bilstm-l"]["family"] == "bilstm"
    assert rows["fasttext"]["params_at_vocab_5000"] == 90076 and rows["mlp-attn"]["family"] == "mlp-attn"


def test_hashed_ngrams():
    """fastText's n-gram ids: (sum_k t_k * P_k mod B) mod B + 1 for real tokens, 0 next to padding, exact in int32
    at the largest vocabulary and a table far wider than 46340; the "chain" hash of saved models unchanged."""
    from kdsuite.students.fasttext import MAX_VOCAB, PRIMES, HashedNgrams

    ids = np.array([[4, 9, 4999, 0, 0], [7, 0, 0, 0, 0], [0, 0, 0, 0, 0]], "int32")
    got = np.asarray(HashedNgrams(4000, scheme="sum")(ids))
    h = lambda *t, n: sum(x * p % n for x, p in zip(t, PRIMES)) % n + 1
    assert got.tolist() == [[h(4, 9, n=4000), h(9, 4999, n=4000), 0, 0], [0] * 4, [0] * 4]
    top, wide = MAX_VOCAB - 1, 900_001
    tri = np.asarray(HashedNgrams(wide, order=3, scheme="sum")(np.array([[top, 17, top - 1, 5, 0]], "int32")))
    assert tri.tolist() == [[h(top, 17, top - 1, n=wide), h(17, top - 1, 5, n=wide), 0]] and tri.max() <= wide
    chain = lambda a, b, n: (a * 1000003 + b) % n
    old = np.asarray(HashedNgrams(46_000, order=3)(np.array([[29_999, 17, 29_998, 5, 0]], "int32")))
    assert old.tolist() == [[chain(chain(29_999, 17, 46_000), 29_998, 46_000) + 1,
                             chain(chain(17, 29_998, 46_000), 5, 46_000) + 1, 0]]
    assert HashedNgrams.from_config({"buckets": 4000, "order": 2}).scheme == "chain"  # a layer saved before "sum"


def test_feature_mean_norms():
    """fastText's pooling: the sum over real steps of every table divided by their count, or by its square root."""
    from kdsuite.students.fasttext import FeatureMean

    x = [np.arange(12, dtype="float32").reshape(1, 6, 2), np.ones((1, 3, 2), "float32")]
    mask = [np.array([[1, 1, 1, 1, 0, 0]], bool), np.array([[1, 1, 1]], bool)]
    total = x[0][0, :4].sum(0) + 3
    assert np.allclose(FeatureMean()(x, mask=mask), total / 7)
    assert np.allclose(FeatureMean("sqrt")(x, mask=mask), total / np.sqrt(7))
    assert not np.asarray(FeatureMean("sqrt")([x[0]], mask=[np.zeros((1, 6), bool)])).any()
    assert FeatureMean.from_config({"name": "mean"}).norm == "count"  # a layer saved before `norm`


def test_masked_pool_kinds():
    """bag.py's MaskedPool: "mean" is the mlp's MaskedMean; "max" and "mean+max" see only the real steps."""
    from kdsuite.students.bag import MaskedPool
    from kdsuite.students.mlp import MaskedMean

    x = np.random.default_rng(0).normal(size=(3, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]], bool)
    mean = np.asarray(MaskedPool("mean")(x, mask=mask))
    assert np.array_equal(mean, np.asarray(MaskedMean()(x, mask=mask)))
    top = np.asarray(MaskedPool("max")(x, mask=mask))
    assert np.array_equal(top[:2], [x[0, :3].max(0), x[1, 0]]) and not top[2].any()
    assert np.array_equal(np.asarray(MaskedPool("mean+max")(x, mask=mask)), np.concatenate([mean, top], 1))


def toy_teacher_logits(folder: Path) -> Path:
    """A real teacher for the toy task: bag-of-words logistic regression; its logits for every split."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    from kdsuite.data.datasets import load_dataset

    ds = load_dataset(str(folder))
    vec = CountVectorizer().fit(ds.splits["train"].texts)
    clf = LogisticRegression(C=10, max_iter=1000).fit(vec.transform(ds.splits["train"].texts), ds.splits["train"].labels)
    path = folder.parent / "toy_teacher.npz"
    np.savez(path, **{s: clf.decision_function(vec.transform(ds.splits[s].texts)) for s in ds.splits})
    path.with_suffix(".json").write_text(json.dumps({"base_fingerprint": ds.base_fingerprint,
                                                     "label_names": ds.label_names}))
    return path


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    folder = write_toy(root / "toy")
    return folder, toy_teacher_logits(folder), root / "runs"


def _distill(toy, backend, *extra):
    folder, logits, out = toy
    return cli_json("distill", str(folder), "--student", "mlp", "--teacher-logits", str(logits),
                    "--backend", backend, "--epochs", "30", "--patience", "30", "--batch-size", "16",
                    "--learning-rate", "0.01", "--vocab-size", "60", "--seq-len", "12", "--out", str(out), *extra)


@pytest.mark.slow
def test_same_kd_run_on_three_backends(toy):
    results = {b: _distill(toy, b) for b in ("tensorflow", "jax", "torch")}
    accs = {b: r["test"]["accuracy"] for b, r in results.items()}
    assert all(r["backend"] == b and r["kind"] == "kd" for b, r in results.items())
    assert min(accs.values()) >= 0.9 and max(accs.values()) - min(accs.values()) <= 0.07, accs
    assert len({r["param_count"] for r in results.values()}) == 1


def test_saved_student_reloads_with_identical_predictions(toy):
    r = _distill(toy, "tensorflow")
    from kdsuite.students import load_saved

    model = load_saved(Path(r["run_dir"]) / "student.keras")
    from kdsuite.data.datasets import load_dataset
    from kdsuite.engine.tokens import tokenize

    ds = load_dataset(str(toy[0]))
    ids = tokenize(ds, 60, 12).ids["test"]
    pred = model.predict(ids, verbose=0).argmax(-1)
    assert (pred == ds.splits["test"].labels).mean() == pytest.approx(r["test"]["accuracy"])
    from kdsuite.teachers.logit_store import array_hash, load_logits_file

    assert r["teacher_logits"] == r["teacher_run"] == array_hash(load_logits_file(toy[1], ds))  # its teacher run
    vocab = (Path(r["run_dir"]) / "vocabulary.txt").read_text().split("\n")
    assert vocab[:2] == ["", "[UNK]"] and "apple" in vocab


def test_tensorboard_logs_hold_the_expected_tags(toy):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = Path(_distill(toy, "tensorflow")["run_dir"]) / "tensorboard"
    tags = {}
    for part in ("train", "validation"):
        acc = EventAccumulator(str(run_dir / part), size_guidance={"tensors": 0}).Reload()
        tags[part] = set(acc.Tags()["tensors"])
    assert {"epoch_loss", "epoch_kd_loss", "epoch_ce_loss", "epoch_accuracy", "epoch_learning_rate"} <= tags["train"]
    assert {"epoch_loss", "epoch_kd_loss", "epoch_accuracy"} <= tags["validation"]
    hp = EventAccumulator(str(run_dir / "hparams"), size_guidance={"tensors": 0}).Reload()
    assert "_hparams_/session_start_info" in hp.Tags()["tensors"]
    from tensorboard.util.tensor_util import make_ndarray

    metrics = {tag: float(make_ndarray(hp.Tensors(tag)[0].tensor_proto)) for tag in hp.Tags()["tensors"]
               if tag.startswith("metrics/")}  # sortable columns of the HParams table
    assert set(metrics) == {f"metrics/{m}" for m in ("val_accuracy", "test_accuracy", "test_macro_f1", "test_ece")}
    assert 0.5 < metrics["metrics/test_accuracy"] <= 1


@pytest.mark.slow
def test_scratch_student_and_rerun_is_skipped(toy):
    folder, _, out = toy
    args = ("distill", str(folder), "--student", "cnn-s", "--no-kd", "--epochs", "3", "--vocab-size", "60",
            "--seq-len", "12", "--out", str(out))
    first = cli_json(*args)
    assert first["kind"] == "scratch" and first["teacher"] is None and first["epochs_run"] == 3
    assert first["teacher_logits"] is None
    record = out / "results" / f"{first['cell_key']}.json"
    mtime = record.stat().st_mtime
    assert cli_json(*args) == first and record.stat().st_mtime == mtime


def test_external_student_file(toy, tmp_path):
    folder, logits, out = toy
    path = tmp_path / "my_student.py"
    path.write_text(
        "import keras\n"
        "def tiny(vocab_size, seq_len, num_classes):\n"
        "    x = keras.Input((seq_len,), dtype='int32')\n"
        "    h = keras.layers.GlobalMaxPooling1D()(keras.layers.Embedding(vocab_size, 8)(x))\n"
        "    return keras.Model(x, keras.layers.Dense(num_classes)(h))\n")
    r = cli_json("distill", str(folder), "--student", f"{path}:tiny", "--teacher-logits", str(logits),
                 "--epochs", "2", "--vocab-size", "60", "--seq-len", "12", "--out", str(out))
    assert r["family"] == "external" and r["param_count"] == 60 * 8 + 8 * 3 + 3


@pytest.mark.slow
def test_distill_errors(toy, tmp_path):
    folder, logits, out = toy
    base = ("distill", str(folder), "--out", str(out))
    cases = {
        ("--student", "nope", "--no-kd"): "unknown student 'nope'; known: bilstm",
        ("--student", "x.py:f", "--no-kd"): "x.py not found",
        ("--no-kd", "--temperature", "0"): "--temperature must be > 0",
        ("--teacher-logits", str(logits), "--alpha", "1.5"): "--alpha must be in [0, 1]",
        (): "--teacher NAME, --teacher-logits FILE or --no-kd",
        ("--teacher", "tfidf-logreg+scratch:mlp", "--seed", "3"): "outside a suite a scratch member names its seed, "
                                                                  "e.g. scratch:mlp:3",
    }
    for extra, message in cases.items():
        proc = run_cli(*base, *extra)
        assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    bad = tmp_path / "bad.npz"
    np.savez(bad, **{s: np.zeros((5, 3)) for s in ("train", "validation", "test")})
    proc = run_cli(*base, "--teacher-logits", str(bad))
    assert proc.returncode == 2 and "rows of logits" in proc.stderr


FAMILIES_SCRIPT = """
import numpy as np
from kdsuite.backend import use_backend
use_backend({backend!r})
import keras
from kdsuite.students import build_student
from kdsuite.engine.loss import Distiller
rng = np.random.default_rng(0)
x = rng.integers(0, 50, size=(32, 12)).astype("int32")
y = {{"label": rng.integers(-1, 3, 32).astype("int32"), "teacher": rng.normal(size=(32, 3)).astype("float32")}}
for name in ("mlp", "cnn", "bilstm"):
    student, _ = build_student(name, 50, 12, 3)
    model = Distiller(student, "ce+kl", temperature=2.0)
    model.compile(optimizer="adam")
    before = [w.copy() for w in student.get_weights()]
    logs = model.fit(x, y, batch_size=16, epochs=1, verbose=0).history
    assert np.isfinite(logs["loss"][0]) and any(not np.array_equal(a, b) for a, b in zip(before, student.get_weights()))
    print(name, keras.backend.backend(), "ok")
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_every_family_distils_on_other_backends(backend):
    import subprocess
    import sys

    from tests.conftest import REPO

    proc = subprocess.run([sys.executable, "-c", FAMILIES_SCRIPT.format(backend=backend)], capture_output=True,
                          text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split("\n")[:3] == [f"{f} {backend} ok" for f in ("mlp", "cnn", "bilstm")]
