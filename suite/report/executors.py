"""The executor benchmark (`kdsuite bench --executors SUITE`): the same suite run by the local executor and by the
Ray executor on this machine, each `kdsuite run` in a fresh process with an empty cache and an empty store, so
the wall times compare whole runs (data, tokens, cells, exports, report) and the cells' own seconds show Ray's
cost per cell. Repeats alternate the executors, so load from other work falls on both."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kdsuite.errors import KdsuiteError
from kdsuite.report.bench import published

EXECUTORS = ("local", "ray")


def cell_spans(results: Path) -> list[tuple[float, float]]:
    """(start, end) of each finished cell in a store: a record is written atomically as its cell ends (the file's
    mtime), after `wall_s` seconds of the cell's process."""
    spans = []
    for path in sorted(results.glob("*.json")):
        wall = json.loads(path.read_text()).get("wall_s")
        if wall is not None:
            end = path.stat().st_mtime
            spans.append((end - wall, end))
    return spans


def most_at_once(spans: list[tuple[float, float]]) -> int:
    """The largest number of cells running at the same moment."""
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])  # an end before a start at one time
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def measure(suite: str, executor: str, data_dir: str | None) -> dict:
    """One `kdsuite run SUITE --executor EXECUTOR` in a fresh process, cache and store."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        env = os.environ | {"KDSUITE_CACHE": str(Path(tmp) / "cache")}
        cmd = [sys.executable, "-m", "kdsuite.cli", "run", suite, "--out", str(out), "--executor", executor, "--json"]
        if data_dir:
            cmd += ["--data-dir", data_dir]
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines() or ["?"]
            last = next((line for line in lines if "FAILED" in line), lines[-1])
            raise KdsuiteError(f"executor bench: kdsuite run {suite} --executor {executor} failed: {last}")
        spans = cell_spans(out / "results")
    cell_s = sum(e - s for s, e in spans)
    return {"executor": executor, "wall_s": round(wall, 1), "cells": len(spans), "cell_s": round(cell_s, 1),
            "cell_s_mean": round(cell_s / len(spans), 1) if spans else None,
            "cells_at_once": most_at_once(spans),
            "mean_cells_running": round(cell_s / (max(e for _, e in spans) - min(s for s, _ in spans)), 2)
            if spans else None,
            "load_average": [round(load, 2), round(os.getloadavg()[0], 2)]}


def run_executors(suite: str = "quick", data_dir: str | None = None, out: str | None = None, command: str = "",
                  repeats: int = 1) -> dict:
    """`repeats` runs of `suite` by each executor, in turn; with `out`, `bench_executors.json` and `.md` there."""
    if repeats < 1:
        raise KdsuiteError(f"--repeats must be positive, got {repeats}")
    rows = [measure(suite, executor, data_dir) for _ in range(repeats) for executor in EXECUTORS]
    best = {e: min(r["wall_s"] for r in rows if r["executor"] == e) for e in EXECUTORS}
    result = {"suite": suite, "repeats": repeats, "ray_over_local": round(best["ray"] / best["local"], 3)}
    return published(result, rows, command, out, "bench_executors", executors_markdown)


def executors_markdown(result: dict) -> str:
    from kdsuite.report.bench import markdown_table

    cols = ("executor", "wall_s", "cells", "cell_s", "cell_s_mean", "cells_at_once", "mean_cells_running",
            "load_average")
    return "\n".join([
        f"# The Ray executor against the local one: `kdsuite run {result['suite']}`", "",
        "Each run: `kdsuite run SUITE --executor E` in a fresh process with an empty cache (data, tokens and "
        "baseline tuning redone; teacher logits committed) and an empty store; repeats alternate the executors. "
        "The Ray executor starts a local Ray on every core and runs cells as tasks of $KDSUITE_THREADS CPUs.", "",
        "- wall_s: the whole command (Ray's start included); cell_s: the cells' own seconds summed (each cell's "
        "process, from its record); cells_at_once: most cells running at one moment; mean_cells_running: cell "
        "seconds over the span from the first cell's start to the last one's end. load_average: the host's "
        "1-minute load before and after.",
        f"- Ray / local wall time, fastest of each: **{result['ray_over_local']}** (the goal: at most 1.10).", "",
        f"Hardware: {json.dumps(result['hardware'])}. Commit {result['commit']}: `{result['command']}`", "",
        *markdown_table(result["rows"], cols)]) + "\n"
