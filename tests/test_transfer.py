"""Transfer sets: augmentation is deterministic and sane; unlabelled rows reach the student via KD only."""

from pathlib import Path

import numpy as np
import pytest

from kdsuite.data.augment import MASK, augment, synonyms
from kdsuite.errors import KdsuiteError
from kdsuite.config import parse_transfer
from tests.conftest import cli_json, write_toy


def test_augmentation_is_seeded_and_changes_text():
    texts = ["i feel happy and calm today", "the movie was terribly boring and long"] * 20
    a, b = augment(texts, "tang", copies=2, seed=1), augment(texts, "tang", copies=2, seed=1)
    assert len(a) == 80 and list(a) == list(b) and list(a) != list(augment(texts, "tang", copies=2, seed=2))
    assert sum(t != s for t, s in zip(a, texts * 2)) > 40
    assert any(MASK in t for t in a) and any(len(t.split()) <= 5 for t in a)  # masks and n-gram samples
    eda = augment(texts, "eda", copies=1, seed=0)
    assert all(len(e.split()) == len(t.split()) for e, t in zip(eda, texts)) and list(eda) != texts
    assert "glad" in synonyms("happy")


@pytest.mark.parametrize("spec", ["tang", "unsup:x", "mixup:2", "eda:", "imdb.:5", "a.b.c", "imdb.unsup:0"])
def test_bad_transfer_specs(spec):
    with pytest.raises(KdsuiteError, match="expected unsup"):
        parse_transfer(spec)


@pytest.mark.slow
def test_unused_training_rows_as_transfer(tmp_path, capsys):
    folder = write_toy(tmp_path / "toy", rows=400)
    from kdsuite.teachers.runs import run_teacher

    teacher = run_teacher(str(folder), "tfidf-logreg", verbose=0)
    common = ("distill", str(folder), "--student", "mlp", "--teacher", "tfidf-logreg", "--max-train", "60",
              "--epochs", "15", "--vocab-size", "60", "--seq-len", "12", "--learning-rate", "0.01",
              "--batch-size", "16", "--out", str(tmp_path / "runs"))
    kd = cli_json(*common)
    tr = cli_json(*common, "--transfer", "unused")
    assert kd["kind"] == "kd" and tr["kind"] == "kd+transfer"
    assert tr["train_rows"] == 60 and tr["transfer_rows"] == 340 and tr["cell"]["data"]["transfer"] == "unused"
    assert tr["test"]["accuracy"] >= kd["test"]["accuracy"] - 0.02
    # the refusals, in-process (main, as the command line calls it): they come before any training
    from kdsuite.cli import main

    capsys.readouterr()
    Path(teacher["workdir"], "tfidf-logreg.pkl").unlink()  # its logits are here, the fitted model is not
    assert main([*common, "--transfer", "tang:2"]) == 2  # augmented text needs the fitted teacher
    err = capsys.readouterr().err
    assert err.startswith("kdsuite: error: ") and "fine-tuned checkpoint" in err
    assert main([*common[:-2], "--out", str(tmp_path / "r2"), "--transfer", "unsup"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kdsuite: error: ") and "has no unlabelled split" in err
    assert not (tmp_path / "r2" / "results").exists() or not list((tmp_path / "r2" / "results").glob("*.json"))


def test_another_datasets_text_as_transfer(tmp_path, data_dir):
    """`DATASET.SPLIT:N`: the first N texts of a registered dataset's split, labelled by this dataset's teacher
    (its fitted model, as for augmented copies); an unknown dataset or split, or the student's own dataset (whose
    test texts it is measured on), is refused in one line."""
    from kdsuite.data.datasets import load_dataset
    from kdsuite.teachers.runs import run_teacher
    from kdsuite.teachers.transfer import label_texts, transfer_set

    folder = write_toy(tmp_path / "toy", rows=200)
    run_teacher(str(folder), "tfidf-logreg", verbose=0)
    ds = load_dataset(str(folder), max_train=120)
    got = transfer_set(ds, "tfidf-logreg", "unused+emotion.validation:30", data_dir=str(data_dir))
    other = load_dataset("emotion", data_dir).splits["validation"].texts[:30]
    assert len(got.texts) == len(got.logits) == 80 + 30 and got.duplicates == 0
    assert [str(t) for t in got.texts.array()[80:]] == [str(t) for t in other]
    assert np.allclose(got.logits[80:], label_texts(ds, "tfidf-logreg", other), atol=1e-3)
    for spec, message in (("nosuch.train", "not a registered dataset"), ("emotion.unsup", "has no split 'unsup'")):
        with pytest.raises(KdsuiteError, match=message):
            transfer_set(ds, "tfidf-logreg", spec, data_dir=str(data_dir))
    emotion = load_dataset("emotion", data_dir)
    for spec in ("emotion.test:5", "emotion.train"):
        with pytest.raises(KdsuiteError, match=r"another dataset's text; emotion's own is 'unsup' or 'unused'"):
            transfer_set(emotion, "tfidf-logreg", f"tang:1+{spec}", data_dir=str(data_dir))


def test_duplicate_texts_are_kept_once_in_order(data_dir):
    """Transfer sets drop texts met before by a digest per row; same rows as a sort of the strings would keep."""
    from kdsuite.data.datasets import load_dataset
    from kdsuite.teachers.transfer import _first_occurrences

    texts = load_dataset("emotion").splits["train"].texts
    mixed = np.concatenate([texts, texts[::-7], np.array(["é\u2028 ünïcode", "é\u2028 ünïcode"], dtype=object)])
    _, first = np.unique(mixed.astype(str), return_index=True)
    keep = _first_occurrences(mixed)
    assert np.array_equal(keep, np.sort(first)) and len(keep) < len(texts) + 1  # emotion repeats some texts too


@pytest.mark.parametrize("dataset, spec", [("imdb", "unsup:20000+unused+tang:1"), ("emotion", "tang:2+unused")])
def test_transfer_texts_stream_and_match_the_in_memory_set(data_dir, monkeypatch, dataset, spec):
    """File-backed sources stay a lazy `TextColumn` (deduplicated in one pass over its batches, then `take`n);
    the rows, their order, logits and counts are those of concatenating every source's texts in memory."""
    import hashlib

    from kdsuite import store
    from kdsuite.data.datasets import load_dataset
    from kdsuite.teachers import transfer

    ds = load_dataset(dataset, max_train=300)
    rng = np.random.default_rng(0)
    teacher = {"train": rng.normal(size=(len(ds.full_train), 2)).astype("float32")} | (
        {"unsup": rng.normal(size=(len(ds.splits["unsup"]), 2)).astype("float32")} if "unsup" in ds.splits else {})
    monkeypatch.setattr(transfer, "load_teacher_logits", lambda name, data: teacher)
    monkeypatch.setattr(transfer, "augmented_logits",
                        lambda data, name, spec, seed, texts: np.arange(2 * len(texts), dtype="float32").reshape(-1, 2))

    texts, logits, replaced, duplicates = transfer.transfer_set(ds, "some-teacher", spec, seed=3)

    # the in-memory reference: every source's texts as arrays, concatenated, first occurrences by a dict of digests
    ref_texts, ref_logits, ref_replaced = [], [], 0
    for kind, n in parse_transfer(spec):
        if kind == "unsup":
            ref_texts.append(ds.splits["unsup"].texts[:n])
            ref_logits.append(teacher["unsup"][:n])
        elif kind == "unused":
            rest = np.setdiff1d(np.arange(len(ds.full_train)), ds.train_index)
            ref_texts.append(ds.full_train.texts[rest])
            ref_logits.append(teacher["train"][rest])
        else:
            aug, r = augment(ds.splits["train"].texts, kind, copies=n, seed=3, return_replaced=True)
            ref_texts.append(aug)
            ref_logits.append(np.arange(2 * len(aug), dtype="float32").reshape(-1, 2))
            ref_replaced += r
    every = np.concatenate(ref_texts)
    seen = {}
    for i, text in enumerate(every):
        seen.setdefault(hashlib.blake2b(str(text).encode("utf-8", "surrogatepass"), digest_size=16).digest(), i)
    keep = np.fromiter(seen.values(), dtype=np.int64)

    assert duplicates == len(every) - len(keep) > 0 and replaced == ref_replaced
    assert len(texts) == len(logits) == len(keep)
    assert [str(t) for t in texts] == [str(t) for t in every[keep]]  # same rows, same order
    assert np.array_equal(logits, np.concatenate(ref_logits)[keep])
    assert store.text_hash(texts) == store.text_hash(every[keep])  # the students' token cache key is unchanged
    if dataset == "imdb":
        assert texts._array is None  # still unread: the fit streams it
