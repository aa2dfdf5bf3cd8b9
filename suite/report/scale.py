"""The data-at-scale benchmark (`kdsuite bench --scale`): time and peak memory of one student cell (load, clean
nothing, tokenise, one epoch of `mlp`, predict) on the Amazon sample resampled with replacement to growing row
counts (test split unchanged), each in a fresh process, so the numbers show how the data path grows with rows.

The resampled datasets are plain parquet folders (`text`, `label`) built once per size under the cache, written
in row groups so nothing holds them whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kdsuite import store
from kdsuite.errors import KdsuiteError

SIZES = (250_000, 500_000, 1_000_000, 2_000_000)
SOURCE = "amazon_polarity"
ROW_GROUP = 50_000


def resampled(rows: int, source: Path, seed: int = 0) -> Path:
    """`SOURCE`'s train rows drawn with replacement to `rows` rows, and its test split as is: a parquet folder
    under the cache, built once."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    stat = (source / "train.parquet").stat() if (source / "train.parquet").is_file() else None
    version = store.key(source=str(source.resolve()), size=stat and stat.st_size, mtime=stat and stat.st_mtime_ns)
    folder = store.cache_root() / "scale" / f"{SOURCE}_{rows}_s{seed}-{version}"
    if (folder / "train.parquet").is_file():
        return folder
    if stat is None:
        raise KdsuiteError(f"{source}: no train.parquet to resample (point --data-dir at the mirror)")
    train = pq.read_table(source / "train.parquet", columns=["text", "label"])
    pick = np.random.default_rng(seed).integers(0, len(train), rows)
    with store.locked(folder / "train.parquet"):
        if not (folder / "train.parquet").is_file():
            with store.atomic_path(folder / "test.parquet") as tmp:
                pq.write_table(pq.read_table(source / "test.parquet", columns=["text", "label"]), tmp)
            with store.atomic_path(folder / "train.parquet") as tmp, pq.ParquetWriter(tmp, train.schema) as w:
                for start in range(0, rows, ROW_GROUP):
                    w.write_table(train.take(pa.array(pick[start:start + ROW_GROUP])), row_group_size=ROW_GROUP)
    return folder


def measure(folder: Path, student: str, seq_len: int, backend: str = "tensorflow") -> dict:
    """Wall time and peak memory (max RSS) of `kdsuite distill FOLDER --student S --no-kd --epochs 1` in a fresh
    process with an empty cache (so it reads, validates and tokenises everything); the record it writes gives the
    seconds of the fit itself."""
    cmd = [sys.executable, "-m", "kdsuite.cli", "distill", str(folder), "--student", student, "--no-kd",
           "--epochs", "1", "--seq-len", str(seq_len), "--backend", backend, "--json"]
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile("w+") as stdout, \
            tempfile.TemporaryFile("w+") as stderr:
        env = os.environ | {"KDSUITE_CACHE": str(Path(tmp) / "cache")}
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd + ["--out", str(Path(tmp) / "store")], stdout=stdout, stderr=stderr, text=True,
                                env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS, not the largest child's so far
        wall = time.perf_counter() - t0
        stdout.seek(0), stderr.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            last = (stderr.read().strip().splitlines() or ["?"])[-1]
            raise KdsuiteError(f"scale bench on {folder.name} failed: {last}")
        record = json.loads(stdout.read())
    return {"wall_s": round(wall, 1), "fit_s": record["times_s"]["train"],
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "test_accuracy": record["test"]["accuracy"], "train_rows": record["train_rows"]}


def run_scale(sizes: list[int], student: str = "mlp", seq_len: int = 128, backend: str = "tensorflow",
              data_dir: str | None = None, out: str | None = None, command: str = "") -> dict:
    """One row per size (rows drawn from the Amazon sample), each measured in a fresh process, with its time and
    peak memory relative to the first size's; with `out`, `bench_scale.json` and `.md` there."""
    import platform

    from kdsuite.data.datasets import data_dir as resolve_data_dir

    root = resolve_data_dir(data_dir)
    if root is None:
        raise KdsuiteError(f"--scale resamples the local {SOURCE} sample: set --data-dir or KDSUITE_DATA_DIR")
    rows = []
    for size in sizes:
        rows.append({"rows": size} | measure(resampled(size, root / SOURCE), student, seq_len, backend))
    for row in rows:
        row["time_vs_first"] = round(row["wall_s"] / rows[0]["wall_s"], 2)
        row["memory_vs_first"] = round(row["peak_rss_mb"] / rows[0]["peak_rss_mb"], 2)
    result = {"source": SOURCE, "student": student, "seq_len": seq_len, "backend": backend, "epochs": 1,
              "hardware": {"machine": platform.machine(), "cpus": os.cpu_count(),
                           "threads": os.environ.get("KDSUITE_THREADS") or "framework default"},
              "commit": store.git_commit(), "command": command, "rows": rows}
    if out:
        store.write_json(Path(out) / "bench_scale.json", result)
        store.write_text(Path(out) / "bench_scale.md", scale_markdown(result))
    return result


def scale_markdown(result: dict) -> str:
    from kdsuite.report.bench import markdown_table

    cols = ("rows", "train_rows", "wall_s", "fit_s", "peak_rss_mb", "time_vs_first", "memory_vs_first",
            "test_accuracy")
    return "\n".join([
        f"# Data at scale: {result['source']} resampled with replacement (test split as is)", "",
        f"`kdsuite distill DIR --student {result['student']} --no-kd --epochs {result['epochs']} --seq-len "
        f"{result['seq_len']}` on {result['backend']}, each size in a fresh process with an empty cache: load, "
        f"validate and fingerprint, tokenise every split, one epoch, predict every split. wall_s: the whole "
        f"process; fit_s: the epoch; peak_rss_mb: the process's maximum resident memory.", "",
        f"Hardware: {json.dumps(result['hardware'])}. Commit {result['commit']}: `{result['command']}`", "",
        *markdown_table(result["rows"], cols)]) + "\n"
