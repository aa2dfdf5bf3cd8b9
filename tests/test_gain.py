"""Does distillation pay (report/gain.py), on the committed leaderboard's records."""

import numpy as np
import pytest

from kdsuite.records import StudentRecord, read_records
from kdsuite.report import gain
from tests.conftest import REPO


@pytest.fixture(scope="module")
def records():
    return [r for r in read_records(REPO / "reports" / "results") if r.status == "ok"]


def _mean(records, dataset, model, kind, teacher, key):
    got = [key(r) for r in records if isinstance(r, StudentRecord) and r.backend == "tensorflow"
           and (r.dataset, r.model, r.kind, r.teacher) == (dataset, model, kind, teacher)]
    return float(np.mean(got)) if got else None


def test_gain_rows_recomputed_by_hand(records):
    """Each row: the distilled variant (kind and teacher) with the best validation mean, against the scratch twin,
    with the lead of that variant's own teacher (IMDb holds rows of two teachers)."""
    table = gain.table(records)
    assert set(table) == {r.dataset for r in records if isinstance(r, StudentRecord)} and "emotion" in table
    for dataset, rows in table.items():
        for row in rows:
            test = lambda kind, by=None: _mean(records, dataset, row["model"], kind, by, lambda r: r.test["accuracy"])
            variants = {(r.kind, r.teacher) for r in records if isinstance(r, StudentRecord) and r.backend ==
                        "tensorflow" and (r.dataset, r.model) == (dataset, row["model"]) and r.kind in gain.DISTILLED}
            val = {v: _mean(records, dataset, row["model"], *v, lambda r: r.val_accuracy) for v in variants}
            best = max(sorted(val, key=lambda v: (v[0], v[1] or "")), key=val.get)  # ties: the first, as gain's
            assert (row["best_distilled"], row["teacher"]) == best
            assert row["scratch"] == pytest.approx(test("scratch")) and row["distilled"] == pytest.approx(test(*best))
            assert row["gain"] == pytest.approx(test(*best) - test("scratch"))
            teacher = np.mean([r.test["accuracy"] for r in records if (r.dataset, r.kind, r.teacher) ==
                               (dataset, "teacher", best[1])])
            assert row["teacher_lead"] == pytest.approx(teacher - test("scratch"))
            assert row["pays"] == (row["gain"] >= gain.PAYS)


def test_markdown_says_why_with_a_number(records):
    rows = gain.table(records)["emotion"]
    lines = gain.markdown(rows, "emotion")
    assert len([line for line in lines if line.startswith("| ") and "---" not in line]) == len(rows) + 1
    for row in rows:
        line = next(line for line in lines if line.startswith(f"| {row['model']} |"))
        verdict = line.rstrip(" |").rsplit("| ", 1)[1]
        if row["pays"]:
            assert verdict == "yes"
        else:
            assert verdict.startswith("no: ") and any(ch.isdigit() for ch in verdict)
    assert gain.markdown([], "emotion") == []
