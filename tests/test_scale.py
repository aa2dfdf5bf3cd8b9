"""The bounded-memory data path: texts read in batches, ids written chunk by chunk to memory-mapped files and fits
streamed from them give what the in-memory path gave; `kdsuite bench --scale` measures it."""

import json

import numpy as np
import pandas as pd
import pytest

from kdsuite.data import datasets
from kdsuite.data.datasets import Split, content_hash, load_dataset
from tests.conftest import cli_json


def test_streamed_fingerprint_and_columns_match_memory(data_dir, monkeypatch):
    monkeypatch.setattr(datasets, "BATCH_ROWS", 700)  # several record batches, the last one partial
    ds = load_dataset("emotion", data_dir, max_train=1500)
    in_memory = {name: Split(np.array(list(split.column), dtype=object), split.labels)
                 for name, split in load_dataset("emotion", data_dir).splits.items()}
    assert content_hash(in_memory, ds.label_names) == ds.fingerprint
    raw = pd.read_parquet(data_dir / "emotion" / "train.parquet")
    full = raw.text.to_numpy(dtype=object)
    assert np.array_equal(ds.full_train.texts, full) and np.array_equal(ds.splits["train"].texts, full[ds.train_index])
    column = ds.full_train.column.take(np.array([3, 900, 901, 1499]))  # unread rows of a subset, across batches
    assert list(column) == list(full[[3, 900, 901, 1499]]) and len(column) == 4


def test_memmapped_ids_equal_in_memory_ids(data_dir, monkeypatch):
    import keras

    from kdsuite.engine import tokens as tokens_module
    from kdsuite.engine.tokens import STANDARDIZE, tokenize

    monkeypatch.setattr(tokens_module, "BATCH_ROWS", 512)
    ds = load_dataset("emotion", data_dir, max_train=2000)
    extra = np.array(["a new text", ". . .", "joy joy"], dtype=object)
    tokens = tokenize(ds, 800, 24, extra={"transfer": extra})
    vectorizer = keras.layers.TextVectorization(max_tokens=800, output_sequence_length=24, standardize=STANDARDIZE)
    vectorizer.adapt(ds.splits["train"].texts.astype(str))  # the former path: everything in memory, one call
    assert tokens.vocabulary == vectorizer.get_vocabulary()
    for name, texts in {**{k: v.texts for k, v in ds.splits.items()}, "transfer": extra}.items():
        assert isinstance(tokens.ids[name], np.memmap)
        assert np.array_equal(tokens.ids[name], np.asarray(vectorizer(texts.astype(str)))), name
    assert tokens.empty_rows == {"train": 0, "validation": 0, "test": 0, "transfer": 1}
    assert tokenize(ds, 800, 24, extra={"transfer": extra}).vocabulary == tokens.vocabulary  # read from the cache


def test_streamed_batches_are_keras_array_batches(tmp_path):
    import keras
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

    from kdsuite.engine import batches

    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 100, (230, 5)).astype("int32"), rng.integers(0, 100, (75, 5)).astype("int32")
    np.save(tmp_path / "a.npy", a), np.save(tmp_path / "b.npy", b)
    x = [np.load(tmp_path / "a.npy", mmap_mode="r"), np.load(tmp_path / "b.npy", mmap_mode="r")]
    y = {"label": np.arange(305, dtype="int32"), "teacher": rng.normal(size=(305, 3)).astype("float32")}

    def epochs(data, n=2):
        return [[(np.asarray(bx), {k: np.asarray(v) for k, v in by.items()}) for bx, by in data] for _ in range(n)]

    keras.utils.set_random_seed(7)
    ours = epochs(batches.dataset(x, y, 32, shuffle=True))
    keras.utils.set_random_seed(7)
    theirs = epochs(ArrayDataAdapter(np.concatenate([a, b]), y, batch_size=32, shuffle=True).get_tf_dataset())
    assert len(ours[0]) == 10 and not np.array_equal(ours[0][0][1]["label"], np.arange(32))
    for mine, keras_epoch in zip(ours, theirs):
        for (mx, my), (kx, ky) in zip(mine, keras_epoch, strict=True):
            assert np.array_equal(mx, kx) and all(np.array_equal(my[k], ky[k]) for k in y)
    ordered = np.concatenate(list(batches.dataset(x, None, 64, shuffle=False)))
    assert np.array_equal(ordered, np.concatenate([a, b]))


@pytest.mark.slow
def test_scale_bench_tiny(tmp_path):  # two fresh processes: ~20 s
    rng = np.random.default_rng(0)
    source = tmp_path / "data" / "amazon_polarity"
    source.mkdir(parents=True)
    for split, n in (("train", 120), ("test", 60)):
        labels = rng.integers(0, 2, n)
        texts = [f"{'great' if y else 'awful'} item number {i} " + " ".join(rng.choice(["a", "b", "c"], 4))
                 for i, y in enumerate(labels)]
        pd.DataFrame({"text": texts, "label": labels}).to_parquet(source / f"{split}.parquet")
    out = tmp_path / "out"
    result = cli_json("bench", "--scale", "--sizes", "300,600", "--seq-len", "8", "--data-dir",
                      str(tmp_path / "data"), "--out", str(out))
    assert [r["rows"] for r in result["rows"]] == [300, 600]
    assert [r["train_rows"] for r in result["rows"]] == [270, 540]  # a tenth carved for validation
    assert all(r["peak_rss_mb"] > 100 and r["wall_s"] > r["fit_s"] > 0 for r in result["rows"])
    assert result["rows"][0]["time_vs_first"] == 1.0
    assert json.loads((out / "bench_scale.json").read_text())["rows"] == result["rows"]
    assert "| rows |" in (out / "bench_scale.md").read_text()


def test_transfer_folder_aligns_real_teacher_logits(data_dir):
    """`bench --scale --transfer-rows`: Amazon's train split as is (carved as the registered dataset is, so the
    committed NBSVM logits align), and drawn transfer rows, distinct texts that tokenise as their source rows and
    carry their source rows' logits."""
    import keras

    from kdsuite.engine.tokens import STANDARDIZE
    from kdsuite.report.scale import LOGITS, TEACHER, transfer_folder
    from kdsuite.teachers.logit_store import load_logits_file, read_logits

    folder = transfer_folder(300, data_dir)
    assert transfer_folder(300, data_dir) == folder  # built once
    src, ds = load_dataset("amazon_polarity", data_dir), load_dataset(str(folder))
    for split in ("train", "validation", "test"):
        assert np.array_equal(ds.splits[split].texts, src.splits[split].texts), split
    unsup = ds.splits["unsup"]
    assert len(unsup) == 300 and (unsup.labels == -1).all() and len(set(unsup.texts)) == 300
    logits, committed = load_logits_file(folder / LOGITS, ds), read_logits(TEACHER, src)
    source_row = {t: i for i, t in enumerate(src.splits["train"].texts)}
    picked = [source_row[t.rsplit(" ", 1)[0]] for t in unsup.texts]  # the tag is the last word
    assert np.array_equal(logits["unsup"], committed["train"][picked])
    assert all(np.array_equal(logits[s], committed[s]) for s in ("train", "validation", "test"))
    vectorizer = keras.layers.TextVectorization(max_tokens=2000, output_sequence_length=64, standardize=STANDARDIZE)
    vectorizer.adapt(src.splits["train"].texts[:2000].astype(str))
    assert np.array_equal(np.asarray(vectorizer(unsup.texts.astype(str))),
                          np.asarray(vectorizer(src.splits["train"].texts[picked].astype(str))))


@pytest.mark.slow
@pytest.mark.parametrize("via", ["train_student", "distill"])
def test_transfer_bench_small(tmp_path, data_dir, via):  # two fresh processes each: ~40 s
    out = tmp_path / "out"
    result = cli_json("bench", "--scale", "--transfer-rows", "5000", "--out", str(out),
                      *(["--via-distill"] if via == "distill" else []))
    assert result["teacher"] == "nbsvm" and result["suite_path"].endswith(via)
    (row,) = result["rows"]
    assert row["transfer_rows"] == 5000 and row["fit_rows"] == row["train_rows"] + 5000  # no copy dropped
    assert row["train_rows"] == 18843  # Amazon's train less the carved tenth, as the committed logits have it
    for side in ("suite", "bare"):
        assert 0 < row[f"{side}_fit_s"] < row[f"{side}_wall_s"]
        assert row[f"{side}_rows_per_s"] == round(row["fit_rows"] / row[f"{side}_fit_s"], 1)
        assert 100 < row[f"{side}_fit_peak_rss_mb"] <= row[f"{side}_peak_rss_mb"] < 8000
        assert 0.6 < row[f"{side}_val_accuracy"] <= 1  # learns from the real teacher in one epoch
    assert row["fit_time_ratio"] == round(row["suite_fit_s"] / row["bare_fit_s"], 2)
    assert row["suite_fit_s_all"] == [row["suite_fit_s"]] and row["repeats"] == 1
    assert row["suite_val_accuracy"] == row["bare_val_accuracy"]  # the same batches, in Keras' order
    assert json.loads((out / "bench_transfer.json").read_text())["rows"] == result["rows"]
    assert "| transfer_rows |" in (out / "bench_transfer.md").read_text()


def test_transfer_flags_need_scale():
    from tests.conftest import run_cli

    for args, says in ((("--transfer-rows", "5000"), "go with --scale"), (("--scale", "--via-distill"), "go with"),
                       (("--scale", "--transfer-rows", "0"), "must be positive"),
                       (("--scale", "--transfer-rows", "5000", "--repeats", "0"), "--repeats must be positive")):
        proc = run_cli("bench", *args, timeout=120)
        assert proc.returncode != 0 and says in proc.stderr, (args, proc.stderr[-500:])
