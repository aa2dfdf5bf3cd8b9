import numpy as np
import pytest

from kdsuite.metrics import classification_metrics
from kdsuite.data.preprocess import nltk_clean
from tests.conftest import cli_json, run_cli


def test_metrics_on_a_known_example():
    m = classification_metrics([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], ["a", "b", "c"])
    assert m["accuracy"] == 0.6
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    np.testing.assert_allclose(m["macro_precision"], (0.5 + 2 / 3 + 0) / 3)
    np.testing.assert_allclose(m["macro_recall"], (0.5 + 1 + 0) / 3)
    assert m["per_class"]["b"]["support"] == 2 and m["per_class"]["c"]["f1-score"] == 0


def test_nltk_cleaning():
    assert nltk_clean("I didn't like the U.S. movies, did he? 3 stars!") == "like movies stars"


@pytest.mark.slow
def test_baseline_cli_on_emotion(data_dir, tmp_path):
    """The issue's done-criterion: tuned TF-IDF + LogReg on the real Emotion data, >= 85% test accuracy."""
    r = cli_json("baseline", "emotion", "--out", str(tmp_path))
    assert r["test"]["accuracy"] >= 0.85, r["test"]["accuracy"]
    assert r["data_source"].endswith("emotion") and r["train_rows"] == 16000
    assert r["param_count"] == 7 * r["vocabulary_size"] + 6  # 6 classes x vocab weights + 6 biases + idf
    assert {g["C"] for g in r["tuning"]["grid"]} >= {0.25, 64.0}
    assert len(r["test"]["confusion_matrix"]) == 6 and r["times_s"]["fit"] > 0


@pytest.mark.slow
def test_baseline_on_a_subsample_and_exit_codes(data_dir, tmp_path):
    r = cli_json("baseline", "amazon_polarity", "--max-train", "2000", "--data-seed", "1", "--out", str(tmp_path))
    assert r["train_rows"] == 2000 and r["test"]["accuracy"] > 0.75
    assert r["data_recipe"]["max_train"] == 2000
    proc = run_cli("baseline", "emotion", "--train-fraction", "1.5")
    assert proc.returncode == 2 and proc.stderr.startswith("kdsuite: error: --train-fraction")
    assert run_cli("baseline").returncode == 2  # argparse: missing dataset
