"""Result keys follow the code a cell runs: its engine and its own student or teacher file, never git state.
The hash is pointed at an edited copy of the source tree, so nothing in the checkout is touched."""

import json
import shutil

import pytest

from kdsuite.config import Cell
from kdsuite.engine.keys import ROOTS, cell_key, code_of
from tests.conftest import cli_json, run_cli

CELLS = [Cell("emotion", "tfidf-logreg", "baseline"), Cell("emotion", "minilm-l6", "teacher"),
         Cell("emotion", "tfidf-logreg", "teacher")] + [
    Cell("emotion", student, kind, 0, "tensorflow", None if kind == "scratch" else "minilm-l6",
         data={"transfer": "tang:2"} if kind == "kd+transfer" else {})
    for student in ("mlp", "mlp-s", "cnn", "cnn-s", "bilstm") for kind in ("scratch", "kd", "kd+transfer")]


@pytest.fixture()
def tree(tmp_path):
    roots = {package: tmp_path / folder.name for package, folder in ROOTS.items()}
    for package, folder in ROOTS.items():
        shutil.copytree(folder, roots[package], ignore=shutil.ignore_patterns("__pycache__", "logits", "presets"))
    return roots


def keys(roots) -> list[str]:
    return [cell_key(cell, "fp", roots)[0] for cell in CELLS]


def changed(before: list, after: list) -> set:
    return {(c.model, c.kind) for c, b, a in zip(CELLS, before, after) if b != a}


def test_adding_a_student_keeps_every_key(tree):
    before = keys(tree)
    assert before == keys(ROOTS)  # the copy hashes like the checkout
    (tree["kdsuite.students"] / "gru.py").write_text(
        "import keras\nfrom kdsuite.students import register_student\n\n\n@register_student('gru')\n"
        "def gru(vocab_size, seq_len, num_classes):\n    return None\n")
    assert keys(tree) == before


def test_editing_a_student_rekeys_only_its_cells(tree):
    before = keys(tree)
    path = tree["kdsuite.students"] / "cnn.py"
    path.write_text(path.read_text().replace("dropout: float = 0.5", "dropout: float = 0.4"))
    assert changed(before, keys(tree)) == {(m, k) for m in ("cnn", "cnn-s") for k in ("scratch", "kd", "kd+transfer")}
    path.write_text(path.read_text() + "\n# a comment and a docstring-only edit change nothing\n")
    assert changed(before, keys(tree)) == {(m, k) for m in ("cnn", "cnn-s") for k in ("scratch", "kd", "kd+transfer")}


def test_editing_the_kd_loss_rekeys_student_cells_only(tree):
    before = keys(tree)
    path = tree["kdsuite"] / "engine" / "loss.py"
    path.write_text(path.read_text().replace("* temperature**2", "* temperature**2 * 1.0"))  # uncommitted edit
    assert changed(before, keys(tree)) == {(c.model, c.kind) for c in CELLS if c.student}
    path = tree["kdsuite.teachers"] / "transfer.py"
    before = keys(tree)
    path.write_text(path.read_text() + "\nEXTRA = 1\n")
    assert changed(before, keys(tree)) == {(c.model, "kd+transfer") for c in CELLS if c.kind == "kd+transfer"}
    path = tree["kdsuite.teachers"] / "keras_hub.py"
    before = keys(tree)
    path.write_text(path.read_text() + "\nEXTRA = 1\n")
    assert changed(before, keys(tree)) == {("minilm-l6", "teacher")}


def test_code_hash_ignores_docstrings_comments_and_layout():
    src = 'def f(x):\n    """Double."""\n    return 2 * x  # twice\n'
    assert code_of(src) == code_of('def f(x):\n    """Twice x."""\n\n    return (2 *\n            x)\n')
    assert code_of(src) != code_of('def f(x):\n    """Double."""\n    return 3 * x\n')


VOLATILE = {"wall_s", "times_s", "train_samples_per_s", "predict_samples_per_s", "speed", "run_dir", "suite"}


@pytest.mark.slow
def test_distill_and_the_same_grid_cell_give_the_same_record(tmp_path):
    args = ("--student", "mlp", "--no-kd", "--max-train", "1500", "--epochs", "3", "--seq-len", "32")
    alone = cli_json("distill", "emotion", *args, "--out", str(tmp_path / "alone"))
    suite = tmp_path / "one.toml"
    suite.write_text('datasets = ["emotion"]\nstudents = ["mlp"]\nkinds = ["scratch"]\n'
                     '[train]\nepochs = 3\n[data.emotion]\nmax_train = 1500\nseq_len = 32\n')
    proc = run_cli("run", str(suite), "--out", str(tmp_path / "grid"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    [path] = (tmp_path / "grid" / "results").glob("*.json")
    in_grid = json.loads(path.read_text())
    assert in_grid["cell_key"] == alone["cell_key"] and in_grid["cell"] == alone["cell"]
    assert {k: v for k, v in in_grid.items() if k not in VOLATILE} == {k: v for k, v in alone.items() if k not in VOLATILE}
