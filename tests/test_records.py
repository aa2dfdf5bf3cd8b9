"""Typed, versioned records (kdsuite.records) and `kdsuite migrate`: round trips, the writer's typo check, the
refusal of version-1 and newer records, and a migration of real committed version-1 records whose report
keeps every number. No training: fast."""

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from kdsuite.errors import KdsuiteError
from kdsuite.records import (SCHEMA, BaselineRecord, ExportRecord, FailedRecord, StudentRecord, TeacherRecord,
                             read_record, to_json, write_record)

V1_COMMIT = "02f6765"  # reports/ as version-1 records (identical to the store the migration started from)
OLD_CPU_COMMIT = "2c4f820"  # the cpu suite those records were a run of, before its redesign


def _v1_store(dest: Path, *paths: str) -> Path:
    """`paths` of the repository at V1_COMMIT, extracted under `dest` (git history needed, else skip)."""
    proc = subprocess.run(["git", "archive", V1_COMMIT, *paths], cwd=REPO, capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"needs the git history (commit {V1_COMMIT}): {proc.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest


@pytest.fixture(scope="module")
def v1_reports(tmp_path_factory) -> Path:
    """A copy of the committed version-1 reports store (results, exports, the leaderboard made from them)."""
    root = _v1_store(tmp_path_factory.mktemp("v1"), "reports/results", "reports/exports", "reports/leaderboard.md",
                     "reports/leaderboard.json")
    return root / "reports"


def _first(folder: Path, **match) -> tuple[Path, dict]:
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        if all(data.get(k) == v for k, v in match.items()):
            return path, data
    raise AssertionError(f"no record with {match} in {folder}")


def test_each_record_type_round_trips(v1_reports, tmp_path):
    from kdsuite.cli.migrate import upgrade

    samples = [upgrade(_first(v1_reports / "results", kind=kind)[1])
               for kind in ("scratch", "kd+transfer", "nested", "baseline", "teacher")]
    samples += [upgrade(_first(v1_reports / "exports", status=s)[1]) for s in ("ok", "unsupported")]
    samples.append(FailedRecord(status="failed", dataset="emotion", model="nope", kind="kd", seed=0,
                                backend="tensorflow", teacher="minilm-l6", cell={"dataset": "emotion"},
                                cell_key="0123456789abcdef", error="unknown student 'nope'", log="log.txt"))
    assert [type(r) for r in samples] == [StudentRecord] * 3 + [BaselineRecord, TeacherRecord] + \
        [ExportRecord] * 2 + [FailedRecord]
    for i, record in enumerate(samples):
        data = to_json(record)
        assert data["schema"] == SCHEMA and data["record"] == record.TYPE
        assert read_record(data) == record
        write_record(tmp_path / f"{i}.json", record)
        assert read_record(tmp_path / f"{i}.json") == record
        assert json.loads((tmp_path / f"{i}.json").read_text()) == data
    student = samples[0]
    assert isinstance(student.val_accuracy, float) and student.test["accuracy"] > 0.5 and student.run_dir


def test_writer_refuses_undeclared_fields_reader_keeps_them(v1_reports):
    from kdsuite.cli.migrate import upgrade

    data = to_json(upgrade(_first(v1_reports / "results", kind="kd")[1]))
    with pytest.raises(KdsuiteError, match="StudentRecord has no field 'val_acuracy'"):
        StudentRecord.from_fields({k: v for k, v in data.items() if k != "val_accuracy"} | {"val_acuracy": 0.5})
    with pytest.raises(KdsuiteError, match="needs field 'val_accuracy'"):
        read_record({k: v for k, v in data.items() if k != "val_accuracy"})
    newer = read_record(data | {"energy_kwh": 0.25})  # an optional field a newer kdsuite added
    assert newer.extra == {"energy_kwh": 0.25} and to_json(newer) == data | {"energy_kwh": 0.25}
    with pytest.raises(KdsuiteError, match="status ok, not 'failed'"):
        StudentRecord.from_fields(data | {"status": "failed"})


def test_version_1_and_newer_records_are_refused_in_one_line(v1_reports, tmp_path):
    path, _ = _first(v1_reports / "results", kind="kd")
    with pytest.raises(KdsuiteError) as exc:
        read_record(path)
    assert str(exc.value) == f"{path} is a version-1 record; run `kdsuite migrate {v1_reports}`"
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({"schema": SCHEMA + 1, "record": "student"}))
    with pytest.raises(KdsuiteError, match=f"record schema {SCHEMA + 1} is newer than this kdsuite reads"):
        read_record(newer)
    with pytest.raises(KdsuiteError, match="unknown record schema 'two'"):
        read_record({"schema": "two", "record": "student"})
    with pytest.raises(KdsuiteError, match="unknown record type 'bench'"):
        read_record({"schema": SCHEMA, "record": "bench"})
    # a store of version-1 records: the report stops with the hint, nothing is half-written
    store = _v1_store(tmp_path / "copy", "reports/results")
    proc = run_cli("report", str(store / "reports"))
    assert proc.returncode == 2 and "is a version-1 record; run `kdsuite migrate" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (store / "reports" / "leaderboard.md").exists()


def _without_sections(path: Path) -> str:
    """A leaderboard without the per-dataset sections reports gained since (diagnosis, calibration, teacher
    fallback, cells without kept logits): each runs from its `### ` heading, or line, to the next `## `."""
    kept, skip = [], False
    for line in path.read_text().splitlines(keepends=True):
        skip = not line.startswith("## ") and (skip or line.startswith(("### ", "No kept logits")))
        if not skip:
            kept.append(line)
    return "".join(kept)


def test_migrate_keeps_every_number_and_the_report(v1_reports, tmp_path):
    store = tmp_path / "reports"
    _v1_store(tmp_path, "reports/results", "reports/exports")
    files = sorted(store.glob("*/*.json"))
    before = {p: json.loads(p.read_text()) for p in files}
    proc = run_cli("migrate", str(store), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["dirs"][str(store)] == {"migrated": len(files), "current": 0}
    for path, old in before.items():
        new = json.loads(path.read_text())
        assert new["schema"] == SCHEMA and new["migrated_from"] == 1
        for key, value in old.items():  # every old field kept; student configs lose only their repeated keys
            if key == "config" and "student" in value:
                assert new[key] == {k: v for k, v in value.items() if k not in ("student", "seed", "transfer")}
                assert value["student"] == old.get("student", old["model"]) and value["seed"] == old["seed"]
            else:
                assert new[key] == value, (path.name, key)
        read_record(path)
    # idempotent: a second run changes nothing
    stamps = {p: p.read_bytes() for p in files}
    assert json.loads(run_cli("migrate", str(store), "--json").stdout)["dirs"][str(store)]["migrated"] == 0
    assert all(p.read_bytes() == b for p, b in stamps.items())
    # the report from the migrated records is the committed one: same rows, same numbers
    assert run_cli("report", str(store)).returncode == 0
    assert _without_sections(store / "leaderboard.md") == (v1_reports / "leaderboard.md").read_text()
    old_rows = json.loads((v1_reports / "leaderboard.json").read_text())["rows"]
    new_rows = json.loads((store / "leaderboard.json").read_text())["rows"]
    new_fields = ("config_hash", "val_accuracy", "teacher_runs", "mixed_settings")  # the new config spelling's hash; fields added since
    assert [{k: v for k, v in r.items() if k not in new_fields} for r in new_rows] == \
        [{k: v for k, v in r.items() if k not in new_fields} for r in old_rows]


def test_migrated_cells_are_the_grid_cells_a_rerun_supersedes(v1_reports, tmp_path):
    """`kdsuite run cpu` keys cells by today's code, so it reruns them; it then removes the migrated record of
    the same cell, found by its `cell`, which must be today's normal form exactly. The grid is the cpu suite's
    as it stood before its redesign (OLD_CPU_COMMIT), the one those records come from, read by today's parser."""
    from kdsuite.cli.migrate import upgrade
    from kdsuite.grid.runner import expand
    from kdsuite.grid.suites import load_suite

    preset = "suite/grid/presets/cpu.toml"
    proc = subprocess.run(["git", "show", f"{OLD_CPU_COMMIT}:{preset}"], cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"needs the git history (commit {OLD_CPU_COMMIT}): {proc.stderr.strip()}")
    (tmp_path / "cpu.toml").write_text(proc.stdout)
    grid = {json.dumps(c.to_dict(), sort_keys=True) for c in expand(load_suite(str(tmp_path / "cpu.toml")))}
    migrated = [upgrade(json.loads(p.read_text())) for p in sorted((v1_reports / "results").glob("*.json"))]
    assert len(migrated) == 112 and all(json.dumps(r.cell, sort_keys=True) in grid for r in migrated)


def test_migrate_seq_len_of_old_train_options_moves_to_data(v1_reports):
    from kdsuite.cli.migrate import upgrade

    _, old = _first(v1_reports / "results", kind="kd", dataset="emotion")
    assert old["cell"]["train"] == {"epochs": 60, "patience": 4} and old["cell"]["data"] == {"transfer": "tang:10"}
    old = old | {"cell": old["cell"] | {"train": old["cell"]["train"] | {"seq_len": 64, "batch_size": 64}}}
    cell = upgrade(old).cell  # [train] seq_len of old suites is a data option; a default value is not spelled
    assert cell["train"] == {"epochs": 60, "patience": 4} and cell["data"] == {"seq_len": 64, "transfer": "tang:10"}


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"hello": "world"}'])
def test_migrate_refuses_a_file_that_is_not_a_record(v1_reports, tmp_path, content):
    store = _v1_store(tmp_path, "reports/results") / "reports"
    untouched = {p: p.read_bytes() for p in (store / "results").glob("*.json")}
    bad = store / "results" / "zz-notes.json"
    bad.write_text(content)
    proc = run_cli("migrate", str(store))
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"kdsuite: error: {bad}: ") and "record" in lines[0]
    assert all(p.read_bytes() == b for p, b in untouched.items())  # checked before anything was written
    assert run_cli("migrate", str(tmp_path / "nowhere")).returncode == 2


def test_report_on_a_sweep_store_regenerates_its_table(tmp_path):
    root = _v1_store(tmp_path, "reports/sweep_amazon_polarity")
    store = root / "reports" / "sweep_amazon_polarity"
    committed = {name: (store / name).read_text() for name in ("sweep_amazon_polarity.md", "sweep_amazon_polarity.json")}
    for name in committed:
        (store / name).unlink()
    assert run_cli("migrate", str(store)).returncode == 0
    assert run_cli("report", str(store)).returncode == 0
    assert {name: (store / name).read_text() for name in committed} == committed
    assert not (store / "leaderboard.md").exists()  # fractions are not averaged into a leaderboard
