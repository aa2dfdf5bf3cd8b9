"""Teachers: keras-hub MiniLM matches Hugging Face, a tiny fine-tune exports and caches logits, HF classifiers
have their labels checked, and bad logits files are refused."""

import json

import numpy as np
import pytest
from conftest import write_toy

from kdsuite.errors import KdsuiteError

SENTENCES = ["The café was wonderful, I felt so happy.", "i am feeling rather gloomy today"]
# Computed once with transformers 5 + torch from the same all-MiniLM-L6-v2 weights (AutoTokenizer/AutoModel,
# mean of last_hidden_state over the attention mask, first 8 dims).
HF_IDS = [[101, 1996, 7668, 2001, 6919, 1010, 1045, 2371, 2061, 3407, 1012, 102],
          [101, 1045, 2572, 3110, 2738, 24067, 2100, 2651, 102]]
HF_MEAN = np.array([[0.02467, 0.25633, 0.14694, 0.20316, 0.038, 0.2143, 0.30124, -0.05339],
                    [0.1167, -0.01023, 0.34014, 0.49374, 0.28435, -0.37535, 0.489, -0.18223]])


@pytest.fixture(scope="module")
def minilm():
    from kdsuite.backend import use_backend

    use_backend("tensorflow")
    from kdsuite.teachers import make_teacher

    return make_teacher("minilm-l6", ["a", "b", "c"], max_length=16)


def test_tokenizer_matches_hf_on_accents(minilm):
    enc = minilm.encode(["Café"] + SENTENCES)
    assert enc["token_ids"][0, :3].tolist() == [101, 7668, 102]  # HF: "café" -> "cafe", not [UNK]
    for row, ids in zip(enc["token_ids"][1:], HF_IDS):
        assert row[:len(ids)].tolist() == ids and not row[len(ids):].any()
    long = "Un   café,\n très-bon!! " * 40  # encode() tokenises only the head of long texts: same ids
    whole = minilm.preprocessor(np.array([long]))["token_ids"]
    np.testing.assert_array_equal(minilm.encode([long])["token_ids"], np.asarray(whole))


def test_minilm_matches_hf_sentence_embedding(minilm):
    enc = minilm.encode(SENTENCES)
    hidden = np.asarray(minilm.model.backbone(enc)["sequence_output"])
    mask = enc["padding_mask"][..., None].astype("float32")
    mean = (hidden * mask).sum(1) / mask.sum(1)
    np.testing.assert_allclose(mean[:, :8], HF_MEAN, atol=1e-2)


def test_tiny_fine_tune_exports_and_caches(tmp_path):
    from kdsuite.data.datasets import load_dataset
    from kdsuite.teachers.runs import load_teacher_logits
    from kdsuite.teachers.runs import run_teacher
    from kdsuite.teachers import make_teacher

    toy = str(write_toy(tmp_path / "toy", rows=64))
    kwargs = dict(epochs=1, max_length=16, batch_size=16, ship_dir=tmp_path / "export", verbose=0)
    first = run_teacher(toy, **kwargs)
    assert not first["cached"] and first["fit"]["epochs_done"] == 1
    assert first["rows"] == {"train": 64, "validation": 16, "test": 16}
    assert 0 <= first["test"]["accuracy"] <= 1 and first["param_count"] > 20_000_000 and first["latency_ms_b1"] > 0
    second = run_teacher(toy, **kwargs)
    assert second["cached"] and second["fit"] == first["fit"]  # same key: reused, not retrained

    fresh = make_teacher("minilm-l6", ["apple", "river", "stone"], 16)  # as after a kill: resume, nothing to redo
    enc = {s: dict(np.load(f"{first['workdir']}/tokens-{s}.npz")) for s in ("train", "validation")}
    ds = load_dataset(toy)
    state = fresh.fit((enc["train"], ds.splits["train"].labels), (enc["validation"], ds.splits["validation"].labels),
                      first["workdir"], epochs=1, batch_size=16, verbose=0)
    assert state["history"] == first["fit"]["history"] and int(fresh.model.optimizer.iterations) == 4

    ds = load_dataset(toy, max_train=32)  # a subsample still gets full-train logits, indexed by train_index
    logits = load_teacher_logits("minilm-l6", ds)
    assert {k: v.shape for k, v in logits.items()} == {"train": (64, 3), "validation": (16, 3), "test": (16, 3)}
    assert logits["test"].dtype == np.float32 and ds.train_index.max() < 64
    with np.load(tmp_path / "export" / "toy__minilm-l6.npz") as committed:  # cache and compact copy agree exactly
        assert all(np.array_equal(logits[s], committed[s].astype(np.float32)) for s in logits)
    compact = json.loads((tmp_path / "export" / "toy__minilm-l6.json").read_text())
    assert compact["base_fingerprint"] == ds.base_fingerprint and compact["test_accuracy"] == first["test"]["accuracy"]


def test_unlabelled_export_can_be_capped_without_refitting(tmp_path):
    import pandas as pd

    from kdsuite.data.datasets import load_dataset
    from kdsuite.teachers.runs import run_teacher
    from kdsuite.teachers.transfer import transfer_set

    toy = write_toy(tmp_path / "toy", rows=32)
    pd.DataFrame({"text": [f"w{i} apple w{i + 1}" for i in range(40)], "label": -1}).to_csv(toy / "unsup.csv",
                                                                                            index=False)
    kwargs = dict(epochs=1, max_length=16, batch_size=16, verbose=0)
    capped = run_teacher(str(toy), unlabelled_rows=10, **kwargs)
    assert capped["rows"]["unsup"] == 10 and capped["config"]["unlabelled_rows"] == 10
    ds = load_dataset(str(toy))
    texts, logits, *_ = transfer_set(ds, "minilm-l6", "unsup:5")
    assert len(texts) == len(logits) == 5
    with pytest.raises(KdsuiteError, match="cover only the first 10 unsup rows.*--unlabelled-rows 20"):
        transfer_set(ds, "minilm-l6", "unsup:20")
    whole = run_teacher(str(toy), **kwargs)  # same fine-tune (checkpoint reused), every unsup row exported
    assert whole["rows"]["unsup"] == 40 and whole["fit"] == capped["fit"] and whole["cache"] != capped["cache"]
    np.testing.assert_allclose(transfer_set(ds, "minilm-l6", "unsup:20")[1][:5], logits, atol=1e-3)


def test_tfidf_teacher_fits_exports_and_labels_new_text(tmp_path):
    """The tuned TF-IDF baseline as a teacher: its log-probabilities are cached and exported like any teacher's,
    and the pipeline it keeps labels augmented text for a transfer set."""
    from kdsuite.teachers.sklearn import run_baseline
    from kdsuite.data.datasets import load_dataset
    from kdsuite.teachers.runs import load_teacher_logits
    from kdsuite.teachers.runs import run_teacher
    from kdsuite.teachers.transfer import transfer_set

    toy = str(write_toy(tmp_path / "toy"))
    first = run_teacher(toy, "tfidf-logreg", ship_dir=tmp_path / "export", verbose=0)
    ds = load_dataset(toy)
    baseline = run_baseline(ds)
    assert first["family"] == "sklearn" and set(first["config"]) == {"teacher", "seed", "train"}  # no epochs, lr
    assert first["fit"]["best"]["C"] == baseline["config"]["C"]  # chosen on validation, as for the baseline row
    assert first["test"]["accuracy"] == baseline["test"]["accuracy"] > 0.9
    assert first["param_count"] == baseline["param_count"] and first["latency_ms_b1"] > 0
    assert run_teacher(toy, "tfidf-logreg", verbose=0)["cached"]
    logits = load_teacher_logits("tfidf-logreg", ds)
    probs = np.exp(logits["test"].astype(np.float64))
    np.testing.assert_allclose(probs.sum(1), 1, atol=2e-3)  # log-probabilities (float16-rounded)
    assert (tmp_path / "export" / "toy__tfidf-logreg.npz").is_file()
    texts, eda, replaced, _ = transfer_set(ds, "tfidf-logreg", "eda:1")
    assert len(texts) == len(eda) == len(ds.splits["train"]) and eda.shape[1] == 3
    assert (eda.argmax(1) == ds.splits["train"].labels).mean() > 0.8  # synonym swaps rarely touch the cue word


def _toy_logits(rows=(64, 16, 16), classes=3):
    rng = np.random.default_rng(0)
    return {s: rng.normal(size=(n, classes)).astype("float32") for s, n in zip(("train", "validation", "test"), rows)}


def test_bad_logits_files_are_refused(tmp_path):
    from kdsuite.data.datasets import load_dataset
    from kdsuite.teachers.logit_store import load_logits_file

    ds = load_dataset(str(write_toy(tmp_path / "toy", rows=64)))
    good = tmp_path / "good.npz"
    np.savez(good, **_toy_logits())
    assert load_logits_file(good, ds)["train"].shape == (64, 3)

    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 definitely not a zip")
    cases = {corrupt: "unreadable"}
    for name, arrays, meta, message in (
        ("rows", _toy_logits(rows=(64, 15, 16)), None, "16"),
        ("classes", _toy_logits(classes=4), None, "3 classes"),
        ("split", {k: v for k, v in _toy_logits().items() if k != "test"}, None, "'test'"),
        ("nan", {**_toy_logits(), "test": np.full((16, 3), np.nan, "float32")}, None, "NaN"),
        ("other", _toy_logits(), {"base_fingerprint": "0123456789abcdef", "dataset": "emotion"}, "other data"),
    ):
        path = tmp_path / f"{name}.npz"
        np.savez(path, **arrays)
        if meta:
            path.with_suffix(".json").write_text(json.dumps(meta))
        cases[path] = message
    for path, message in cases.items():
        with pytest.raises(KdsuiteError, match=message) as err:
            load_logits_file(path, ds)
        assert str(path) in str(err.value)


def _tiny_hf_classifier(folder, labels):
    pytest.importorskip("transformers")
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    from kdsuite.teachers.keras_hub import minilm_folder

    tokenizer = BertTokenizer(f"{minilm_folder()}/vocab.txt")
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, id2label=dict(enumerate(labels)),
                        label2id={n: i for i, n in enumerate(labels)})
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def test_hf_teacher_maps_labels_and_refuses_mismatch(tmp_path):
    from kdsuite.teachers import make_teacher

    names = ["apple", "river", "stone"]
    good = make_teacher(f"hf:{_tiny_hf_classifier(tmp_path / 'good', ['Stone', 'apple', 'river'])}", names, 16)
    enc = good.encode(["w1 apple w2", "river w3"])
    raw = good.model(**{k: __import__("torch").from_numpy(v) for k, v in enc.items()}).logits.detach().numpy()
    np.testing.assert_allclose(good.predict(enc), raw[:, [1, 2, 0]], atol=1e-5)

    bad = _tiny_hf_classifier(tmp_path / "bad", ["neg", "pos", "neutral"])
    with pytest.raises(KdsuiteError, match="do not match"):
        make_teacher(f"hf:{bad}", names, 16)


def test_committed_emotion_logits_load_and_match_their_record(data_dir):
    from kdsuite.data.datasets import load_dataset
    from kdsuite.teachers.logit_store import COMMITTED
    from kdsuite.teachers.runs import load_teacher_logits, teacher_record

    record = json.loads((COMMITTED / "emotion__minilm-l6.json").read_text())
    ds = load_dataset("emotion", data_dir, max_train=1000)
    logits = load_teacher_logits("minilm-l6", ds)  # the test cache is empty: this is the committed copy
    assert logits["train"].shape == (16000, 6) and logits["test"].shape == (2000, 6)
    accuracy = (logits["test"].argmax(1) == ds.splits["test"].labels).mean()
    assert accuracy == pytest.approx(record["test_accuracy"], abs=2e-3) and accuracy > 0.9
    row = teacher_record("minilm-l6", ds)  # the leaderboard row a fresh clone gets
    assert row["family"] == "keras-hub" and row["test"]["accuracy"] == record["test_accuracy"]
    spec = f"logits:{COMMITTED / 'emotion__minilm-l6.npz'}"  # the same file named as a suite's teacher
    row = teacher_record(spec, ds)
    assert row["model"] == row["teacher"] == spec and row["family"] == "keras-hub"
    assert row["test"]["accuracy"] == pytest.approx(accuracy) and row["param_count"] == record["param_count"]
