import json

from tests.conftest import cli_json, run_cli, write_toy


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
