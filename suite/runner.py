"""The grid executor. A suite expands into independent cells (dataset x model x kind x backend x seed);
each cell runs in its own process (its Keras backend is fixed at import), reads only named inputs and writes
one result record, keyed by a hash of its spec, the data fingerprint and the code version. Finished cells
are skipped on rerun; a failed cell is recorded with its error and the grid goes on.

Cells are plain JSON specs run by `python -m suite.cell SPEC RESULT`, so another executor (a cluster
scheduler, a distributed engine) can run them without touching the rest.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from suite import store
from suite.suites import Suite


# orchestration, presentation and the tools that run after or beside cells: not part of a cell's result
NOT_CELL_CODE = {"suite/runner.py", "suite/suites.py", "suite/report.py", "suite/cli.py", "suite/sweep.py",
                 "suite/export.py", "suite/kd_speed.py", "suite/bench.py"}


@dataclass(frozen=True)
class Cell:
    dataset: str
    model: str  # tfidf-logreg | a teacher | a student
    kind: str  # baseline | teacher | scratch | kd | kd+transfer | nested
    seed: int = 0
    backend: str | None = None  # None: no Keras in this cell
    teacher: str | None = None  # whose logits a KD cell uses; "student:NAME" = that student's kd cell
    train: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return " ".join(str(p) for p in (self.dataset, self.model, self.kind, self.backend or "-", f"seed {self.seed}"))


def code_of(source: str) -> str:
    """What a Python source computes: its syntax tree without docstrings, comments or layout."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body and \
                isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and \
                isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def source_hash() -> str:
    """A hash of the kdsuite code that computes results (everything but orchestration and presentation):
    results are reused only while that code stands; editing docstrings, comments or layout keeps them."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for package in ("suite", "students", "teachers"):
        for path in sorted((root / package).rglob("*.py")):
            if path.relative_to(root).as_posix() not in NOT_CELL_CODE:
                h.update(str(path.relative_to(root)).encode() + code_of(path.read_text()).encode())
    return h.hexdigest()[:12]


def expand(suite: Suite) -> list[Cell]:
    """Every cell of the suite's grid, in a stable order."""
    cells: list[Cell] = []
    for dataset in suite.datasets:
        opts = suite.data.get(dataset, {})
        students = opts.get("students", suite.students)  # a per-dataset student list overrides the suite's
        data = {k: v for k, v in opts.items() if k != "students"}
        cells += [Cell(dataset, b, "baseline", seed, data=data) for b in suite.baselines for seed in suite.seeds]
        if suite.teacher:
            cells.append(Cell(dataset, suite.teacher, "teacher", data=data,
                              train={"fine_tune": True} if suite.train_teacher else {}))
        grid = [(s, k, b, seed) for s in students for k in suite.kinds for b in suite.backends
                for seed in suite.seeds]
        grid += [(s, k, b, 0) for s in suite.backend_comparison.get("students", ()) for k in suite.kinds
                 for b in suite.backend_comparison.get("backends", ())]
        grid += [(s, k, b, seed) for s in suite.extra_seeds.get("students", ()) if s in students
                 for k in suite.kinds for b in suite.backends for seed in suite.extra_seeds.get("seeds", ())]
        for student, kind, backend, seed in dict.fromkeys(grid):
            if kind == "kd+transfer" and ("transfer" not in data or
                                          (suite.transfer_students and student not in suite.transfer_students)):
                continue  # transfer sets are per dataset, and may be limited to some students
            cells.append(Cell(dataset, student, kind, seed, backend,
                              suite.teacher if kind != "scratch" else None, suite.train, data))
        cells += [Cell(dataset, dst, "nested", seed, backend, f"student:{src}", suite.train, data)
                  for src, dst in suite.nested for backend in suite.backends for seed in suite.seeds]
    return cells


def cell_key(cell: Cell, fingerprint: str, code: str) -> str:
    return store.key(cell=asdict(cell), data=fingerprint, code=code)


def _fingerprints(cells: list[Cell], data_dir: str | None) -> dict[str, str]:
    from suite.data import load_dataset

    return {name: load_dataset(name, data_dir).fingerprint for name in dict.fromkeys(c.dataset for c in cells)}


def _records_by_cell(results: Path) -> dict[str, list[Path]]:
    """Stored result files per cell spec (one cell has several under older code or data)."""
    index = defaultdict(list)
    for path in results.glob("[!.]*.json"):
        try:
            index[json.dumps(json.loads(path.read_text()).get("cell"), sort_keys=True)].append(path)
        except (OSError, ValueError):
            continue
    return index


def run_cells(cells: list[Cell], out: Path, data_dir: str | None = None, suite_name: str = "",
              log=print) -> list[dict]:
    """Run every cell not yet finished; return all their records (finished, new and failed). Once a cell has a
    finished record under the current code and data, its records from older code or data are removed, so the
    store (and the report made from it) holds one record per cell."""
    out = Path(out)
    code, fingerprints = source_hash(), _fingerprints(cells, data_dir)
    stored = _records_by_cell(out / "results")
    records = []
    for i, cell in enumerate(cells, 1):
        key = cell_key(cell, fingerprints[cell.dataset], code)
        path = out / "results" / f"{key}.json"
        superseded = [p for p in stored.get(json.dumps(asdict(cell), sort_keys=True), []) if p != path]
        if path.exists():
            record = json.loads(path.read_text())
            if record.get("status") == "ok":
                log(f"[{i}/{len(cells)}] {cell.label}: done earlier")
                records.append(record)
                for old in superseded:
                    old.unlink(missing_ok=True)
                continue
        log(f"[{i}/{len(cells)}] {cell.label} ...")
        t0 = time.perf_counter()
        record = _run_one(cell, key, out, data_dir)
        record |= {"cell": asdict(cell), "cell_key": key, "code_version": code, "suite": suite_name,
                   "wall_s": round(time.perf_counter() - t0, 1)}
        store.write_json(path, record)
        if record["status"] == "ok":
            for old in superseded:
                old.unlink(missing_ok=True)
        acc = record.get("test", {}).get("accuracy")
        log(f"[{i}/{len(cells)}] {cell.label}: " + (f"accuracy {acc:.4f}" if record["status"] == "ok"
                                                     else f"FAILED: {record['error']}") + f" ({record['wall_s']} s)")
        records.append(record)
    return records


def _run_one(cell: Cell, key: str, out: Path, data_dir: str | None) -> dict:
    work = out / "cells" / key
    work.mkdir(parents=True, exist_ok=True)
    spec, result = work / "spec.json", work / "result.json"
    store.write_json(spec, {"cell": asdict(cell), "data_dir": data_dir, "models_dir": str(out / "models"),
                            "results_dir": str(out / "results")})
    result.unlink(missing_ok=True)
    env = os.environ | ({"KERAS_BACKEND": cell.backend} if cell.backend else {})
    with open(work / "log.txt", "w") as logf:
        proc = subprocess.run([sys.executable, "-m", "suite.cell", str(spec), str(result)],
                              stdout=logf, stderr=subprocess.STDOUT, env=env)
    if proc.returncode == 0 and result.exists():
        return json.loads(result.read_text()) | {"status": "ok"}
    lines = [ln for ln in (work / "log.txt").read_text(errors="replace").splitlines() if ln.strip()]
    error = lines[-1] if lines else f"exit code {proc.returncode}"
    return {"status": "failed", "error": error.removeprefix("kdsuite: error: ")[:500], "log": str(work / "log.txt"),
            "dataset": cell.dataset, "model": cell.model, "kind": cell.kind, "backend": cell.backend,
            "seed": cell.seed}
