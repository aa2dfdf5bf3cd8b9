"""Result keys that follow the code a cell runs.

A cell's key hashes its spec, the data fingerprint and the source of exactly the modules that compute its
result: the engine every cell of its kind runs, plus its own student's builder file or its teacher family's
module. Adding a student, editing another student's file or a report module leaves the key alone; editing the
KD loss re-keys the cells that train students; uncommitted edits count (files are read, git is never asked).
Docstrings, comments and layout do not count: the hash is of the syntax tree.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from pathlib import Path

from kdsuite import store
from kdsuite.config import Cell

ROOTS = {  # import package -> folder, so tests can point the hash at an edited copy of the tree
    "kdsuite": Path(__file__).resolve().parent.parent,
    "kdsuite.students": Path(__file__).resolve().parent.parent.parent / "students",
    "kdsuite.teachers": Path(__file__).resolve().parent.parent.parent / "teachers",
}

# the engine of every cell: its spec, the data it reads and the metrics it reports
COMMON = ("kdsuite/config.py", "kdsuite/metrics.py", "kdsuite/data/datasets.py", "kdsuite/engine/cell.py")
STUDENT = ("kdsuite/backend.py", "kdsuite/engine/tokens.py", "kdsuite/engine/batches.py", "kdsuite/engine/loss.py",
           "kdsuite/engine/fit.py", "kdsuite/engine/guards.py", "kdsuite.students/__init__.py")
BY_KIND = {
    "baseline": ("kdsuite/data/preprocess.py", "kdsuite.teachers/sklearn.py"),
    "teacher": ("kdsuite.teachers/runs.py", "kdsuite.teachers/logit_store.py"),
    "scratch": STUDENT,
    "kd": STUDENT + ("kdsuite.teachers/logit_store.py",),
    "nested": STUDENT + ("kdsuite.teachers/logit_store.py",),
    "kd+transfer": STUDENT + ("kdsuite.teachers/logit_store.py", "kdsuite.teachers/transfer.py",
                              "kdsuite/data/augment.py"),
}


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


def _path(name: str, roots: dict[str, Path]) -> Path:
    """'kdsuite.students/cnn.py' -> the file under the folder of that import package."""
    package, _, rel = name.partition("/")
    return roots[package] / rel


def _registered(folder: Path, decorator: str) -> dict[str, str]:
    """Names registered in `folder`'s modules by `@decorator("name", ..., sizes={"other": ...})` -> file name,
    read from the syntax tree (no import: the grid keys cells without loading Keras)."""
    found = {}
    for path in sorted(folder.glob("[!_]*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == decorator and node.args \
                    and isinstance(node.args[0], ast.Constant):
                found[node.args[0].value] = path.name
                for kw in node.keywords:
                    if kw.arg == "sizes" and isinstance(kw.value, ast.Dict):
                        found |= {k.value: path.name for k in kw.value.keys if isinstance(k, ast.Constant)}
    return found


def _external(spec: str) -> Path | None:
    """The file behind a `file.py:name` or `module:name` reference."""
    module, _, _ = spec.rpartition(":")
    if module.endswith(".py"):
        return Path(module).expanduser().resolve()
    found = importlib.util.find_spec(module) if module else None
    return Path(found.origin) if found and found.origin else None


def _model_files(cell: Cell, roots: dict[str, Path]) -> list[Path]:
    """The student builder file, or the teacher family module, that is this cell's own code."""
    if cell.student:
        local = _registered(roots["kdsuite.students"], "register_student").get(cell.model)
        return [roots["kdsuite.students"] / local] if local else [p for p in [_external(cell.model)] if p]
    if cell.kind == "teacher" and "+" in cell.model:  # an ensemble: its own code and each member's
        members = cell.model.split("@")[0].split("+")
        return [roots["kdsuite.teachers"] / "ensemble.py"] + [
            f for m in members for f in _model_files(Cell(cell.dataset, m, "teacher"), roots)]
    if cell.kind == "teacher":
        family, sep, _ = cell.model.partition(":")
        folder = roots["kdsuite.teachers"]
        local = (_registered(folder, "register_family").get(family) if sep else None) or \
            _registered(folder, "register_teacher").get(cell.model)
        return [folder / local] if local else [p for p in [_external(cell.model)] if p]
    return []


def code_files(cell: Cell, roots: dict[str, Path] | None = None) -> list[Path]:
    roots = roots or ROOTS
    return [_path(n, roots) for n in COMMON + BY_KIND[cell.kind]] + _model_files(cell, roots)


def code_hash(cell: Cell, roots: dict[str, Path] | None = None) -> str:
    """A hash of the syntax trees of the files that compute `cell`'s result."""
    roots = roots or ROOTS
    h = hashlib.sha256()
    for path in code_files(cell, roots):
        h.update(path.name.encode())
        h.update(code_of(path.read_text()).encode() if path.is_file() else b"<missing>")
    return h.hexdigest()[:12]


def cell_key(cell: Cell, fingerprint: str, roots: dict[str, Path] | None = None) -> tuple[str, str]:
    """(key, code hash) of `cell` on data with content `fingerprint`."""
    code = code_hash(cell, roots)
    return store.key(cell=cell.to_dict(), data=fingerprint, code=code), code
