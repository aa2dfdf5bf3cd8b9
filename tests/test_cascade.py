"""Teacher fallback (report/cascade.py), kept logits (report/logits.py) and calibration (report/calibration.py) on
real Emotion logits: the committed MiniLM teacher, and the committed NBSVM logits standing in for a student."""

import json
import shutil

import numpy as np
import pytest

from kdsuite.data.datasets import load_dataset
from kdsuite.records import read_records
from kdsuite.report import cascade
from kdsuite.report import logits as kept
from kdsuite.report.leaderboard import write_report
from kdsuite.report.recommend import recommend
from kdsuite.teachers.logit_store import COMMITTED, read_npz
from tests.conftest import REPO

FIXTURE = REPO / "tests" / "fixtures" / "emotion_minilm" / "results"


@pytest.fixture(scope="module")
def emotion(data_dir):
    return load_dataset("emotion")


def _kept(name: str, ds) -> dict:
    z = read_npz(COMMITTED / f"emotion__{name}.npz")
    return {**{s: z[s] for s in kept.SPLITS}, **{f"{s}_labels": ds.splits[s].labels for s in kept.SPLITS}}


def _accuracy(logits, labels) -> float:
    return float((logits.argmax(1) == labels).mean())


def test_routing_limits_and_brute_force(emotion):
    student, teacher = _kept("nbsvm", emotion), _kept("minilm-l6", emotion)
    y = student["test_labels"]
    test = cascade.Split(student["test"], teacher["test"], y)
    assert test.at(0.0) == (0.0, _accuracy(student["test"], y))  # threshold 0: the student alone
    assert test.at(cascade.ALWAYS) == (1.0, _accuracy(teacher["test"], y))  # above 1: the teacher alone
    conf = np.exp(student["test"] - student["test"].max(1, keepdims=True))
    conf = (conf / conf.sum(1, keepdims=True)).max(1)
    shares = []
    for threshold in (0.3, 0.5, 0.7, 0.9, 0.99):
        routed = conf < threshold
        pred = np.where(routed, teacher["test"].argmax(1), student["test"].argmax(1))
        share, accuracy = test.at(threshold)
        assert share == pytest.approx(routed.mean(), abs=1e-9) and accuracy == pytest.approx((pred == y).mean())
        shares.append(share)
    assert shares == sorted(shares) and 0 < shares[1] < shares[-1] < 1


def test_thresholds_chosen_on_validation(emotion):
    student, teacher = _kept("nbsvm", emotion), _kept("minilm-l6", emotion)
    val = cascade.Split(student["validation"], teacher["validation"], student["validation_labels"])
    teacher_val = _accuracy(teacher["validation"], teacher["validation_labels"])
    threshold = cascade.choose_reach(val, teacher_val)
    share, accuracy = val.at(threshold)
    assert accuracy >= teacher_val - cascade.REACH - 1e-12 and 0 < share < 1
    lower = val.confidence[val.confidence < threshold]  # the next smaller threshold routes fewer rows, not enough
    assert len(lower) == 0 or val.at(float(lower.max()))[1] < teacher_val - cascade.REACH
    assert val.at(cascade.choose_share(val, 0.2))[0] == pytest.approx(0.2, abs=0.01)
    result = cascade.evaluate(_record_stub(0.5), student, _record_stub(25.0), teacher)
    assert result["alone"]["accuracy"] == pytest.approx(_accuracy(student["test"], student["test_labels"]), abs=1e-5)
    assert result["alone"]["x_teacher"] == 50.0 and result["20%"]["ms_per_row"] == pytest.approx(
        0.5 + result["20%"]["share"] * 25.0, abs=1e-3)
    other = dict(student, test_labels=np.roll(student["test_labels"], 1))
    assert cascade.evaluate(_record_stub(0.5), other, _record_stub(25.0), teacher) is None  # other rows: no cascade


class _record_stub:
    def __init__(self, ms: float):
        self.speed = {"latency_ms_b1": ms}


@pytest.fixture(scope="module")
def store(tmp_path_factory, emotion):
    """A store of a MiniLM-L6 Emotion teacher record and one student record, both from the `cpu` grid's earlier
    committed run (`tests/fixtures/emotion_minilm`), the student's run folder holding the NBSVM logits (real logits
    for every split) in place of its own."""
    out = tmp_path_factory.mktemp("store")
    (out / "results").mkdir()
    records = read_records(FIXTURE)
    teacher = next(r for r in records if r.kind == "teacher" and r.model == "minilm-l6")
    student = next(r for r in records if r.kind == "kd" and r.model == "mlp" and r.seed == 0
                   and r.backend == "tensorflow")
    run_dir = out / "models" / student.cell_key
    run_dir.mkdir(parents=True)
    np.savez(run_dir / "logits.npz", **read_npz(COMMITTED / "emotion__nbsvm.npz"))
    shutil.copy(FIXTURE / f"{teacher.cell_key}.json", out / "results")
    moved = json.loads((FIXTURE / f"{student.cell_key}.json").read_text())
    moved["run_dir"] = str(run_dir)  # the record's own run folder may exist on the machine that ran it
    (out / "results" / f"{student.cell_key}.json").write_text(json.dumps(moved))
    return out, teacher, student


def test_report_keeps_logits_and_shows_calibration_and_fallback(store, emotion):
    out, teacher, student = store
    write_report(out / "results", out)
    z = np.load(kept.path_of(out, student.cell_key))
    assert sorted(z.files) == ["test", "test_labels", "validation", "validation_labels"]
    assert z["test"].dtype == np.float16 and z["test"].shape == (2000, 6)
    assert np.array_equal(z["test_labels"], emotion.splits["test"].labels)
    assert np.array_equal(z["validation"], read_npz(COMMITTED / "emotion__nbsvm.npz")["validation"].astype(np.float16))
    board = json.loads((out / "leaderboard.json").read_text())
    cal = {r["kind"]: r for r in board["calibration"]["emotion"]}
    assert set(cal) == {"teacher", "kd"} and 0 < cal["teacher"]["ece"] < 0.1 and cal["kd"]["temperature"] > 0
    [row] = board["cascade"]["emotion"]["rows"]
    assert row["alone"]["share"] == 0 and row["alone"]["accuracy"] == pytest.approx(0.909, abs=1e-3)  # NBSVM 90.9
    assert row["reach"]["val_accuracy"] >= 0.931 - cascade.REACH - 1e-9  # teacher validation accuracy 93.1
    md = (out / "leaderboard.md").read_text()
    assert "### Calibration" in md and "### Teacher fallback" in md and "| mlp | kd | tensorflow |" in md
    for name in ("calibration_emotion", "cascade_emotion"):
        assert (out / f"{name}.svg").stat().st_size > 10_000
    svg = (out / "cascade_emotion.svg").read_bytes()
    shutil.rmtree(out / "models")  # the report regenerates from kept logits alone, byte for byte
    write_report(out / "results", out)
    assert (out / "leaderboard.md").read_text() == md and (out / "cascade_emotion.svg").read_bytes() == svg


def test_recommend_with_fallback(store):
    out, teacher, student = store
    r = recommend(out, "emotion", 100_000, fallback_share=0.2)
    assert (r["model"], r["kind"]) == ("mlp", "kd") and r["fallback"]["teacher"] == "minilm-l6"
    assert r["fallback"]["share"] == pytest.approx(0.2, abs=0.02) and r["expected_accuracy"] > r["student_accuracy"]
    assert "moves test accuracy +" in r["why"]
    with pytest.raises(Exception, match="answers within 0.5 ms"):
        recommend(out, "emotion", 100_000, max_latency_ms=0.5, fallback_share=0.2)  # 0.2 x 24.6 ms > 0.5 ms
