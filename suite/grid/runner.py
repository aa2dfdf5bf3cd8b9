"""The grid executor. A suite expands into independent cells (dataset x model x kind x backend x seed); each
runs in its own process (its Keras backend is fixed at import) through `engine.cell`, the same path as
`kdsuite distill`, and writes one record keyed by its spec, data and code (`engine/keys.py`). Finished cells
are skipped on rerun; a failed cell is recorded with its error and the grid goes on.

Cells are plain JSON specs run by `python -m kdsuite.engine.cell SPEC` (`run_one`), so another executor runs
them without touching the rest: `run_local` here, one cell after another, or `ray_executor` on a Ray cluster.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Iterator, NamedTuple

from kdsuite import store
from kdsuite.backend import backend_env
from kdsuite.config import Cell, scratch_members
from kdsuite.data.datasets import load_cell_data
from kdsuite.engine.cell import STALE, still_current
from kdsuite.engine.keys import cell_key
from kdsuite.grid.suites import TRAIN_KEYS, Suite
from kdsuite.records import CellRecord, FailedRecord, Result, read_record, result_path, stored, write_record


def expand(suite: Suite) -> list[Cell]:
    """Every cell of the suite's grid, in a stable order."""
    cells: list[Cell] = []
    for dataset in suite.datasets:
        opts = suite.data.get(dataset, {})
        students = opts.get("students", suite.students)  # a per-dataset student list overrides the suite's
        teacher = opts.get("teacher", suite.teacher)  # and a per-dataset teacher the suite's
        data = {k: v for k, v in opts.items() if k not in ("students", "teacher") and k not in TRAIN_KEYS}
        train = suite.train | {k: v for k, v in opts.items() if k in TRAIN_KEYS}  # [data.NAME] overrides [train]
        # linear baselines are convex fits (a seed only orders liblinear's coordinate descent): the first seed only
        cells += [Cell(dataset, b, "baseline", suite.seeds[0], data=data) for b in suite.baselines]
        if teacher:
            cells.append(Cell(dataset, teacher, "teacher", data=data,
                              train={"fine_tune": True} if suite.train_teacher else {}))
        grid = [(s, k, b, seed) for s in students for k in suite.kinds for b in suite.backends
                for seed in suite.seeds]
        grid += [(s, k, b, 0) for s in suite.backend_comparison.get("students", ()) if s in students
                 for k in suite.kinds for b in suite.backend_comparison.get("backends", ())]
        grid += [(s, k, b, seed) for s in suite.extra_seeds.get("students", ()) if s in students
                 for k in suite.kinds for b in suite.backends for seed in suite.extra_seeds.get("seeds", ())]
        for student, kind, backend, seed in dict.fromkeys(grid):
            if kind == "kd+transfer" and ("transfer" not in data or
                                          (suite.transfer_students and student not in suite.transfer_students)):
                continue  # transfer sets are per dataset, and may be limited to some students
            cells.append(Cell(dataset, student, kind, seed, backend,
                              teacher if kind != "scratch" else None, train, data))
        cells += [Cell(dataset, dst, "nested", seed, backend, f"student:{src}", train, data)
                  for src, dst in suite.nested for backend in suite.backends for seed in suite.seeds]
        # a `scratch:NAME:SEED` teacher member is the scratch cell of NAME on TensorFlow at SEED, added where the
        # grid lacks it (students on JAX or PyTorch only, a member that is no student of the suite, a seed beyond)
        for name, seed in scratch_members(teacher):
            member = Cell(dataset, name, "scratch", seed, "tensorflow", None, train, data)
            if member not in cells:
                cells.append(member)
    return _members_first(cells)


def select(cells: list[Cell], datasets: str | None = None, seeds: str | None = None,
           students: str | None = None) -> list[Cell]:
    """The cells of these datasets, seeds and students (comma-separated; None: all). The student filter leaves
    baselines and teacher rows in, so `--students NEW` runs a new student's cells beside the stored rest."""
    keep = lambda spec, value: spec is None or str(value) in spec.split(",")  # noqa: E731
    needed = _teacher_members(cells)  # the kept cells' ensemble teacher needs them, whatever their student or seed
    return [c for c in cells if keep(datasets, c.dataset) and (c in needed or keep(seeds, c.seed)
                                                               and (not c.student or keep(students, c.model)))]


def _teacher_members(cells: list[Cell]) -> list[Cell]:
    """The scratch cells among `cells` that are members of an ensemble teacher (`scratch:NAME:SEED`) of their
    dataset."""
    members = {(c.dataset, name, seed) for c in cells for name, seed in
               scratch_members(c.model if c.kind == "teacher" else c.teacher)}
    return [c for c in cells if c.kind == "scratch" and c.backend == "tensorflow"
            and (c.dataset, c.model, c.seed) in members]


def _members_first(cells: list[Cell]) -> list[Cell]:
    """`cells` with the scratch cells that are members of their dataset's ensemble teacher (`scratch:NAME:SEED`)
    moved before that dataset's first cell that reads the teacher, so one cell after another finds them done."""
    first = _teacher_members(cells)
    rest = [c for c in cells if c not in first]
    for cell in first:
        at = next(i for i, c in enumerate(rest) if c.dataset == cell.dataset and c.kind not in ("baseline", "scratch"))
        rest.insert(at, cell)
    return rest


def _fingerprints(cells: list[Cell], data_dir: str | None) -> dict[str, str]:
    """Content fingerprint of each dataset of the grid (carving options do not change it)."""
    return {name: load_cell_data(Cell(name, "-", "baseline"), data_dir).fingerprint
            for name in dict.fromkeys(c.dataset for c in cells)}


def _records_by_cell(results: Path) -> dict[str, list[Path]]:
    """Stored result files per cell spec (one cell has several under older code or data). Every record is read,
    so a store of version-1 records is refused here, with the `kdsuite migrate` hint, before anything runs."""
    index = defaultdict(list)
    for path in sorted(results.glob("[!.]*.json")):
        record = read_record(path)
        if isinstance(record, CellRecord):
            index[json.dumps(record.cell, sort_keys=True)].append(path)
    return index


class Job(NamedTuple):
    """A cell to run: its place in the grid, its spec, key and code version."""

    index: int
    tag: str  # "[i/n] label", how progress lines name it
    cell: Cell
    key: str
    code: str


def run_cells(cells: list[Cell], out: Path, data_dir: str | None = None, suite_name: str = "",
              log=print, execute=None) -> list[CellRecord]:
    """Run every cell not yet finished; return all their records (finished, new and failed) in grid order.
    `execute(jobs, out, data_dir, suite_name, log)` runs the jobs and yields `(job, record)` as each finishes:
    `run_local` (the default) or `ray_executor.start(...)`. Once a cell has a finished record under the current
    code and data, its records from older code or data are removed, so the store (and the report made from it)
    holds one record per cell. A stored record whose teacher has a scratch member about to run is judged once
    that member has run: a teacher's row is then read again, a distilled record kept only if it is still current."""
    out = Path(out)
    fingerprints = _fingerprints(cells, data_dir)
    index = _records_by_cell(out / "results")
    records: dict[int, CellRecord] = {}

    def settle(job: Job, record: CellRecord) -> None:
        if isinstance(record, Result):
            for old in index.get(json.dumps(job.cell.to_dict(), sort_keys=True), []):
                if old != result_path(out, job.key):  # with the compact logits a report kept of it
                    old.unlink(missing_ok=True)
                    (out / "logits" / f"{old.stem}.npz").unlink(missing_ok=True)
        records[job.index] = record

    def run(batch: list[Job]) -> None:
        for job, record in (execute or run_local)(batch, out, data_dir, suite_name, log) if batch else ():
            outcome = f"accuracy {record.test['accuracy']:.4f}" if isinstance(record, Result) \
                else f"FAILED: {record.error}"
            log(f"{job.tag}: {outcome}" + (f" ({record.wall_s} s)" if record.wall_s is not None else ""))
            settle(job, record)

    jobs, waiting = [], []
    for i, cell in enumerate(cells):
        job = Job(i, f"[{i + 1}/{len(cells)}] {cell.label}", cell, *cell_key(cell, fingerprints[cell.dataset]))
        record = stored(out, job.key)
        if record is not None and _member_reruns(cell, jobs):
            waiting.append((job, record))
            continue
        if record is not None and not still_current(record, cell, out, data_dir):
            log(f"{job.tag}: {STALE}")
            record = None
        if record is None:
            jobs.append(job)
        else:
            log(f"{job.tag}: done earlier")
            settle(job, record)
    run(jobs)
    stale = []
    for job, record in waiting:
        if job.cell.kind != "teacher" and still_current(record, job.cell, out, data_dir):
            log(f"{job.tag}: done earlier")
            settle(job, record)
        else:
            log(f"{job.tag}: {STALE}")
            stale.append(job)
    run(stale)
    return [records[i] for i in range(len(cells))]


def _member_reruns(cell: Cell, jobs: list[Job]) -> bool:
    """Whether a scratch member of `cell`'s ensemble teacher (`scratch:NAME[:SEED]`) is among the `jobs` to run."""
    members = scratch_members(cell.model if cell.kind == "teacher" else cell.teacher)
    return any(j.cell.kind == "scratch" and j.cell.backend == "tensorflow" and j.cell.dataset == cell.dataset
               and (j.cell.model, j.cell.seed) in {(name, j.cell.seed if seed is None else seed)
                                                  for name, seed in members} for j in jobs)


def run_local(jobs: list[Job], out: Path, data_dir: str | None, suite_name: str,
              log) -> Iterator[tuple[Job, CellRecord]]:
    """The default executor: one cell after another, each in a process of its own on this machine."""
    for job in jobs:
        log(f"{job.tag} ...")
        yield job, run_one(job, out, data_dir, suite_name)


def run_one(job: Job, out: Path, data_dir: str | None, suite_name: str) -> CellRecord:
    """Run the job's cell in a process of its own; its record, or a failed record naming the last line it printed.
    Every executor runs a cell through this function. A lock per cell makes a second run of the same store (another
    `kdsuite run`, another Ray worker) wait for a cell in progress and take its record instead of computing it twice."""
    cell, key = job.cell, job.key
    work = out / "cells" / key
    before = _stamp(result_path(out, key))
    with store.locked(work):
        record = stored(out, key)
        if record is not None and _stamp(result_path(out, key)) != before:
            return record  # finished by another process while this one waited
        work.mkdir(parents=True, exist_ok=True)
        spec = work / "spec.json"
        store.write_json(spec, {"cell": cell.to_dict(), "out": str(out), "data_dir": data_dir, "suite": suite_name})
        t0 = time.perf_counter()
        with open(work / "log.txt", "w") as logf:
            proc = subprocess.run([sys.executable, "-m", "kdsuite.engine.cell", str(spec)],
                                  stdout=logf, stderr=subprocess.STDOUT,
                                  env=backend_env(cell.backend))
        record = stored(out, key)
        if proc.returncode == 0 and record is not None:
            return record
        lines = [ln for ln in (work / "log.txt").read_text(errors="replace").splitlines() if ln.strip()]
        error = lines[-1] if lines else f"exit code {proc.returncode}"
        return failed(job, out, suite_name, error.removeprefix("kdsuite: error: "), round(time.perf_counter() - t0, 1))


def _stamp(path: Path) -> int | None:
    """When `path` was last written (None: not yet), to tell a record written by another process."""
    return path.stat().st_mtime_ns if path.is_file() else None


def failed(job: Job, out: Path, suite_name: str, error: str, wall_s: float | None = None) -> FailedRecord:
    """Store and return the failed record of `job`, with its error line and the cell's log when there is one."""
    cell, log = job.cell, out / "cells" / job.key / "log.txt"
    record = FailedRecord(status="failed", error=error[:500], log=str(log) if log.is_file() else None,
                          cell=cell.to_dict(), cell_key=job.key, code_version=job.code, suite=suite_name,
                          dataset=cell.dataset, model=cell.model, kind=cell.kind, backend=cell.backend,
                          seed=cell.seed, teacher=cell.teacher, commit=store.git_commit(), wall_s=wall_s)
    write_record(result_path(out, job.key), record)
    return record
