"""Rows with no tokens (`. . .` standardises to nothing, so its ids are all padding): every student stays finite
on them with the other rows' math unchanged, a fit whose loss turns non-finite fails at once in one line, the
data summary counts them and augmentation never makes them.

Keras fixes its backend at import, so the checks that need a backend run this file as a script in a process of
their own (`python tests/test_empty_rows.py BACKEND` prints one JSON object), once per backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

BACKENDS = ("tensorflow", "jax", "torch")
VOCAB, SEQ_LEN, CLASSES = 50, 12, 3


# ---------------------------------------------------------------- one process per backend

def _ids() -> tuple[np.ndarray, np.ndarray]:
    """(5 rows of post-padded ids as TextVectorization makes them, the same with an all-padding row at 2)."""
    rng = np.random.default_rng(0)
    ids = rng.integers(1, VOCAB, (5, SEQ_LEN)).astype("int32")
    for row, length in enumerate((12, 7, 3, 1, 5)):
        ids[row, length:] = 0
    return ids, np.insert(ids, 2, 0, axis=0)


def _student_checks(keras) -> dict:
    from keras import layers

    from kdsuite.students import STUDENTS, build_student

    ids, with_empty = _ids()
    others = np.delete(np.arange(len(with_empty)), 2)
    labels = np.arange(len(with_empty), dtype="int32") % CLASSES
    # one name per family (sizes change widths, not the math), plus the mlp with a hidden layer
    picked = {}
    for entry in STUDENTS.entries():
        picked.setdefault(entry.meta.get("family"), entry.name)
    out = {}
    for name in sorted(set(picked.values()) | {"mlp-l"}):
        keras.utils.set_random_seed(0)
        model, entry = build_student(name, VOCAB, SEQ_LEN, CLASSES)
        alone = keras.ops.convert_to_numpy(model(ids, training=False))
        mixed = keras.ops.convert_to_numpy(model(with_empty, training=False))
        info = {
            "family": entry.meta.get("family"),
            "finite": bool(np.isfinite(mixed).all()),
            "other_rows_max_diff": float(np.abs(mixed[others] - alone).max()),
        }
        model.compile(optimizer=keras.optimizers.SGD(0.1),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        loss = model.train_on_batch(with_empty, labels)
        info["train_loss_finite"] = bool(np.isfinite(np.asarray(loss)).all())
        info["weights_finite"] = all(bool(np.isfinite(w).all()) for w in model.get_weights())
        if entry.meta.get("family") == "mlp":
            # the pre-fix pooling, same weights: identical on rows with tokens, NaN on the empty one
            keras.utils.set_random_seed(0)
            fresh, _ = build_student(name, VOCAB, SEQ_LEN, CLASSES)
            embedding = next(layer for layer in fresh.layers if isinstance(layer, layers.Embedding))
            pooling = next(i for i, layer in enumerate(fresh.layers) if type(layer).__name__ == "MaskedMean")
            tokens = keras.Input((SEQ_LEN,), dtype="int32")
            x = layers.GlobalAveragePooling1D()(layers.Embedding(VOCAB, embedding.output_dim, mask_zero=True)(tokens))
            for layer in fresh.layers[pooling + 1:]:
                x = layer.__class__.from_config(layer.get_config())(x)
            ref = keras.Model(tokens, x)
            ref.set_weights(fresh.get_weights())
            new = keras.ops.convert_to_numpy(fresh(ids, training=False))
            info["identical_to_average_pooling"] = bool(np.array_equal(
                new, keras.ops.convert_to_numpy(ref(ids, training=False))))
            info["average_pooling_nan_on_empty"] = bool(np.isnan(keras.ops.convert_to_numpy(
                ref(with_empty, training=False))[2]).all())
        out[name] = info
    return out


def _reload_check(keras, tmp: Path) -> bool:
    from kdsuite.students import build_student

    ids, with_empty = _ids()
    model, _ = build_student("mlp", VOCAB, SEQ_LEN, CLASSES)
    model.save(tmp / "mlp.keras")
    back = keras.saving.load_model(tmp / "mlp.keras")
    return bool(np.array_equal(keras.ops.convert_to_numpy(model(with_empty)),
                               keras.ops.convert_to_numpy(back(with_empty))))


# the students with custom pooling layers
POOLED = ("mlp-max", "mlp-meanmax", "mlp-attn", "mlp-pair", "mlp-tri", "mlp-quad", "fasttext")


def _pooled_checks(keras, tmp: Path) -> dict:
    """Each custom-pooling student reloads from `.keras` (through load_saved, custom layers and all) with
    identical logits, and ignores padding: with the padding id's embedding row set huge (what an unmasked max
    or mean would pick up), post-padding a row with 8 more zeros changes none of its logits."""
    from keras import layers

    from kdsuite.students import build_student, load_saved

    ids, with_empty = _ids()
    longer = np.pad(ids, ((0, 0), (0, 8)))
    out = {}
    for name in POOLED:
        keras.utils.set_random_seed(0)
        model, _ = build_student(name, VOCAB, SEQ_LEN, CLASSES)
        wide, _ = build_student(name, VOCAB, SEQ_LEN + 8, CLASSES)
        for layer in model.layers:
            if isinstance(layer, layers.Embedding):
                table = keras.ops.convert_to_numpy(layer.embeddings).copy()
                table[0] = 50.0
                layer.embeddings.assign(table)
            elif type(layer).__name__ == "MaskedPool" and layer.weights:  # attention: a score that favours id 0
                layer.weights[0].assign(np.ones(layer.weights[0].shape, "float32"))
        wide.set_weights(model.get_weights())
        model.save(tmp / f"{name}.keras")
        back = load_saved(tmp / f"{name}.keras")
        logits = keras.ops.convert_to_numpy(model(with_empty, training=False))
        out[name] = {
            "reload_identical": bool(np.array_equal(logits, keras.ops.convert_to_numpy(back(with_empty)))),
            "padding_max_diff": float(np.abs(keras.ops.convert_to_numpy(wide(longer, training=False))
                                             - keras.ops.convert_to_numpy(model(ids, training=False))).max()),
            "empty_finite": bool(np.isfinite(logits[2]).all()),
        }
    return out


def _guard_checks(keras) -> dict:
    from keras import layers

    from kdsuite.engine.guards import NonFiniteLoss
    from kdsuite.engine.loss import Distiller
    from kdsuite.errors import KdsuiteError
    from kdsuite.students import build_student

    class Batches(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = 0

        def on_train_batch_begin(self, batch, logs=None):
            self.seen += 1

    def fit(model, x, y, name="toy", **kw):
        guard, batches = NonFiniteLoss(name), Batches()
        try:
            history = model.fit(x, y, batch_size=16, shuffle=False, verbose=0, callbacks=[guard, batches], **kw)
            return {"raised": None, "losses": [float(v) for v in history.history["loss"]]}
        except KdsuiteError as exc:
            return {"raised": str(exc), "epoch": guard.epoch, "batch": guard.batch, "failure": guard.failure,
                    "batches_run": batches.seen, "stop_training": bool(model.stop_training)}

    def toy():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        return model

    x, y = np.ones((48, 4), "float32"), np.zeros((48, 1), "float32")
    x_nan = x.copy()
    x_nan[20] = np.nan  # second batch of 16
    out = {
        "batch_nan": fit(toy(), x_nan, y, epochs=3),
        "batch_nan_resumed": fit(toy(), x_nan, y, epochs=5, initial_epoch=2),
        "val_nan": fit(toy(), x, y, epochs=3, validation_data=(x_nan[:24], y[:24])),
        "clean": fit(toy(), x, y, epochs=2),
    }

    # the issue: the blog mlp with the pre-fix pooling, one all-padding row, trained on labels by the Distiller
    ids, with_empty = _ids()
    rows = np.concatenate([np.tile(ids, (6, 1)), with_empty[2:3]])
    labels = {"label": (np.arange(len(rows)) % CLASSES).astype("int32")}
    keras.utils.set_random_seed(0)
    tokens = keras.Input((SEQ_LEN,), dtype="int32")
    pooled = layers.GlobalAveragePooling1D()(layers.Embedding(VOCAB, 8, mask_zero=True)(tokens))
    old = Distiller(keras.Model(tokens, layers.Dense(CLASSES)(pooled)), "ce")
    old.compile(optimizer=keras.optimizers.Adam(1e-2))
    out["distiller_old_mlp"] = fit(old, rows, labels, name="mlp", epochs=3)
    keras.utils.set_random_seed(0)
    new = Distiller(build_student("mlp", VOCAB, SEQ_LEN, CLASSES)[0], "ce")
    new.compile(optimizer=keras.optimizers.Adam(1e-2))
    out["distiller_new_mlp"] = fit(new, rows, labels, name="mlp", epochs=3)
    return out


def _tokenizer_checks() -> dict:
    """The summary's regex rule against TextVectorization itself, and Tokens.empty_rows from real ids."""
    import keras

    from kdsuite.data.datasets import Split, TextDataset, no_tokens
    from kdsuite.engine.tokens import STANDARDIZE, tokenize

    probes = [". . .", "-", "--- !!", " \t\n!", "'", "[UNK]", "a", "a.", ". b", "…", "«»", "’", "\u00a0", "İ",
              "x-y", "_", "`~", "é", "1", "<br />", "\\", "?!?"]
    vectorizer = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=4, standardize=STANDARDIZE)
    vectorizer.adapt(np.array(["a b c"]))
    empty = ~np.asarray(vectorizer(np.array(probes))).any(axis=1)
    disagree = [p for p, e in zip(probes, empty) if bool(e) != no_tokens(p)]

    texts = {"train": ["good day", ". . .", "bad day", "-- !", "fine"], "validation": ["good", "?"],
             "test": ["bad", "day"]}
    splits = {k: Split(np.array(v, dtype=object), np.arange(len(v)) % 2) for k, v in texts.items()}
    ds = TextDataset(name="tiny", source="memory", label_names=["neg", "pos"], splits=splits, fingerprint="tiny0")
    tokens = tokenize(ds, 20, 6, extra={"transfer": np.array(["ok", ".", "ok ok"], dtype=object)})
    return {"disagree": disagree, "empty_rows": tokens.empty_rows,
            "summary": {k: v["empty_rows"] for k, v in ds.summary()["splits"].items()}}


def _main(backend: str) -> None:
    import tempfile

    from kdsuite.backend import use_backend

    use_backend(backend, threads=1)
    import keras

    result = {"backend": keras.backend.backend(), "students": _student_checks(keras), "guard": _guard_checks(keras)}
    with tempfile.TemporaryDirectory() as tmp:
        result["mlp_reloads"] = _reload_check(keras, Path(tmp))
        result["pooled"] = _pooled_checks(keras, Path(tmp))
    if backend == "tensorflow":
        result["tokenizer"] = _tokenizer_checks()
    print(json.dumps(result))


@lru_cache(maxsize=None)
def _run(backend: str) -> dict:
    env = os.environ | {"KERAS_BACKEND": backend, "KDSUITE_THREADS": "1", "OMP_NUM_THREADS": "1",
                        "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, __file__, backend], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parent.parent, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- students, on every backend

@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_students_are_finite_on_all_padding_rows(backend):
    result = _run(backend)
    assert result["backend"] == backend
    students = result["students"]
    assert {"mlp", "cnn", "bilstm", "mlp-max", "mlp-meanmax", "mlp-attn", "fasttext"} <= \
        {s["family"] for s in students.values()}
    for name, info in students.items():
        assert info["finite"], (name, info)
        assert info["train_loss_finite"] and info["weights_finite"], (name, info)
        # the other rows do not see the empty one (batch-size round-off only; exact for the mlp below)
        assert info["other_rows_max_diff"] <= 1e-5, (name, info)
        if info["family"] == "mlp":
            assert info["identical_to_average_pooling"], (name, info)
            assert info["average_pooling_nan_on_empty"], (name, info)  # what the fix is about
    assert result["mlp_reloads"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_pooled_students_ignore_padding_and_reload(backend):
    pooled = _run(backend)["pooled"]
    assert set(pooled) == set(POOLED)
    for name, info in pooled.items():
        assert info["reload_identical"] and info["empty_finite"], (name, info)
        assert info["padding_max_diff"] <= 1e-5, (name, info)  # summation order only


# ---------------------------------------------------------------- the guard, on every backend

@pytest.mark.parametrize("backend", BACKENDS)
def test_non_finite_loss_stops_the_fit_at_once(backend):
    guard = _run(backend)["guard"]
    first = guard["batch_nan"]
    assert first["raised"] and "\n" not in first["raised"]
    assert "'toy'" in first["raised"] and "epoch 1, batch 2" in first["raised"]
    assert "kdsuite datasets" in first["raised"] and "no tokens" in first["raised"]
    assert (first["epoch"], first["batch"], first["batches_run"]) == (1, 2, 2)  # nothing after the NaN batch
    assert first["stop_training"] and first["failure"] == first["raised"]
    assert "epoch 3, batch 2" in guard["batch_nan_resumed"]["raised"]  # epochs as Keras prints them
    val = guard["val_nan"]
    assert val["raised"] and "val_loss" in val["raised"] and "epoch 1" in val["raised"] and val["batch"] is None
    assert guard["clean"]["raised"] is None and all(np.isfinite(guard["clean"]["losses"]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_guard_catches_the_reported_bug_and_not_the_fix(backend):
    guard = _run(backend)["guard"]
    old = guard["distiller_old_mlp"]
    assert old["raised"] and old["raised"].startswith("student 'mlp': ") and "epoch 1" in old["raised"], old
    new = guard["distiller_new_mlp"]
    assert new["raised"] is None and len(new["losses"]) == 3 and all(np.isfinite(new["losses"])), new


# ---------------------------------------------------------------- counting rows with no tokens

def test_no_tokens_rule_matches_text_vectorization_and_token_ids():
    tok = _run("tensorflow")["tokenizer"]
    assert tok["disagree"] == []
    assert tok["empty_rows"] == {"train": 2, "validation": 1, "test": 0, "transfer": 1}
    assert tok["summary"] == {"train": 2, "validation": 1, "test": 0}


def test_summary_counts_empty_rows_per_split(tmp_path):
    import pandas as pd

    from kdsuite.data.datasets import count_without_tokens, load_dataset, no_tokens

    assert no_tokens(". . .") and no_tokens("-- ! ?") and no_tokens("")
    assert not no_tokens("[UNK]") and not no_tokens("ok.") and not no_tokens("…") and not no_tokens("\u00a0")
    assert count_without_tokens(np.array(["a", ".", ", ,"], dtype=object)) == 2
    texts = {"train": ["i feel good", ". . .", "so sad", "happy day", "awful"] * 4 + [". . ."],
             "validation": ["fine", "!!", "meh", "bad"], "test": ["good", "bad", "ok", "no"]}
    for split, rows in texts.items():
        pd.DataFrame({"text": rows, "label": [i % 2 for i in range(len(rows))]}).to_csv(
            tmp_path / f"{split}.csv", index=False)
    splits = load_dataset(str(tmp_path)).summary()["splits"]
    assert {k: (v["rows"], v["empty_rows"]) for k, v in splits.items()} == \
        {"train": (21, 5), "validation": (4, 1), "test": (4, 0)}


# ---------------------------------------------------------------- augmentation never makes an empty copy

def test_augmentation_replaces_copies_without_tokens(monkeypatch):
    from kdsuite.data import augment as aug
    from kdsuite.data.datasets import no_tokens

    texts = np.array(["wow .", "great film -", "so , so"], dtype=object)
    kw = dict(method="tang", copies=30, seed=3, p_mask=0.0, p_syn=0.0, p_ngram=1.0)
    out, replaced = aug.augment(texts, return_replaced=True, **kw)
    assert len(out) == 90 and not any(no_tokens(t) for t in out)
    assert list(aug.augment(texts, **kw)) == list(out)  # the plain call returns the same texts

    monkeypatch.setattr(aug, "no_tokens", lambda text: False)  # what the copies were before the fix
    raw = aug.augment(texts, **kw)
    sources = np.tile(texts, 30)
    empty = np.array([no_tokens(t) for t in raw])
    assert replaced == int(empty.sum()) > 0
    assert list(out[empty]) == list(sources[empty]) and list(out[~empty]) == list(raw[~empty])


if __name__ == "__main__":
    _main(sys.argv[1])


@pytest.mark.slow
def test_a_nan_fit_is_a_failed_cell_not_a_result(tmp_path):
    """The issue's repro through the CLI: a punctuation-only row and a student whose pooling divides by its token
    count. The fit stops at once with one line naming the student and epoch; nothing is recorded as a result."""
    import pandas as pd

    from tests.conftest import run_cli, write_toy

    folder = write_toy(tmp_path / "toy")
    train = pd.read_csv(folder / "train.csv")
    pd.concat([train, pd.DataFrame({"text": [". . ."], "label": [1]})]).to_csv(folder / "train.csv", index=False)
    student = tmp_path / "avg.py"
    student.write_text(
        "import keras\n"
        "def avg(vocab_size, seq_len, num_classes):\n"
        "    x = keras.Input((seq_len,), dtype='int32')\n"
        "    h = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(vocab_size, 8, mask_zero=True)(x))\n"
        "    return keras.Model(x, keras.layers.Dense(num_classes)(h))\n")
    out = tmp_path / "runs"
    proc = run_cli("distill", str(folder), "--student", f"{student}:avg", "--no-kd", "--epochs", "3",
                   "--batch-size", "300", "--vocab-size", "60", "--seq-len", "12", "--out", str(out))
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert last.startswith("kdsuite: error: student") and "loss became nan at epoch 1" in last and "no tokens" in last
    assert not list(out.glob("results/*.json"))
    fixed = run_cli("distill", str(folder), "--student", "mlp", "--no-kd", "--epochs", "3", "--batch-size", "300",
                    "--vocab-size", "60", "--seq-len", "12", "--out", str(out), "--json")
    assert fixed.returncode == 0 and json.loads(fixed.stdout)["empty_rows"]["train"] == 1
