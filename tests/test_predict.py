"""Using a trained student: the Python API, `kdsuite predict`, the raw-text `.keras`, the model card, and the
calibration numbers every student record carries."""

import json

import numpy as np
import pytest

from kdsuite.metrics import expected_calibration_error, fit_temperature, reliability, softmax
from tests.conftest import cli_json, run_cli, write_toy


def test_ece_and_temperature_on_known_examples():
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    labels = np.array([0, 1, 0, 0])  # the 0.9 bin is right half the time, the 0.6 bin always
    assert expected_calibration_error(probs, labels) == pytest.approx(0.5 * 0.4 + 0.5 * 0.4)
    assert [r["rows"] for r in reliability(probs, labels)] == [2, 2]
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(6000, 3))  # calibrated: labels drawn from softmax(logits)
    labels = np.array([rng.choice(3, p=p) for p in softmax(logits)])
    t = fit_temperature(logits * 3.0, labels)  # over-confident by 3x: the fitted temperature undoes it
    assert 2.5 < t < 3.5
    assert expected_calibration_error(softmax(logits * 3.0, t), labels) < expected_calibration_error(
        softmax(logits * 3.0), labels)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    folder = write_toy(root / "toy")
    record = cli_json("distill", str(folder), "--student", "mlp", "--no-kd", "--epochs", "25", "--patience", "25",
                      "--learning-rate", "0.01", "--batch-size", "16", "--vocab-size", "60", "--seq-len", "12",
                      "--out", str(root / "runs"))
    return root, record


def test_load_student_predicts_like_training(trained):
    import kdsuite

    root, record = trained
    student = kdsuite.load_student(record["run_dir"])
    out = student.predict(["w1 w2 apple w3", "stone w9", ". . ."])
    assert [o["label"] for o in out[:2]] == ["apple", "stone"]
    assert all(abs(sum(o["probabilities"].values()) - 1) < 1e-4 for o in out)
    cal = record["calibration"]
    assert 0 <= cal["ece"] <= 1 and 0 <= cal["ece_scaled"] <= 1 and cal["temperature"] > 0 and cal["bins"] == 15
    card = (root / "runs" / "models" / record["cell_key"] / "README.md").read_text()
    assert "kdsuite.load_student" in card and f"{100 * record['test']['accuracy']:.2f}%" in card


def test_raw_text_keras_model_matches(trained):
    import tensorflow as tf

    import kdsuite
    from kdsuite.students import load_saved

    _, record = trained
    texts = ["w1 w2 apple w3", "river w5 w6", "nothing known here"]
    text_model = load_saved(f"{record['run_dir']}/student_text.keras")
    via_text = text_model.predict(tf.constant([[t] for t in texts]), verbose=0)
    np.testing.assert_allclose(via_text, kdsuite.load_student(record["run_dir"]).probabilities(texts), atol=1e-5)


@pytest.mark.slow
def test_predict_cli_and_bad_input(trained, tmp_path):
    _, record = trained
    run_dir = record["run_dir"]
    r = cli_json("predict", run_dir, "w3 river w4", "stone")
    assert [p["label"] for p in r["predictions"]] == ["river", "stone"]
    lines = tmp_path / "in.txt"
    lines.write_text("apple w1\n\nw2 stone\n")
    out = tmp_path / "out.jsonl"
    assert run_cli("predict", run_dir, "--input", str(lines), "--output", str(out)).returncode == 0
    assert [json.loads(x)["label"] for x in out.read_text().splitlines()] == ["apple", "stone"]
    (tmp_path / "empty.txt").write_text("\n")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    (tmp_path / "novocab").mkdir()
    cases = {(str(tmp_path / "nope"), "x"): "no such run folder",
             (str(tmp_path / "novocab"), "x"): "not a student run folder",
             (run_dir, "--input", str(tmp_path / "empty.txt")): "empty file",
             (run_dir, "--input", str(tmp_path / "latin1.txt")): "not UTF-8",
             (run_dir,): "give texts to classify"}
    for args, message in cases.items():
        proc = run_cli("predict", *args)
        assert proc.returncode == 2 and message in proc.stderr.strip().splitlines()[-1], proc.stderr[-1000:]
