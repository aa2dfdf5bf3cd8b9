"""Suites, the grid executor and reports, on a tiny toy grid (real models, a few epochs)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kdsuite.errors import KdsuiteError
from kdsuite.grid.suites import load_suite
from tests.conftest import REPO, run_cli, write_toy


@pytest.mark.parametrize("preset", ["quick", "cpu", "full", "imdb", "imdb-tfidf"])
def test_presets_load(preset):
    suite = load_suite(preset)
    assert suite.datasets and suite.students and suite.teacher


BAD_SUITES = {
    'datasets = ["emotion"]\ncolour = "red"': "unknown key 'colour'",
    'datasets = ["emotion"]\nnested = [["a"]]': "nested: expected a list of [teacher_student, student] pairs",
    'datasets = ["emotion"]\nteacher = "t"\nstudents = ["mlp"]\nnested = [["cnn", "mlp"]]': "nested teacher 'cnn'",
    'datasets = "emotion"': "datasets: expected a non-empty list of strings",
    'datasets = ["emotion"]\nbackends = ["tensorflow", "mxnet"]': "unknown value 'mxnet'",
    'datasets = ["emotion"]\nseeds = [0, "1"]': "seeds: expected a non-empty list of integers",
    'datasets = ["emotion"]\nstudents = ["mlp"]\nkinds = ["kd"]': "kinds include 'kd' but no teacher",
    'datasets = ["emotion"]\n[train]\ntemperature = 0.0': "--temperature must be > 0",
    'datasets = ["emotion"]\n[train]\nalpha = 1.5': "--alpha must be in [0, 1]",
    'datasets = ["emotion"]\n[train]\nepochs = "ten"': "[train] epochs: expected int",
    'datasets = ["emotion"]\n[train]\nwarmup = 3': "[train]: unknown key 'warmup'",
    'datasets = ["emotion"]\n[data.emotion]\ntrain_fraction = 2.0': "train_fraction must be in (0, 1]",
    'datasets = ["emotion"]\n[data.emotion]\ntemperature = -1.0': "[data.emotion] --temperature must be > 0",
    'datasets = ["emotion", "imdb"]\n[train]\nvocab_size = 100\n[data.imdb]\nvocab_size = 0':
        "[data.imdb] --vocab-size must be positive",
    'datasets = ["emotion", "imdb"]\n[train]\nvocab_size = 0\n[data.imdb]\nvocab_size = 100':
        "[train] --vocab-size must be positive",
    'datasets = ["emotion"]\n[data.emotion]\ntransfer = "tang:0"': "transfer 'tang:0'",
    'datasets = ["emotion"]\n[extra_seeds]\nstudents = ["mlp"]\nseeds = [-1]': "[extra_seeds] seeds: expected integers",
    'datasets = ["emotion"]\nexports = ["onnx"]': "exports: unknown value 'onnx'",
    'datasets = ["emotion"]\nteacher = "minilm-l6+scratch:mlp@0.5,0.5"\nstudents = ["mlp"]\nkinds = ["kd"]':
        "with weights, give each scratch member its seed",
    'datasets = ["emotion"]\nteacher = "minilm-l6+scratch:mlp:x"\nstudents = ["mlp"]\nkinds = ["kd"]':
        "expected scratch:STUDENT[:SEED]",
    'datasets = ["emotion"\n': "invalid TOML",
    'description = "no datasets"': "missing key 'datasets'",
}


@pytest.mark.parametrize("text", list(BAD_SUITES))
def test_invalid_suites_fail_in_one_line(tmp_path, text):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(KdsuiteError) as err:
        load_suite(str(path))
    assert BAD_SUITES[text] in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_a_dataset_table_overrides_train_options_for_its_cells(tmp_path):
    from kdsuite.grid.runner import expand

    path = tmp_path / "s.toml"
    path.write_text('datasets = ["emotion", "imdb"]\nstudents = ["mlp"]\nkinds = ["scratch"]\n[train]\nepochs = 7\n'
                    '[data.imdb]\nvocab_size = 20000\nseq_len = 256\n')
    cells = {c.dataset: c for c in expand(load_suite(str(path)))}
    assert cells["imdb"].train == {"epochs": 7, "vocab_size": 20000} and cells["imdb"].data == {"seq_len": 256}
    assert cells["emotion"].train == {"epochs": 7} and cells["emotion"].data == {}


def test_unknown_preset():
    proc = run_cli("run", "nightly")
    assert proc.returncode == 2 and "unknown suite 'nightly'; presets: cpu, full, imdb, imdb-tfidf, quick" in proc.stderr


TOY_TRAIN = """[train]
epochs = 8
vocab_size = 60
seq_len = 12
learning_rate = 0.01
batch_size = 16
"""  # tiny, fast fits for the toy grids


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    root = tmp_path_factory.mktemp("grid")
    folder = write_toy(root / "toy")
    from kdsuite.teachers.runs import run_teacher

    run_teacher(str(folder), "tfidf-logreg", verbose=0)  # a real teacher in seconds: the tuned TF-IDF model
    suite = root / "tiny.toml"
    suite.write_text(f'''
description = "toy grid"
datasets = ["{folder}"]
baselines = ["tfidf-logreg"]
teacher = "tfidf-logreg"
students = ["mlp"]
kinds = ["scratch", "kd"]
backends = ["tensorflow"]
nested = [["mlp", "mlp-s"], ["mlp", "nope"]]
exports = ["tflite", "tflite-dr"]
{TOY_TRAIN}[backend_comparison]
students = ["mlp"]
backends = ["tensorflow", "jax"]
''')
    return root, suite


@pytest.fixture(scope="module")
def small_grid(grid):
    """The toy grid without its extra backend, nested cells and exports: four cells, enough to kill a run
    mid-grid and resume it."""
    root, _ = grid
    suite = root / "small.toml"
    suite.write_text(f'''
datasets = ["{root / 'toy'}"]
baselines = ["tfidf-logreg"]
teacher = "tfidf-logreg"
students = ["mlp"]
kinds = ["scratch", "kd"]
{TOY_TRAIN}''')
    return root, suite


@pytest.mark.slow
def test_grid_run_report_and_rerun(grid):
    root, suite = grid
    out = root / "out"
    proc = run_cli("run", str(suite), "--out", str(out), "--json")
    assert proc.returncode == 1, proc.stderr[-3000:]  # the 'nope' cell fails, the rest go on
    summary = json.loads(proc.stdout)
    assert summary["cells"] == 8 and summary["failed"] == 1
    rows = json.loads((out / "leaderboard.json").read_text())["rows"]
    kinds = {(r["model"], r["kind"], r["backend"]) for r in rows}
    assert {("tfidf-logreg", "baseline", None), ("tfidf-logreg", "teacher", None), ("mlp", "scratch", "tensorflow"),
            ("mlp", "kd", "tensorflow"), ("mlp", "kd", "jax"), ("mlp-s", "nested", "tensorflow")} <= kinds
    nested = next(r for r in rows if r["kind"] == "nested" and r["model"] == "mlp-s")
    assert nested["teacher"] == "student:mlp" and nested["accuracy"] > 0.6
    kd = next(r for r in rows if r["kind"] == "kd" and r["backend"] == "tensorflow")
    assert kd["accuracy"] > 0.8 and kd["pct_of_teacher"] > 80 and kd["param_count"] == 60 * 16 + 16 * 3 + 3
    exported = {r["model"]: r for r in rows if r["backend"] == "tflite"}  # best TF run per student, converted
    assert set(exported) == {"mlp (tflite)", "mlp (tflite-dr)", "mlp-s (tflite)", "mlp-s (tflite-dr)"}
    for path in (out / "exports").glob("*-tflite.json"):
        record = json.loads(path.read_text())
        assert record["test"]["accuracy"] == record["source_accuracy"]  # float TFLite = Keras, row for row
        assert Path(record["path"]).stat().st_size == record["disk_bytes"] and record["speed"]["latency_ms_b1"] > 0
    md = (out / "leaderboard.md").read_text()
    assert "mlp (tflite-dr)" in md and "## Backend comparison" in md
    assert "## Failed cells" in md and "unknown student 'nope'" in md
    header = (out / "leaderboard.csv").read_text().splitlines()[0].split(",")
    assert "param_count" in header and "commit" in header and "data_fingerprint" in header
    for ext in ("png", "svg"):
        assert (out / f"plot_toy.{ext}").stat().st_size > 1000
    _assert_gain_in_tensorboard(out)
    # rerun: finished cells are skipped, failed ones retried
    before = {p.name: p.stat().st_mtime for p in (out / "results").glob("*.json")}
    stale = out / "exports" / "0123456789abcdef-tflite.json"  # an export of a run that is no longer the best
    stale.write_text("{}")
    a_record = next(r for p in (out / "results").glob("*.json") if (r := json.loads(p.read_text()))["status"] == "ok")
    older = out / "results" / "0123456789abcdef.json"  # the same cell, finished under older code
    older.write_text(json.dumps(a_record | {"cell_key": "0123456789abcdef", "code_version": "older"}))
    older_logits = out / "logits" / "0123456789abcdef.npz"  # the compact logits a report kept of it
    older_logits.write_bytes(b"")
    proc = run_cli("run", str(suite), "--out", str(out), "--seeds", "0")
    assert not stale.exists() and not older.exists() and not older_logits.exists()
    assert proc.stderr.count("done earlier") == 7 and proc.returncode == 1
    assert json.loads(run_cli("run", str(suite), "--out", str(out), "--seeds", "3", "--json").stdout)["cells"] == 0
    after = {p.name: p.stat().st_mtime for p in (out / "results").glob("*.json")}
    assert sum(before[k] == after[k] for k in before) == 7
    # the report regenerates from stored results alone
    md_before = (out / "leaderboard.md").read_text()
    (out / "leaderboard.md").unlink()
    assert run_cli("report", str(out)).returncode == 0
    assert (out / "leaderboard.md").read_text() == md_before
    # a committed store on a fresh clone (results and exports, no model files): a rerun keeps its exports
    exports = sorted(p.name for p in (out / "exports").glob("*.json"))
    (out / "models").rename(root / "models-elsewhere")
    try:
        assert run_cli("run", str(suite), "--out", str(out), "--seeds", "0").returncode == 1
        assert sorted(p.name for p in (out / "exports").glob("*.json")) == exports
    finally:
        (root / "models-elsewhere").rename(out / "models")


def _assert_gain_in_tensorboard(out):
    """The report wrote each run's gain over its scratch twin into the run's HParams session, once."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util.tensor_util import make_ndarray

    records = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    ok = [r for r in records if r["status"] == "ok" and r["model"] == "mlp" and r["backend"] == "tensorflow"]
    scratch = next(r for r in ok if r["kind"] == "scratch")
    for r in (scratch, next(r for r in ok if r["kind"] == "kd")):
        folder = out / "models" / r["cell_key"] / "tensorboard" / "hparams"
        assert len(list(folder.glob("*.gain"))) == 1
        hp = EventAccumulator(str(folder), size_guidance={"tensors": 0}).Reload()
        [event] = hp.Tensors("metrics/gain_over_scratch")
        expected = r["test"]["accuracy"] - scratch["test"]["accuracy"]
        assert float(make_ndarray(event.tensor_proto)) == pytest.approx(expected, abs=1e-6)
        assert "metrics/test_accuracy" in hp.Tags()["tensors"]


@pytest.mark.slow
def test_kill_during_grid_then_resume(small_grid):
    """kill -9 mid-grid: no partial result is visible, the rerun completes and keeps finished cells."""
    root, suite = small_grid
    out = root / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "kdsuite.cli", "run", str(suite), "--out", str(out)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(list((out / "results").glob("[!.]*.json"))) < 3:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = {p.name: p.stat().st_mtime for p in (out / "results").glob("[!.]*.json")}
    assert len(done) == 3  # killed mid-grid, in its last cell
    for p in (out / "results").iterdir():  # complete records; at most a hidden temp file of the killed write
        assert p.name.endswith(".tmp.json") if p.name.startswith(".") else \
            json.loads(p.read_text())["status"] in ("ok", "failed")
    rerun = run_cli("run", str(suite), "--out", str(out), "--json")
    assert rerun.returncode == 0 and json.loads(rerun.stdout)["failed"] == 0, rerun.stderr[-3000:]
    assert rerun.stderr.count("done earlier") == len(done)
    ok = [json.loads(p.read_text()) for p in (out / "results").glob("[!.]*.json")]
    assert len(ok) == 4 and all(r["status"] == "ok" for r in ok)
    assert all((out / "results" / k).stat().st_mtime == m for k, m in done.items()
               if json.loads((out / "results" / k).read_text())["status"] == "ok")


def test_cell_code_hash_ignores_docstrings_comments_and_layout():
    from kdsuite.engine.keys import code_of

    src = 'def f(x):\n    """Double."""\n    return 2 * x  # twice\n'
    assert code_of(src) == code_of('def f(x):\n    """Twice x."""\n\n    return (2 *\n            x)\n')
    assert code_of(src) != code_of('def f(x):\n    """Double."""\n    return 3 * x\n')


def test_pareto_front():
    from kdsuite.report.leaderboard import pareto

    pts = [(10, 0.5), (20, 0.4), (30, 0.7), (30, 0.6), (100, 0.65), (200, 0.9)]
    assert pareto(pts) == [(10, 0.5), (30, 0.7), (200, 0.9)]
    assert np.isfinite(pareto([(1, 0.1)])[0][1])


def _student_suite(path: Path, toy: Path, teacher: str) -> Path:
    """A toy suite of `mlp-s` from labels and distilled from `teacher`."""
    path.write_text(f'datasets = ["{toy}"]\nteacher = "{teacher}"\nstudents = ["mlp-s"]\n'
                    f'kinds = ["scratch", "kd"]\n{TOY_TRAIN}')
    return path


def _run_suite(suite: Path, out: Path, env: dict | None = None) -> tuple[str, dict[str, dict]]:
    """(progress log, records by kind) of `kdsuite run SUITE --out OUT`."""
    proc = run_cli("run", str(suite), "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stderr, {r["kind"]: r for r in (json.loads(p.read_text()) for p in (out / "results").glob("*.json"))}


@pytest.mark.slow
def test_a_suite_distils_from_its_teacher_plus_its_own_scratch_cells(grid):
    """`teacher = "tfidf-logreg+scratch:mlp-s"`: the scratch cell runs first and joins the ensemble by its run
    folder; the teacher row and the kd cell read that ensemble, and the records keep the suite's own name for it."""
    root, _ = grid
    toy, out = root / "toy", root / "members"
    log, records = _run_suite(_student_suite(root / "members.toml", toy, "tfidf-logreg+scratch:mlp-s"), out)
    done = [line.split(": accuracy")[0] for line in log.splitlines() if ": accuracy" in line]
    assert done == [f"[1/3] {toy} mlp-s scratch tensorflow seed 0", f"[2/3] {toy} tfidf-logreg+scratch:mlp-s:0 teacher "
                    f"- seed 0", f"[3/3] {toy} mlp-s kd tensorflow seed 0"], log[-3000:]
    scratch, teacher, kd = records["scratch"], records["teacher"], records["kd"]
    assert teacher["model"] == kd["teacher"] == "tfidf-logreg+scratch:mlp-s:0"
    assert teacher["config"]["teacher"]["members"] == ["tfidf-logreg", f"student:{scratch['run_dir']}"]
    assert teacher["test"]["accuracy"] > 0.8 and kd["test"]["accuracy"] > 0.6
    (out / "results" / f"{scratch['cell_key']}.json").unlink()  # a member gone: its readers say which, in one line
    from kdsuite.config import Cell
    from kdsuite.engine.cell import run

    with pytest.raises(KdsuiteError, match=r"kd tensorflow seed 1: no finished scratch cell of 'mlp-s' to learn "
                                           r"from \(.*toy, tensorflow, seed 0\)"):
        run(Cell.from_dict(kd["cell"] | {"seed": 1}), out)


@pytest.mark.slow
def test_readers_of_a_rerun_scratch_member_are_judged_after_it(grid, tmp_path):
    """A scratch member that must run again (here its record is gone) runs before its ensemble's readers are
    judged: the teacher row is read again from the new member, and the stored kd record is kept only if it
    learned from the logits the teacher gives now."""
    from kdsuite.data.datasets import load_dataset
    from kdsuite.teachers.logit_store import array_hash
    from kdsuite.teachers.runs import load_teacher_logits

    root, _ = grid
    toy, out = root / "toy", tmp_path / "out"
    suite = _student_suite(tmp_path / "members.toml", toy, "tfidf-logreg+scratch:mlp-s")
    _, first = _run_suite(suite, out)
    (out / "results" / f"{first['scratch']['cell_key']}.json").unlink()
    log, again = _run_suite(suite, out)
    lines = [line for line in log.splitlines() if line.startswith("[")]
    member = next(i for i, line in enumerate(lines) if "scratch" in line and ": accuracy" in line)
    teacher = next(i for i, line in enumerate(lines) if " teacher " in line and ": accuracy" in line)
    kd = next(i for i, line in enumerate(lines) if " kd " in line and not line.endswith("..."))
    assert member < teacher and member < kd, lines  # judged after the member ran, not before
    assert not any(" teacher " in line and "done earlier" in line for line in lines), lines
    members = again["teacher"]["config"]["teacher"]["members"]
    now = array_hash(load_teacher_logits("+".join(members), load_dataset(str(toy))))
    assert again["kd"]["teacher_run"] == now  # kept because still current, or computed again from the new member
    assert ("done earlier" in lines[kd]) == (first["kd"]["teacher_run"] == now), lines


@pytest.mark.slow
def test_records_are_not_reused_once_their_teacher_changed(grid, tmp_path, monkeypatch):
    """A teacher's name resolves to its newest stored run, which is not in the key. After the teacher is fitted
    again (here with out-of-fold training logits), rerunning the suite recomputes its row and its distilled cell
    and keeps the scratch cell."""
    from kdsuite.data.datasets import load_dataset
    from kdsuite.teachers.logit_store import array_hash
    from kdsuite.teachers.runs import load_teacher_logits, run_teacher

    root, _ = grid
    toy = root / "toy"
    monkeypatch.setenv("KDSUITE_CACHE", str(tmp_path / "cache"))  # a teacher of its own, here and in the runs
    run_teacher(str(toy), "tfidf-logreg", verbose=0)
    suite, out = _student_suite(tmp_path / "s.toml", toy, "tfidf-logreg"), tmp_path / "out"
    run_suite = lambda: _run_suite(suite, out, env={"KDSUITE_CACHE": str(tmp_path / "cache")})  # noqa: E731

    _, first = run_suite()
    ds = load_dataset(str(toy))
    now = lambda: array_hash(load_teacher_logits("tfidf-logreg", ds))  # noqa: E731
    assert first["kd"]["teacher_run"] == first["kd"]["teacher_logits"] == now()
    log, again = run_suite()
    assert again == first and log.count("done earlier") == 3
    run_teacher(str(toy), "tfidf-logreg", oof=2, verbose=0)
    log, changed = run_suite()
    assert log.count("its stored record came from another run of the teacher") == 2, log[-3000:]
    assert changed["scratch"] == first["scratch"] and changed["kd"]["cell_key"] == first["kd"]["cell_key"]
    assert changed["kd"]["teacher_run"] == now() != first["kd"]["teacher_run"]
    assert changed["teacher"]["logits"] != first["teacher"]["logits"]


@pytest.mark.slow
def test_a_logits_file_teacher_row_is_read_from_the_file_and_again_once_it_changes(grid, tmp_path):
    """`teacher = "logits:FILE"`: the teacher row is the file's test accuracy; after the file is overwritten with
    other logits, a rerun reads the row again and distils the kd cell again, and keeps the scratch cell."""
    from kdsuite.data.datasets import load_dataset
    from kdsuite.teachers.logit_store import read_npz, write_npz
    from kdsuite.teachers.runs import load_teacher_logits

    root, _ = grid
    toy = root / "toy"
    ds = load_dataset(str(toy))
    good = load_teacher_logits("tfidf-logreg", ds)
    file = tmp_path / "teacher.npz"
    write_npz(file, good)
    suite, out = _student_suite(tmp_path / "s.toml", toy, f"logits:{file}"), tmp_path / "out"
    _, first = _run_suite(suite, out)
    accuracy = lambda z: float((z["test"].argmax(1) == ds.splits["test"].labels).mean())  # noqa: E731
    assert first["teacher"]["test"]["accuracy"] == pytest.approx(accuracy(good)) and accuracy(good) > 0.8
    assert (out / "logits" / f"{first['teacher']['cell_key']}.npz").is_file()  # the report kept the file's logits
    log, again = _run_suite(suite, out)
    assert log.count("done earlier") == 3 and again == first
    write_npz(file, {split: np.roll(z, 1, axis=1) for split, z in good.items()})  # a worse teacher, same shapes
    log, changed = _run_suite(suite, out)
    assert log.count("its stored record came from another run of the teacher") == 2, log[-3000:]
    worse = accuracy(read_npz(file))
    assert changed["teacher"]["test"]["accuracy"] == pytest.approx(worse) and worse < 0.5
    assert changed["scratch"] == first["scratch"] and changed["kd"]["teacher_run"] != first["kd"]["teacher_run"]


@pytest.mark.slow
def test_sweep_over_fractions(grid, tmp_path):
    root, _ = grid
    folder = root / "toy"
    r = json.loads(run_cli("sweep", str(folder), "--fractions", "0.25,1.0", "--teacher", "tfidf-logreg",
                           "--epochs", "5", "--out", str(tmp_path), "--json").stdout)
    assert r["cells"] == 6 and r["failed"] == 0
    rows = {(x["model"], x["kind"], x["fraction"]): x for x in r["rows"]}
    assert rows[("mlp", "kd", 0.25)]["train_rows"] == 60 and rows[("mlp", "kd", 1.0)]["train_rows"] == 240
    assert (tmp_path / "sweep_toy.png").stat().st_size > 1000 and "| tfidf-logreg | baseline | 0.25 |" in \
        (tmp_path / "sweep_toy.md").read_text()
    assert run_cli("sweep", str(folder), "--fractions", "0,2").returncode == 2


def test_expand_grid(tmp_path):
    from kdsuite.grid.runner import expand, select
    from kdsuite.grid.suites import parse_suite

    suite = parse_suite("t", {"datasets": ["emotion", "imdb"], "teacher": "minilm-l6", "students": ["mlp", "cnn"],
                              "baselines": ["tfidf-logreg"], "kinds": ["scratch", "kd", "kd+transfer"],
                              "seeds": [0, 1], "data": {"imdb": {"transfer": "unsup:1000", "seq_len": 128}},
                              "nested": [["cnn", "mlp"]],
                              "backend_comparison": {"students": ["mlp"], "backends": ["jax", "torch"]},
                              "extra_seeds": {"students": ["cnn"], "seeds": [1, 2]}}, "t.toml")
    cells = expand(suite)
    count = lambda **kw: sum(all(getattr(c, k) == v for k, v in kw.items()) for c in cells)  # noqa: E731
    assert count(kind="kd+transfer", dataset="imdb", backend="tensorflow") == 4 + 1 and \
        count(kind="kd+transfer", dataset="emotion") == 0
    assert count(kind="teacher") == 2 and count(kind="baseline") == 2 and count(kind="nested") == 4
    assert {c.seed for c in cells if c.kind == "baseline"} == {0}  # a convex fit: the first seed only
    assert count(backend="jax") == 2 * 3 - 1  # mlp x {scratch, kd, kd+transfer on imdb only}, seed 0
    assert count(model="cnn", seed=2, dataset="emotion") == 2 and count(model="mlp", seed=2) == 0  # extra seeds
    assert all(c.teacher == "minilm-l6" for c in cells if c.kind in ("kd", "kd+transfer"))
    assert all(c.data == {"transfer": "unsup:1000", "seq_len": 128} for c in cells if c.dataset == "imdb")
    assert len({(c.dataset, c.model, c.kind, c.seed, c.backend) for c in cells}) == len(cells)
    suite.data["imdb"]["students"] = ["cnn"]  # a dataset's own students limit its backend comparison too
    assert not any(c.backend == "jax" and c.dataset == "imdb" for c in expand(suite))
    picked = select(cells, datasets="imdb", seeds="0", students="cnn,gru")  # what `kdsuite run` filters by
    assert {(c.kind, c.model) for c in picked} == {("baseline", "tfidf-logreg"), ("teacher", "minilm-l6"),
                                                   ("scratch", "cnn"), ("kd", "cnn"), ("kd+transfer", "cnn")}
    assert all(c.dataset == "imdb" and c.seed == 0 for c in picked) and select(cells) == cells


def test_an_ensemble_teacher_of_the_suites_own_scratch_cells_runs_after_them():
    from kdsuite.grid.ray_executor import _waits_for
    from kdsuite.grid.runner import Job, expand
    from kdsuite.grid.suites import parse_suite

    suite = parse_suite("t", {"datasets": ["emotion"], "teacher": "minilm-l6+scratch:cnn", "students": ["mlp", "cnn"],
                              "kinds": ["scratch", "kd"], "seeds": [0, 1], "backends": ["tensorflow", "jax"]}, "t.toml")
    assert suite.teacher == "minilm-l6+scratch:cnn:0+scratch:cnn:1"  # a member per seed of the suite
    cells = expand(suite)
    order = [(c.model, c.kind, c.seed, c.backend) for c in cells]
    assert order[:3] == [("cnn", "scratch", 0, "tensorflow"), ("cnn", "scratch", 1, "tensorflow"),
                         (suite.teacher, "teacher", 0, None)]  # members first, one after another
    assert len(set(order)) == len(cells) == 3 + 2 * 2 * 2 * 2 - 2
    jobs = {(c.model, c.kind, c.seed, c.backend): Job(i, "", c, "", "") for i, c in enumerate(cells)}
    member = jobs[("cnn", "scratch", 1, "tensorflow")]
    assert _waits_for(jobs[(suite.teacher, "teacher", 0, None)], member)
    assert _waits_for(jobs[("mlp", "kd", 0, "jax")], member)  # a jax student learns from the TensorFlow member
    assert not _waits_for(jobs[("mlp", "kd", 0, "jax")], jobs[("cnn", "scratch", 1, "jax")])
    assert not _waits_for(jobs[("mlp", "scratch", 0, "tensorflow")], member)


def test_scratch_members_the_grid_lacks_are_added_on_tensorflow():
    """Students on JAX only, teacher members that are no student of the suite, one at a seed beyond the suite's:
    each member is still the scratch cell of its student on TensorFlow at its seed, run first, and a run filtered
    by student or seed keeps the members its teacher needs."""
    from kdsuite.grid.runner import expand, select
    from kdsuite.grid.suites import parse_suite

    suite = parse_suite("t", {"datasets": ["emotion"], "teacher": "scratch:cnn+scratch:cnn:3", "students": ["mlp"],
                              "kinds": ["scratch", "kd"], "seeds": [0, 1], "backends": ["jax"],
                              "train": {"epochs": 7}}, "t.toml")
    assert suite.teacher == "scratch:cnn:0+scratch:cnn:1+scratch:cnn:3"
    cells = expand(suite)
    order = [(c.model, c.kind, c.seed, c.backend) for c in cells]
    assert order[:4] == [("cnn", "scratch", 0, "tensorflow"), ("cnn", "scratch", 1, "tensorflow"),
                         ("cnn", "scratch", 3, "tensorflow"), (suite.teacher, "teacher", 0, None)]
    assert sorted(order[4:]) == [("mlp", k, seed, "jax") for k in ("kd", "scratch") for seed in (0, 1)]
    assert all(c.train == {"epochs": 7} for c in cells if c.model == "cnn")  # the suite's training options
    picked = [(c.model, c.kind, c.seed) for c in select(cells, seeds="1", students="mlp")]
    assert picked == [("cnn", "scratch", 0), ("cnn", "scratch", 1), ("cnn", "scratch", 3), ("mlp", "scratch", 1),
                      ("mlp", "kd", 1)]  # the teacher's row is a seed-0 cell; a kd cell reads the members itself


def test_a_dataset_may_name_its_own_teacher():
    from kdsuite.grid.runner import expand
    from kdsuite.grid.suites import parse_suite

    suite = parse_suite("t", {"datasets": ["emotion", "imdb"], "teacher": "minilm-l6", "students": ["mlp"],
                              "kinds": ["scratch", "kd"], "data": {"imdb": {"teacher": "nbsvm+minilm-l6"}}}, "t.toml")
    teachers = {(c.dataset, c.kind): c.teacher if c.kind != "teacher" else c.model for c in expand(suite)}
    assert teachers == {("emotion", "teacher"): "minilm-l6", ("emotion", "kd"): "minilm-l6",
                        ("emotion", "scratch"): None, ("imdb", "teacher"): "nbsvm+minilm-l6",
                        ("imdb", "kd"): "nbsvm+minilm-l6", ("imdb", "scratch"): None}
    assert all("teacher" not in c.data for c in expand(suite))


def _copied_record(out: Path):
    """A real finished record from a committed store, filed under its key in the empty store `out`."""
    from kdsuite.config import Cell
    from kdsuite.grid.runner import Job
    from kdsuite.records import read_record

    src = sorted((REPO / "reports" / "emotion_pair" / "results").glob("*.json"))[0]
    record = read_record(src)
    return Job(0, "", Cell(**record.cell), src.stem, record.code_version), record


def test_a_cell_computed_by_another_run_is_waited_for_not_computed_twice(tmp_path):
    """While another process holds a cell's lock (computing it), `run_one` waits, then takes the record that
    process wrote instead of starting its own copy of the cell."""
    import threading

    from kdsuite import store
    from kdsuite.grid.runner import run_one
    from kdsuite.records import result_path, write_record

    out = tmp_path / "store"
    job, record = _copied_record(out)
    got = {}
    with store.locked(out / "cells" / job.key):
        waiting = threading.Thread(target=lambda: got.update(record=run_one(job, out, None, "toy")))
        waiting.start()
        time.sleep(1.0)
        assert waiting.is_alive()  # blocked on the lock
        write_record(result_path(out, job.key), record)
    waiting.join(30)
    assert got["record"] == record
    assert not (out / "cells" / job.key / "spec.json").exists()  # no process of its own was started


def test_a_stale_record_under_a_free_lock_is_computed_again(tmp_path):
    """A record already there when `run_one` starts (a stale one the grid reruns) does not stand for the run: with
    nobody else on the cell, its process starts (here it fails at once on a data folder that does not exist)."""
    from kdsuite.grid.runner import run_one
    from kdsuite.records import FailedRecord, result_path, write_record

    out = tmp_path / "store"
    job, record = _copied_record(out)
    write_record(result_path(out, job.key), record)
    rerun = run_one(job, out, str(tmp_path / "no-data"), "toy")
    assert isinstance(rerun, FailedRecord)
    assert (out / "cells" / job.key / "spec.json").exists()
