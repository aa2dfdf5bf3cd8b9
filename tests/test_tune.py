"""[tune]: trials are ordinary cells in OUT/tuning, the same budget for the scratch twin and the distilled one,
the grid runs with the chosen values, and a rerun replays every trial from the store."""

import json

import pytest

from kdsuite.errors import KdsuiteError
from kdsuite.grid.suites import parse_suite
from tests.conftest import run_cli, write_toy


@pytest.mark.slow
def test_tuned_grid_and_replay(tmp_path):
    from kdsuite.teachers.runs import run_teacher

    folder = write_toy(tmp_path / "toy")
    run_teacher(str(folder), "tfidf-logreg", verbose=0)
    suite = tmp_path / "tuned.toml"
    suite.write_text(f'''
datasets = ["{folder}"]
teacher = "tfidf-logreg"
students = ["mlp"]
kinds = ["scratch", "kd"]
[train]
epochs = 4
vocab_size = 60
seq_len = 12
batch_size = 16
[tune]
trials = 2
learning_rate = [0.003, 0.03]
temperature = [1.0, 3.0]
loss = ["kl", "ce+kl"]
alpha = [0.2, 0.8]
''')
    out = tmp_path / "out"
    proc = run_cli("run", str(suite), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    trials = [json.loads(p.read_text()) for p in (out / "tuning" / "results").glob("*.json")]
    assert sorted(t["kind"] for t in trials) == ["kd", "kd", "scratch", "scratch"]  # the same budget for both twins
    final = {r["kind"]: r for p in (out / "results").glob("*.json") if (r := json.loads(p.read_text()))["kind"] != "teacher"}
    for kind, record in final.items():
        best = max(t["val_accuracy"] for t in trials if t["kind"] == kind)
        assert record["cell"]["train"] in [t["cell"]["train"] for t in trials  # the chosen values, in the record
                                           if t["kind"] == kind and t["val_accuracy"] == best]
    assert "learning_rate" in final["kd"]["cell"]["train"] and "temperature" in final["kd"]["cell"]["train"]
    rerun = run_cli("run", str(suite), "--out", str(out))
    assert rerun.returncode == 0 and rerun.stderr.count("done earlier") == 4 + 3


@pytest.mark.parametrize("table,message", [
    ({"learning_rate": [0.001, 0.01]}, "trials: expected an integer >= 1"),
    ({"trials": 2, "learning_rate": [0.01, 0.001]}, "expected [low, high]"),
    ({"trials": 2, "alpha": [0.1, 2.0]}, "out of range"),
    ({"trials": 2, "loss": ["ce"]}, "unknown value 'ce'"),
    ({"trials": 2, "epochs": [1, 3]}, "unknown key 'epochs'"),
])
def test_bad_tune_tables(table, message):
    with pytest.raises(KdsuiteError, match=message.replace("[", r"\[")):
        parse_suite("t", {"datasets": ["emotion"], "students": ["mlp"], "kinds": ["scratch"], "tune": table}, "t.toml")
