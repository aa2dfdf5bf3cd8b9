"""Leaderboard rows from committed IMDb records (report/leaderboard.py, report/gain.py): one student distilled
from two teachers keeps two rows, each measured against its own teacher."""

from pathlib import Path

import numpy as np
import pytest

from kdsuite.records import read_records
from kdsuite.report import gain, leaderboard
from kdsuite.report.order import kind_label
from tests.conftest import REPO

ENSEMBLE = "nbsvm+tfidf-logreg+scratch:fasttext-w:0+scratch:fasttext-w:1+scratch:fasttext-w:2"


@pytest.fixture(scope="module")
def records():
    """`reports/imdb_ensemble`: fastText-wide from NBSVM + TF-IDF + its own scratch runs, beside the `imdb`
    suite's NBSVM-taught rows, NBSVM teacher row, scratch twins and baselines."""
    records = [r for r in read_records(REPO / "reports" / "imdb_ensemble" / "results") if r.status == "ok"]
    assert {r.teacher for r in records if r.kind == "kd+transfer"} == {"nbsvm", ENSEMBLE}
    return records


def _teacher_accuracy(records, name):
    return np.mean([r.test["accuracy"] for r in records if r.kind == "teacher" and r.teacher == name])


def test_two_teachers_rows_stay_apart(records):
    rows = leaderboard.aggregate(records)
    kd = {r["teacher"]: r for r in rows if (r["model"], r["kind"]) == ("fasttext-w", "kd+transfer")}
    assert set(kd) == {"nbsvm", ENSEMBLE} and all(r["seeds"] == 3 for r in kd.values())
    for name, row in kd.items():
        mine = [r.test["accuracy"] for r in records if r.kind == "kd+transfer" and r.model == "fasttext-w"
                and r.teacher == name]
        assert row["accuracy"] == pytest.approx(np.mean(mine))
        assert row["pct_of_teacher"] == pytest.approx(100 * np.mean(mine) / _teacher_accuracy(records, name))
    scratch = next(r for r in rows if (r["model"], r["kind"]) == ("fasttext-w", "scratch"))
    assert scratch["teacher"] is None and scratch["pct_of_teacher"] is None  # two teachers: none is the dataset's
    md = leaderboard.markdown(rows, [], {"records": len(records), "suites": [], "commits": []})
    assert "| fasttext-w | fasttext | kd+transfer ← nbsvm |" in md
    assert f"| fasttext-w | fasttext | kd+transfer ← {ENSEMBLE} |" in md
    # the overall table keeps one row per student and kind: the variant with the best validation accuracy
    best = max(kd.values(), key=lambda r: r["val_accuracy"])
    assert f"| fasttext-w | kd+transfer | {100 * best['accuracy']:.2f} ± " in md


def test_gain_takes_the_best_variant_and_its_own_teachers_lead(records):
    row = next(r for r in gain.table(records)["imdb"] if r["model"] == "fasttext-w")
    val = {(r.kind, r.teacher): [] for r in records if r.model == "fasttext-w" and r.kind in gain.DISTILLED}
    for r in records:
        if (r.kind, r.teacher) in val and r.model == "fasttext-w":
            val[(r.kind, r.teacher)].append(r.val_accuracy)
    kind, teacher = max(val, key=lambda k: np.mean(val[k]))
    assert (row["best_distilled"], row["teacher"]) == (kind, teacher)
    assert row["teacher_lead"] == pytest.approx(_teacher_accuracy(records, teacher) - row["scratch"])
    assert f"| fasttext-w | {kind} ← {teacher} |" in "\n".join(gain.markdown(gain.table(records)["imdb"], "imdb",
                                                                            several=True))


def test_a_teacher_of_run_folders_counts_their_parameters_and_is_named_by_folder():
    """`reports/emotion_six`: a `kdsuite teacher --out` row of six `student:RUN` members; the report adds the
    parameters of the records whose run folders they are, names a member whose record is absent, and tables
    name each member by its folder."""
    from kdsuite.report import members

    records = [r for r in read_records(REPO / "reports" / "emotion_six" / "results") if r.status == "ok"]
    teacher = next(r for r in records if r.kind == "teacher")
    cnns = [r for r in records if (r.model, r.kind) == ("cnn", "scratch")]
    assert teacher.param_count == 0 and len(cnns) == 6 and teacher.teacher.count("+student:") == 5
    sized = next(r for r in members.sized(records) if r.kind == "teacher")
    assert sized.param_count == sum(r.param_count for r in cnns) and sized.param_count_note.endswith("parameters")
    short = next(r for r in members.sized([r for r in records if r is not cnns[0]]) if r.kind == "teacher")
    assert short.param_count == 5 * cnns[0].param_count
    assert short.param_count_note.endswith(f"(not in this store: student:{cnns[0].run_dir})")
    rows = leaderboard.aggregate(members.sized(records))
    text = leaderboard.markdown(rows, [], {"records": len(records), "suites": [], "commits": []})
    name = "+".join(f"student:{Path(m).name}" for m in teacher.teacher.replace("student:", "").split("+"))
    assert f"| {name} | ensemble | teacher | {sized.param_count:,} |" in text and "/work" not in text


def test_kind_label_names_run_folder_members_by_folder():
    spec = "minilm-l6+student:/work/store/models/01268da6+student:/work/store/models/d3790572@0.5,0.3,0.2"
    assert kind_label("kd", spec, several=True) == "kd ← minilm-l6+student:01268da6+student:d3790572@0.5,0.3,0.2"
    assert kind_label("kd", spec, several=False) == "kd" and kind_label("scratch", None, several=True) == "scratch"


def test_an_ensemble_teacher_row_is_found_by_its_spec():
    """An ensemble teacher's row is named by its logits file (`nbsvm_tfidf-logreg`); its students name the spec."""
    records = [r for r in read_records(REPO / "reports" / "fasttext_xw" / "results") if r.dataset == "imdb"]
    teacher = next(r for r in records if r.kind == "teacher")
    assert (teacher.model, teacher.teacher) == ("nbsvm_tfidf-logreg", "nbsvm+tfidf-logreg")
    [row] = gain.table(records)["imdb"]
    assert row["teacher"] == "nbsvm+tfidf-logreg"
    assert row["teacher_lead"] == pytest.approx(teacher.test["accuracy"] - row["scratch"])
    kd = next(r for r in leaderboard.aggregate(records) if r["kind"] == "kd+transfer")
    assert kd["pct_of_teacher"] == pytest.approx(100 * kd["accuracy"] / teacher.test["accuracy"])


def test_a_teacher_of_scratch_members_counts_their_parameters(records):
    """The teacher cell reads its scratch members from run folders (no size there): the report adds their records'
    parameters, names the members it cannot find, and reads the logits under the resolved spec."""
    from kdsuite.report import members

    teacher = next(r for r in records if r.kind == "teacher" and r.teacher == ENSEMBLE)
    scratch = sorted((r for r in records if (r.model, r.kind) == ("fasttext-w", "scratch")), key=lambda r: r.seed)
    assert len(scratch) == 3 and teacher.param_count == 855_640 + 763_077  # nbsvm + tfidf-logreg, members unknown
    sized = next(r for r in members.sized(records) if r.kind == "teacher" and r.teacher == ENSEMBLE)
    assert sized.param_count == teacher.param_count + sum(r.param_count for r in scratch)
    row = next(r for r in leaderboard.aggregate(members.sized(records)) if r["kind"] == "teacher"
               and r["teacher"] == ENSEMBLE)
    assert row["param_count"] == sized.param_count
    short = next(r for r in members.sized([r for r in records if r is not scratch[1]]) if r.kind == "teacher"
                 and r.teacher == ENSEMBLE)
    assert short.param_count == teacher.param_count + 2 * scratch[0].param_count
    assert short.param_count_note.endswith("(not in this store: scratch:fasttext-w:1)")
    spec = members.logits_spec(teacher)
    assert spec.startswith("nbsvm+tfidf-logreg+student:") and spec.count("+student:") == 3
    nbsvm = next(r for r in records if r.kind == "teacher" and r.teacher == "nbsvm")
    assert members.sized([nbsvm]) == [nbsvm] and members.logits_spec(nbsvm) == "nbsvm"


def test_tuned_rows_carry_the_trial_that_won_on_validation():
    """`reports/imdb_tuned`: each twin's three seeds run with the options of its best trial by validation accuracy,
    and both twins had the same number of trials."""
    store = REPO / "reports" / "imdb_tuned"
    trials, rows = read_records(store / "trials"), read_records(store / "results")
    options = ("learning_rate", "patience", "loss", "temperature", "alpha")
    by_kind = {k: [t for t in trials if t.kind == k] for k in ("scratch", "kd+transfer")}
    assert [len(v) for v in by_kind.values()] == [4, 4]
    for kind, tried in by_kind.items():
        best = max(tried, key=lambda t: t.val_accuracy)
        mine = [r for r in rows if r.kind == kind and r.model == "fasttext-xw"]
        assert sorted(r.seed for r in mine) == [0, 1, 2]
        assert all({o: r.config[o] for o in options} == {o: best.config[o] for o in options} for r in mine)
    [row] = gain.table(rows)["imdb"]
    assert row["best_distilled"] == "kd+transfer" and row["gain"] >= 0.005


def test_seeds_that_learned_from_different_teacher_runs_are_flagged(records):
    """A teacher name resolves to its newest stored run: a row whose seeds saw different logits says so."""
    from dataclasses import replace

    kd = [r for r in records if (r.model, r.kind, r.teacher) == ("fasttext-w", "kd+transfer", "nbsvm")]
    same = [replace(r, teacher_logits="a" * 16) for r in kd]
    rows = leaderboard.aggregate(same)
    assert rows[0]["teacher_runs"] == ["a" * 16]
    assert "different runs of their teacher" not in leaderboard.markdown(rows, [], {"records": 3, "suites": [],
                                                                                    "commits": []})
    rows = leaderboard.aggregate(same[:2] + [replace(kd[2], teacher_logits="b" * 16)])
    md = leaderboard.markdown(rows, [], {"records": 3, "suites": [], "commits": []})
    runs = f"2 sets of teacher logits ({'a' * 16}, {'b' * 16})"
    assert f"- imdb fasttext-w kd+transfer tensorflow ← nbsvm: {runs}" in md


def test_seeds_that_ran_with_different_cell_options_are_flagged(records):
    """Records of one student, kind and teacher with different options (another transfer set) are averaged
    into one row as seeds; the leaderboard names the option and its values."""
    from dataclasses import replace

    kd = [r for r in records if (r.model, r.kind, r.teacher) == ("fasttext-w", "kd+transfer", "nbsvm")]
    provenance = {"records": 3, "suites": [], "commits": []}
    rows = leaderboard.aggregate(kd)
    assert rows[0]["mixed_settings"] == {}
    assert "different settings" not in leaderboard.markdown(rows, [], provenance)
    other = replace(kd[2], cell={**kd[2].cell, "data": {**kd[2].cell.get("data", {}), "transfer": "tang:2"}})
    rows = leaderboard.aggregate(kd[:2] + [other])
    spec = kd[0].cell.get("data", {}).get("transfer", "-")
    assert rows[0]["mixed_settings"] == {"data.transfer": sorted([str(spec), "tang:2"])}
    md = leaderboard.markdown(rows, [], provenance)
    assert f"- imdb fasttext-w kd+transfer tensorflow ← nbsvm: data.transfer {' / '.join(sorted([str(spec), 'tang:2']))}" in md
    scratch = [r for r in records if (r.model, r.kind) == ("fasttext-w", "scratch")]  # reads no transfer set
    other = replace(scratch[2], cell={**scratch[2].cell, "data": {**scratch[2].cell.get("data", {}), "transfer": "tang:2"}})
    assert leaderboard.aggregate(scratch[:2] + [other])[0]["mixed_settings"] == {}
    other = replace(scratch[2], cell={**scratch[2].cell, "train": {**scratch[2].cell.get("train", {}), "epochs": 7}})
    assert list(leaderboard.aggregate(scratch[:2] + [other])[0]["mixed_settings"]) == ["train.epochs"]
