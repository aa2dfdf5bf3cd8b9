"""The Ray executor (`kdsuite run SUITE --executor ray`) on a tiny toy grid with a local Ray of 2 CPUs: the same
records as the local executor, cells that fail or lose their process recorded as failed, a rerun that finishes
the grid, and bad input in one line."""

import importlib.util
import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli, write_toy

needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="Ray is not installed (pip install 'kdsuite[ray]')")


@pytest.fixture(scope="module")
def toy_suite(tmp_path_factory):
    """Teacher fitted in the grid (kd and nested cells must wait for it), a student that does not exist."""
    root = tmp_path_factory.mktemp("ray")
    folder = write_toy(root / "toy", seed=1)
    suite = root / "tiny.toml"
    suite.write_text(f'''
datasets = ["{folder}"]
baselines = ["tfidf-logreg"]
teacher = "tfidf-logreg"
train_teacher = true
students = ["mlp", "nope"]
kinds = ["kd"]
nested = [["mlp", "mlp-s"]]
[train]
epochs = 3
vocab_size = 60
seq_len = 12
learning_rate = 0.01
batch_size = 16
''')
    return root, suite


def _cells_running(out: Path):
    """(pid, parent pid, cell) of each cell process of the store `out` running now."""
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().decode().split("\0")
            spec = argv[argv.index("kdsuite.engine.cell") + 1]
            if spec.startswith(str(out)):
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                yield int(proc.name), ppid, json.loads(Path(spec).read_text())["cell"]
        except (OSError, ValueError, IndexError):
            continue


def _killer(out: Path, targets: dict, stop: threading.Event) -> list:
    """Kill, as soon as it runs, the cell process ("cell") or its Ray worker ("worker") of each (model, kind)."""
    killed = []

    def watch():
        while targets and not stop.is_set():
            for pid, ppid, cell in _cells_running(out):
                what = targets.pop((cell["model"], cell["kind"]), None)
                if what == "worker":
                    assert "ray::" in Path(f"/proc/{ppid}/cmdline").read_text()  # a Ray worker runs the cell
                if what:
                    os.kill(ppid if what == "worker" else pid, signal.SIGKILL)
                    killed.append((cell["model"], cell["kind"], what))
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()
    return killed


def _records(out: Path) -> dict:
    return {p.stem: json.loads(p.read_text()) for p in (out / "results").glob("[!.]*.json")}


@needs_ray
@pytest.mark.slow
def test_ray_grid_matches_local_survives_kills_and_resumes(toy_suite):
    import ray

    from kdsuite.grid.ray_executor import start
    from kdsuite.grid.runner import expand, run_cells
    from kdsuite.grid.suites import load_suite

    root, suite_file = toy_suite
    out = (root / "ray").resolve()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        stop = threading.Event()
        killed = _killer(out, {("tfidf-logreg", "baseline"): "worker", ("mlp-s", "nested"): "cell"}, stop)
        lines = []
        records = run_cells(expand(load_suite(str(suite_file))), out, suite_name="tiny", log=lines.append,
                            execute=start(log=lines.append))
        stop.set()
        assert sorted(killed) == [("mlp-s", "nested", "cell"), ("tfidf-logreg", "baseline", "worker")]
        status = {(r.model, r.kind): r.status for r in records}  # the kd cell waited for the teacher's fit
        assert status == {("tfidf-logreg", "baseline"): "failed", ("tfidf-logreg", "teacher"): "ok",
                          ("mlp", "kd"): "ok", ("nope", "kd"): "failed", ("mlp-s", "nested"): "failed"}
        errors = {(r.model, r.kind): r.error for r in records if r.status == "failed"}
        lost = errors[("tfidf-logreg", "baseline")]
        assert lost.startswith("Ray: ") and "died" in lost, lost
        assert "unknown student 'nope'" in errors[("nope", "kd")]
        assert sum(": accuracy " in line or ": FAILED: " in line for line in lines) == 5, lines  # one per cell
        done = {k: (out / "results" / f"{k}.json").stat().st_mtime for k, r in _records(out).items()
                if r["status"] == "ok"}

        # a rerun through the command line, connected to the same Ray: finished cells skipped, the killed ones done
        address = ray.get_runtime_context().gcs_address
        rerun = run_cli("run", str(suite_file), "--out", str(out), "--executor", "ray", "--address", address)
    finally:
        ray.shutdown()
    assert rerun.returncode == 1 and rerun.stderr.count("done earlier") == 2, rerun.stderr[-3000:]
    assert all((out / "results" / f"{k}.json").stat().st_mtime == m for k, m in done.items())

    local = root / "local"
    assert run_cli("run", str(suite_file), "--out", str(local)).returncode == 1
    by_ray, by_local = _records(out), _records(local)
    assert set(by_ray) == set(by_local) and len(by_ray) == 5
    for key, record in by_local.items():
        assert by_ray[key]["status"] == record["status"], (key, by_ray[key].get("error"))
        assert by_ray[key].get("test") == record.get("test")
    assert sum(r["status"] == "ok" for r in by_ray.values()) == 4


@needs_ray
def test_unreachable_address_fails_in_one_line():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.time()
    proc = run_cli("run", "quick", "--executor", "ray", "--address", f"127.0.0.1:{port}", timeout=120)
    assert proc.returncode == 2 and time.time() - t0 < 60
    assert proc.stderr.strip().startswith(f"kdsuite: error: --address 127.0.0.1:{port}: Ray is not reachable")
    assert "\n" not in proc.stderr.strip()
    proc = run_cli("run", "quick", "--address", f"127.0.0.1:{port}")
    assert proc.returncode == 2 and proc.stderr.strip() == "kdsuite: error: --address needs --executor ray"


def test_ray_not_installed(tmp_path):
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    proc = run_cli("run", "quick", "--executor", "ray", env={"PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 2
    assert proc.stderr.strip() == "kdsuite: error: --executor ray needs Ray: pip install 'kdsuite[ray]'"


@needs_ray
@pytest.mark.slow
def test_executor_bench_runs_both_executors(tmp_path):
    from tests.conftest import cli_json

    folder = write_toy(tmp_path / "toy", seed=2)
    suite = tmp_path / "pair.toml"
    suite.write_text(f'''
datasets = ["{folder}"]
teacher = "tfidf-logreg"
train_teacher = true
students = ["mlp", "mlp-s"]
kinds = ["scratch"]
[train]
epochs = 2
vocab_size = 60
seq_len = 12
batch_size = 16
''')
    out = tmp_path / "bench"
    r = cli_json("bench", "--executors", str(suite), "--out", str(out))
    assert [row["executor"] for row in r["rows"]] == ["local", "ray"]
    for row in r["rows"]:
        assert row["cells"] == 3 and row["wall_s"] > row["cell_s_mean"] > 0 and row["cells_at_once"] >= 1
    assert r["rows"][0]["cells_at_once"] == 1  # the local executor runs one cell at a time
    assert r["ray_over_local"] == round(r["rows"][1]["wall_s"] / r["rows"][0]["wall_s"], 3)
    assert "Ray / local wall time" in (out / "bench_executors.md").read_text()
