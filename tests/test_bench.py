import json

import pytest

from tests.conftest import cli_json, run_cli, write_toy


@pytest.mark.slow
def test_bench_rows_and_files(tmp_path):
    folder = write_toy(tmp_path / "toy")
    out = tmp_path / "bench"
    r = cli_json("bench", str(folder), "--models", "mlp,cnn-s", "--backends", "torch", "--out", str(out))
    assert [row["model"] for row in r["rows"]] == ["mlp", "cnn-s"]
    for row in r["rows"]:
        assert row["backend"] == "torch" and row["train_samples_per_s"] > 0 and row["disk_bytes"] > 10_000
        assert 0 < row["latency_ms_b1"] <= row["latency_ms_b1_p95"] and row["throughput_b256"] > 0
    assert json.loads((out / "bench_toy.json").read_text())["rows"] == r["rows"]
    assert "| mlp | student | torch |" in (out / "bench_toy.md").read_text()
    proc = run_cli("bench", str(folder), "--backends", "mxnet")
    assert proc.returncode == 2 and "unknown backend 'mxnet'" in proc.stderr


@pytest.mark.slow
def test_overhead_and_cached_vs_per_step_kd(tmp_path):
    folder = write_toy(tmp_path / "toy", rows=96)
    cli_json("teacher", str(folder), "--epochs", "1", "--max-length", "16", "--batch-size", "16")
    out = tmp_path / "bench"
    r = cli_json("bench", str(folder), "--models", "mlp", "--backends", "tensorflow", "--overhead", "--kd-compare",
                 "--kd-rows", "64", "--kd-epochs", "2", "--out", str(out))
    row = r["rows"][0]
    assert row["bare_fit_s"] > 0 and row["overhead_repeats"] == 3  # the minima of 3 alternating pairs
    # the ratio is of unrounded times; the shown seconds are rounded to 0.01
    assert abs(row["fit_overhead"] - row["suite_fit_s"] / row["bare_fit_s"]) < 0.02
    kd = r["kd_compare"]
    assert kd["train_rows"] == 64 and kd["epochs"] == 2 and [s["student"] for s in kd["students"]] == ["mlp"]
    student = kd["students"][0]
    assert student["per_step_fit_s"] > student["cached_fit_s"] > 0  # the teacher's forward passes cost
    assert 0 <= student["cached_accuracy"] <= 1 and 0 <= student["per_step_accuracy"] <= 1
    assert kd["speedup"] == round(kd["per_step_total_s"] / kd["cached_total_s"], 1)
    md = (out / "bench_toy.md").read_text()
    assert "keras.distillation.Distiller" in md and "fit_overhead" in md and r["commit"] in md
    assert r["command"].startswith("kdsuite bench") and r["data_fingerprint"]


def test_executor_bench_reads_cell_spans_from_records(tmp_path):
    import os

    from kdsuite.report.executors import cell_spans, most_at_once

    results = tmp_path / "results"
    results.mkdir()
    for name, wall, end in [("a", 10.0, 1000.0), ("b", 4.0, 1008.0), ("c", 3.0, 1012.0), ("d", None, 1013.0)]:
        path = results / f"{name}.json"
        path.write_text(json.dumps({"wall_s": wall}))
        os.utime(path, (end, end))
    spans = cell_spans(results)  # "d" has no wall_s (an export row): not a cell span
    assert spans == [(990.0, 1000.0), (1004.0, 1008.0), (1009.0, 1012.0)]
    assert most_at_once(spans) == 1 and most_at_once(spans + [(995.0, 1005.0)]) == 2
    assert most_at_once([(0.0, 1.0), (1.0, 2.0)]) == 1  # one ends as the next starts
    proc = run_cli("bench", "--executors", "quick", "--scale")
    assert proc.returncode == 2 and proc.stderr.strip() == "kdsuite: error: --executors and --scale are separate benchmarks"
