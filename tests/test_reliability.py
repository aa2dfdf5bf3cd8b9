"""Reliability: fail fast offline, atomic files under kill -9, a shared cache under concurrency, and
determinism per seed (exact on TensorFlow; JAX and torch within the documented tolerance)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from kdsuite import store
from tests.conftest import REPO, cli_json, write_toy
from tests.test_distill import toy_teacher_logits


def test_hub_unreachable_fails_fast():
    env = {k: v for k, v in os.environ.items() if k != "KDSUITE_DATA_DIR"} | {"HF_ENDPOINT": "http://127.0.0.1:9"}
    start = time.time()
    proc = subprocess.run([sys.executable, "-m", "kdsuite.cli", "baseline", "imdb"], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=120)
    assert proc.returncode == 2 and time.time() - start < 20
    assert "hub is unreachable (stanfordnlp/imdb)" in proc.stderr and "KDSUITE_DATA_DIR" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_atomic_write_survives_kill(tmp_path):
    target = tmp_path / "leaderboard.md"
    store.write_text(target, "old complete report\n")
    code = (f"from kdsuite import store\nimport time\nwith store.atomic_path({str(target)!r}) as tmp:\n"
            f"    f = open(tmp, 'w'); f.write('half a rep'); f.flush(); print('writing', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert target.read_text() == "old complete report\n"
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == ["leaderboard.md"]
    with pytest.raises(RuntimeError):
        with store.atomic_path(target) as tmp:
            tmp.write_text("broken")
            raise RuntimeError
    assert target.read_text() == "old complete report\n" and len(list(tmp_path.iterdir())) == 2


def test_two_concurrent_runs_share_one_cache(tmp_path):
    folder = write_toy(tmp_path / "toy")
    logits = toy_teacher_logits(folder)
    env = os.environ | {"KDSUITE_CACHE": str(tmp_path / "shared-cache")}
    args = ["distill", str(folder), "--teacher-logits", str(logits), "--epochs", "8", "--vocab-size", "60",
            "--learning-rate", "0.01", "--batch-size", "16",
            "--seq-len", "12", "--json"]
    procs = [subprocess.Popen([sys.executable, "-m", "kdsuite.cli", *args, "--student", s, "--out",
                               str(tmp_path / f"out-{s}")], cwd=REPO, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for s in ("mlp", "cnn-s")]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    results = [json.loads(o[0]) for o in outs]
    entries = [p for p in (tmp_path / "shared-cache" / "tokens").iterdir() if not p.name.endswith(".lock")]
    assert len(entries) == 1 and entries[0].is_dir() and not entries[0].name.startswith(".")  # one, whole
    assert sorted(p.name for p in entries[0].iterdir()) == ["test.npy", "tokens.json", "train.npy", "validation.npy"]
    assert all(r["test"]["accuracy"] > 0.5 for r in results)


@pytest.mark.slow
@pytest.mark.parametrize("backend,tolerance", [("tensorflow", 0.0), ("jax", 0.02), ("torch", 0.02)])
def test_same_seed_same_metrics(tmp_path, backend, tolerance):
    folder = write_toy(tmp_path / "toy")
    logits = toy_teacher_logits(folder)
    runs = [cli_json("distill", str(folder), "--student", "cnn-s", "--teacher-logits", str(logits), "--backend",
                     backend, "--epochs", "4", "--vocab-size", "60", "--seq-len", "12", "--seed", "7",
                     "--out", str(tmp_path / f"out{i}")) for i in range(2)]
    a, b = (r["test"] for r in runs)
    assert abs(a["accuracy"] - b["accuracy"]) <= tolerance and abs(a["macro_f1"] - b["macro_f1"]) <= tolerance
    if tolerance == 0.0:
        assert a == b and runs[0]["val_accuracy"] == runs[1]["val_accuracy"]
