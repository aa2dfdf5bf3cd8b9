"""Shared fixtures. Tests read the real data from $KDSUITE_DATA_DIR (../shared/data in CI), write caches to
a temporary $KDSUITE_CACHE, and cap threads so the suite behaves on 2 cores."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("KDSUITE_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _cache(tmp_path_factory):
    os.environ["KDSUITE_CACHE"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    value = os.environ.get("KDSUITE_DATA_DIR")
    assert value and Path(value, "emotion", "train.parquet").is_file(), \
        "set KDSUITE_DATA_DIR to the offline mirror (../shared/data)"
    return Path(value)


def run_cli(*args: str, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run `kdsuite ARGS` in a fresh process (so each can pick its own Keras backend)."""
    return subprocess.run([sys.executable, "-m", "kdsuite.cli", *args], capture_output=True, text=True,
                          cwd=REPO, env=os.environ | (env or {}), timeout=timeout)


def cli_json(*args: str, env: dict | None = None) -> dict:
    proc = run_cli(*args, "--json", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def write_toy(folder: Path, rows: int = 240, seed: int = 0) -> Path:
    """A learnable 3-class text task: the label is which cue word appears among random filler words."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    cues = ["apple", "river", "stone"]
    filler = [f"w{i}" for i in range(40)]
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", rows), ("validation", rows // 4), ("test", rows // 4)):
        labels = rng.integers(0, 3, n)
        texts = [" ".join(list(rng.choice(filler, 6)) + [cues[y]] + list(rng.choice(filler, 3))) for y in labels]
        pd.DataFrame({"text": texts, "label": labels}).to_csv(folder / f"{split}.csv", index=False)
    (folder / "info.json").write_text(json.dumps({"label_names": cues}))
    return folder
