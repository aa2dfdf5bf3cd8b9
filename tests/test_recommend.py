"""`kdsuite recommend` (report/recommend.py) on the committed leaderboard records in reports/ (read only)."""

from pathlib import Path

import numpy as np
import pytest

from kdsuite.errors import KdsuiteError
from kdsuite.records import StudentRecord, read_records
from kdsuite.report.recommend import recommend
from tests.conftest import REPO, cli_json, run_cli

REPORTS = REPO / "reports"


def _best_by_validation(max_params: int) -> tuple:
    groups = {}
    for r in read_records(REPORTS / "results"):
        if isinstance(r, StudentRecord) and r.dataset == "emotion" and r.param_count <= max_params:
            groups.setdefault((r.model, r.kind, r.backend), []).append(r)
    key = max(groups, key=lambda k: (np.mean([r.val_accuracy for r in groups[k]]), -groups[k][0].param_count,
                                     k[0], k[1]))
    return key, float(np.mean([r.test["accuracy"] for r in groups[key]]))


@pytest.mark.parametrize("budget", [85_000, 100_000, 10_000_000])
def test_recommends_the_best_validation_student_within_budget(budget):
    r = recommend(REPORTS, "emotion", budget)
    (model, kind, backend), accuracy = _best_by_validation(budget)
    assert (r["model"], r["kind"], r["backend"]) == (model, kind, backend) and r["param_count"] <= budget
    assert r["expected_accuracy"] == pytest.approx(accuracy) and r["fallback"] is None and r["why"]


def test_why_compares_bag_of_words_with_order_aware():
    bag = recommend(REPORTS, "emotion", 85_000)  # below cnn-s (86,822): a bag-of-embeddings student
    assert bag["family"] not in ("cnn", "bilstm")
    assert "bag-of-words student" in bag["why"] and "order-aware one" in bag["why"]
    fast = recommend(REPORTS, "emotion", 10_000_000, max_latency_ms=1.0)  # the BiLSTM takes ~3 ms
    assert fast["latency_ms_b1"] <= 1.0 and fast["family"] != "bilstm"


@pytest.mark.parametrize("kwargs, message", [
    ({"max_params": 0}, "--max-params must be a positive number"),
    ({"max_params": 10}, "no emotion student within 10 parameters (smallest: "),
    ({"max_params": 10**6, "max_latency_ms": 0.001}, "answers within 0.001 ms"),
    ({"max_params": 10**6, "fallback_share": 1.5}, "--fallback-share must be in (0, 1)"),
])
def test_bad_input(kwargs, message):
    with pytest.raises(KdsuiteError, match=None) as err:
        recommend(REPORTS, "emotion", **kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_cli_end_to_end(tmp_path):
    r = cli_json("recommend", "emotion", "--max-params", "100000", "--out", str(REPORTS))
    assert r["model"] == _best_by_validation(100_000)[0][0]
    # reports/ holds copied records, no models: a folder is named only where the record's run folder is on this
    # machine (the one that ran the grid), never one from another machine
    assert r["run_dir"] is None or Path(r["run_dir"]).is_dir()
    proc = run_cli("recommend", "emotion", "--max-params", "100000", "--out", str(REPORTS))
    assert proc.returncode == 0 and proc.stdout.startswith(f"deploy {r['model']} ") and "why: " in proc.stdout
    assert (r["run_dir"] or f"(no model folder in {REPORTS}") in proc.stdout.splitlines()[0]
    proc = run_cli("recommend", "nope", "--max-params", "100000", "--out", str(tmp_path))
    assert proc.returncode == 2 and proc.stderr.strip() == (
        f"kdsuite: error: no student results for nope in {tmp_path}: run `kdsuite recommend nope --run-quick "
        f"--out {tmp_path} ...` or `kdsuite run quick --out {tmp_path}` (Emotion) first")


@pytest.mark.slow
def test_run_quick_on_new_data(tmp_path):  # the quick grid on a user's folder: ~2 min
    import kdsuite
    from tests.conftest import write_toy

    folder = write_toy(tmp_path / "toy", rows=160)
    out = tmp_path / "store"
    r = cli_json("recommend", str(folder), "--max-params", "30000", "--run-quick", "--out", str(out))
    records = read_records(out / "results")
    assert {(x.model, x.kind) for x in records if x.status == "ok"} >= {
        ("tfidf-logreg", "teacher"), ("mlp", "kd"), ("mlp-s", "kd"), ("mlp-s", "scratch")}
    assert not [x for x in records if x.status != "ok"]  # kd+transfer needs a dataset's transfer set: none here
    assert r["param_count"] <= 30_000 and r["model"] in ("mlp", "mlp-s", "cnn-s") and (out / "leaderboard.md").is_file()
    assert r["run_dir"].startswith(str(out / "models")) and kdsuite.load_student(r["run_dir"]).predict(["w1 apple"])
    again = run_cli("recommend", str(folder), "--max-params", "30000", "--run-quick", "--out", str(out))
    assert again.returncode == 0 and "done earlier" not in again.stderr  # the store has its students: no grid
    assert again.stdout.startswith(f"deploy {r['model']} ")
