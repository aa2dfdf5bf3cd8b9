"""A longer teacher: head+tail truncation keeps the start and end of a long text; a fine-tune killed mid-epoch
resumes at its last step checkpoint and ends with the weights of an uninterrupted run; a killed logit export
resumes at its first missing chunk (unlabelled splits included)."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, write_toy

from kdsuite.errors import KdsuiteError


@pytest.fixture(scope="module")
def minilm():
    from kdsuite.backend import use_backend

    use_backend("tensorflow")
    from kdsuite.teachers import make_teacher

    return make_teacher("minilm-l6", ["neg", "pos"], max_length=32)


def test_head_tail_keeps_first_and_last_words(minilm, data_dir):
    reviews = pd.read_parquet(data_dir / "imdb" / "test.parquet").text
    long = next(t for t in reviews if 120 < len(t.split()) < 200)  # a real review of ~150 words
    texts = [long, "A short one.", "The café was fine."]
    head = minilm.encode(texts)
    assert minilm.config() == {"family": "keras-hub", "teacher": "minilm-l6", "max_length": 32}  # keys unchanged
    np.testing.assert_array_equal(head["token_ids"], minilm.preprocessor(np.array(texts))["token_ids"])
    minilm.truncation = "head+tail"
    try:
        both = minilm.encode(texts)
        assert minilm.config()["truncation"] == "head+tail"
    finally:
        minilm.truncation = "head"
    tokenize = lambda s: [int(i) for i in minilm.preprocessor.tokenizer(np.array([s]))[0]]
    words = long.split()
    row = both["token_ids"][0].tolist()
    assert row[0] == 101 and row[-1] == 102  # [CLS] 30 text tokens [SEP]
    assert row[1:9] == tokenize(long)[:8] == head["token_ids"][0, 1:9].tolist()  # a quarter from the start
    assert row[9:31] == tokenize(long)[-22:] and row[9:31] != head["token_ids"][0, 9:31].tolist()  # the rest: end
    assert row[1:1 + len(tokenize(words[0]))] == tokenize(words[0])
    assert row[31 - len(tokenize(words[-1])):31] == tokenize(words[-1])
    for k in head:  # short texts, masks and segments as in head mode
        np.testing.assert_array_equal(both[k][1:], head[k][1:])
        if k != "token_ids":
            np.testing.assert_array_equal(both[k], head[k])


def test_truncation_and_checkpoint_options_are_checked(tmp_path, monkeypatch):
    from kdsuite.teachers.runs import run_teacher

    monkeypatch.setenv("KDSUITE_CACHE", str(tmp_path / "cache"))
    toy = str(write_toy(tmp_path / "toy", rows=32))
    with pytest.raises(KdsuiteError, match="tfidf-logreg truncates as head"):
        run_teacher(toy, "tfidf-logreg", truncation="head+tail", verbose=0)
    with pytest.raises(KdsuiteError, match="--checkpoint-every must be >= 0"):
        run_teacher(toy, checkpoint_every=-1, verbose=0)
    with pytest.raises(KdsuiteError, match="ensemble reads no text"):
        run_teacher(toy, "minilm-l6+tfidf-logreg", truncation="head+tail", verbose=0)
    assert not (tmp_path / "cache").exists()


FIT_SCRIPT = """
import json, os, signal, sys
import numpy as np
from kdsuite.backend import use_backend
use_backend("tensorflow")
from kdsuite.data.datasets import load_dataset
from kdsuite.teachers import make_teacher
from kdsuite.teachers.keras_hub import KerasHubTeacher

workdir, kill_at = sys.argv[1], json.loads(sys.argv[2])
ds = load_dataset("emotion")
split = lambda name, n: (ds.splits[name].texts[:n], ds.splits[name].labels[:n])
(tx, ty), (vx, vy), (sx, _) = split("train", 40), split("validation", 16), split("test", 16)
teacher = make_teacher("minilm-l6", ds.label_names, 16)
train_batches = []
dataset, end_step = KerasHubTeacher._dataset, KerasHubTeacher._end_step

def count(self, x, y, batches):
    if y is not None and len(y) == 40:
        train_batches.append(len(batches))
    return dataset(self, x, y, batches)

def end_then_maybe_die(self, ckpt, epoch, step, *args):
    end_step(self, ckpt, epoch, step, *args)
    if [epoch, step] == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)

KerasHubTeacher._dataset, KerasHubTeacher._end_step = count, end_then_maybe_die
state = teacher.fit((teacher.encode(tx), ty), (teacher.encode(vx), vy), workdir, epochs=2, batch_size=4, patience=2,
                    checkpoint_every=3, verbose=0)
teacher.model.load_weights(f"{workdir}/ckpt/epoch2.weights.h5")
np.save(f"{workdir}/last.npy", teacher.predict(teacher.encode(sx)))
print(json.dumps({"history": state["history"], "train_batches": train_batches}))
"""


def _fit(workdir, kill_at=None):
    return subprocess.run([sys.executable, "-c", FIT_SCRIPT, str(workdir), json.dumps(kill_at)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_fine_tune_killed_mid_epoch_resumes_exactly(tmp_path):
    """kill -9 in the second epoch, two steps after its step-6 checkpoint: the rerun trains only the epoch's last 4
    batches and ends with the uninterrupted run's history and weights."""
    whole = _fit(tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr[-3000:]
    killed = _fit(tmp_path / "killed", kill_at=[1, 8])
    assert killed.returncode == -9
    step = json.loads((tmp_path / "killed" / "ckpt" / "step.json").read_text())
    assert (step["epoch"], step["step"], step["weights"]) == (1, 6, "step1-6.weights.h5")
    assert [p.name for p in (tmp_path / "killed" / "ckpt").glob("step*.weights.h5")] == ["step1-6.weights.h5"]
    assert json.loads((tmp_path / "killed" / "ckpt" / "state.json").read_text())["epochs_done"] == 1

    resumed = _fit(tmp_path / "killed")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = json.loads(whole.stdout.splitlines()[-1]), json.loads(resumed.stdout.splitlines()[-1])
    assert a["train_batches"] == [10, 10] and b["train_batches"] == [4]  # resumed at step 6 of 10
    drop = lambda history: [{k: v for k, v in r.items() if k != "seconds"} for r in history]
    assert drop(a["history"]) == drop(b["history"])  # train loss/accuracy of the resumed epoch included
    np.testing.assert_allclose(np.load(tmp_path / "killed" / "last.npy"), np.load(tmp_path / "whole" / "last.npy"),
                               rtol=0, atol=1e-6)
    assert not list((tmp_path / "killed" / "ckpt").glob("step*")) and not list(
        (tmp_path / "killed" / "ckpt").glob("order*"))


EXPORT_SCRIPT = """
import os, signal, sys
from kdsuite.teachers import runs

runs.EXPORT_CHUNK, write, written = 64, runs._write_chunk, []

def write_then_maybe_die(path, logits):
    write(path, logits)
    written.append(path.name)
    if path.name.startswith("unsup-") and sum(n.startswith("unsup-") for n in written) == 2:
        os.kill(os.getpid(), signal.SIGKILL)

runs._write_chunk = write_then_maybe_die
runs.run_teacher(sys.argv[1], epochs=1, max_length=16, batch_size=16, max_train=32, unlabelled_rows=150,
                 ship_dir=sys.argv[2], verbose=0)
"""


@pytest.mark.slow
def test_export_killed_mid_split_resumes_from_its_chunks(tmp_path, monkeypatch):
    """kill -9 during the unlabelled split's export: nothing is cached or shipped, and the rerun neither refits
    nor redoes the finished chunks."""
    from kdsuite.teachers import runs

    monkeypatch.setenv("KDSUITE_CACHE", str(tmp_path / "cache"))
    toy = write_toy(tmp_path / "toy", rows=240)
    pd.DataFrame({"text": [f"w{i} river w{i + 1}" for i in range(200)], "label": -1}).to_csv(toy / "unsup.csv",
                                                                                             index=False)
    ship = tmp_path / "ship"
    killed = subprocess.run([sys.executable, "-c", EXPORT_SCRIPT, str(toy), str(ship)], cwd=REPO,
                            capture_output=True, text=True, timeout=600, env=os.environ.copy())
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert not list((tmp_path / "cache" / "logits").rglob("meta.json"))
    assert not ship.exists() or not [p for p in ship.iterdir() if not p.name.startswith(".")]
    chunks = sorted(p.name for p in (tmp_path / "cache" / "teachers").rglob("export/*.npy"))
    assert {"unsup-0-64.npy", "unsup-64-128.npy"} <= set(chunks) and "unsup-128-150.npy" not in chunks
    state = json.loads(next((tmp_path / "cache" / "teachers").rglob("state.json")).read_text())

    monkeypatch.setattr(runs, "EXPORT_CHUNK", 64)
    meta = runs.run_teacher(str(toy), epochs=1, max_length=16, batch_size=16, max_train=32, unlabelled_rows=150,
                            ship_dir=ship, verbose=0)
    assert meta["fit"] == state and meta["rows"] == {"train": 240, "validation": 60, "test": 60, "unsup": 150}
    assert json.loads((ship / "toy__minilm-l6.json").read_text())["rows"] == meta["rows"]
    assert meta["logit_chunks"] == {"rows": 64, "reused": len(chunks), "computed": 1}
    from kdsuite.data.datasets import load_dataset
    from kdsuite.teachers.runs import finetuned_teacher

    ds = load_dataset(str(toy))
    teacher = finetuned_teacher(ds, "minilm-l6")
    with np.load(f"{meta['cache']}/logits.npz") as exported:
        for split, rows in meta["rows"].items():
            np.testing.assert_allclose(exported[split], teacher.predict(teacher.encode(ds.splits[split].texts[:rows])),
                                       rtol=0, atol=1e-4)
