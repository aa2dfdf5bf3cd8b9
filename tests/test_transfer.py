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


@pytest.mark.parametrize("spec", ["tang", "unsup:x", "mixup:2", "eda:"])
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


def test_duplicate_texts_are_kept_once_in_order(data_dir):
    """Transfer sets drop texts met before by a digest per row; same rows as a sort of the strings would keep."""
    from kdsuite.data.datasets import load_dataset
    from kdsuite.teachers.transfer import _first_occurrences

    texts = load_dataset("emotion").splits["train"].texts
    mixed = np.concatenate([texts, texts[::-7], np.array(["é\u2028 ünïcode", "é\u2028 ünïcode"], dtype=object)])
    _, first = np.unique(mixed.astype(str), return_index=True)
    keep = _first_occurrences(mixed)
    assert np.array_equal(keep, np.sort(first)) and len(keep) < len(texts) + 1  # emotion repeats some texts too
