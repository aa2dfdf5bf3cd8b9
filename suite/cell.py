"""Run one grid cell in this process: `python -m suite.cell SPEC.json RESULT.json`.

The spec names everything the cell needs (dataset and its options, model, kind, seed, backend, teacher);
the result is written atomically, so a killed cell leaves nothing behind and is simply run again."""

from __future__ import annotations

import json
import sys

from suite import store
from suite.errors import KdsuiteError


def run_cell(spec: dict) -> dict:
    cell, data_dir = spec["cell"], spec.get("data_dir")
    from suite.data import DATASETS, load_dataset

    opts = dict(cell["data"])
    seq_len = opts.pop("seq_len", None)
    transfer_spec = opts.pop("transfer", "")
    # Splits are carved and subsampled with seed 0 in every cell, so all seeds share data and teacher
    # logits; the cell's seed drives initialisation and shuffling.
    ds = load_dataset(cell["dataset"], data_dir, seed=0, **opts)
    if cell["kind"] == "baseline":
        from suite.baseline import tfidf_logreg

        return tfidf_logreg(ds, seed=cell["seed"])
    if cell["kind"] == "teacher":
        from suite.logits import teacher_record
        from suite.teaching import run_teacher

        try:
            return teacher_record(cell["model"], ds)
        except KdsuiteError:
            if not cell["train"].get("fine_tune"):  # fine-tuning takes hours on a CPU: only when the suite asks
                raise
        run_teacher(cell["dataset"], cell["model"], data_dir=data_dir, verbose=2, val_size=opts.get("val_size", 0.1))
        return teacher_record(cell["model"], ds)

    from suite.backend import use_backend

    use_backend(cell["backend"])
    from suite.train import TrainConfig, teacher_logits_for, train_student

    spec_ds = DATASETS.get(ds.name)
    train = dict(cell["train"])
    train.setdefault("seq_len", seq_len or (spec_ds.max_length if spec_ds else 64))
    if cell["kind"] == "scratch":
        train["loss"] = "ce"
    transfer = None
    if cell["kind"] == "kd+transfer":
        from suite.transfer import transfer_set

        train["transfer"] = transfer_spec
        transfer = transfer_set(ds, cell["teacher"], transfer_spec, seed=0)
    cfg = TrainConfig(student=cell["model"], seed=cell["seed"], **train)
    if cell["kind"] == "nested":
        teacher = teacher_logits_for(ds, None, _student_logits(spec, cell))
    else:
        teacher = teacher_logits_for(ds, cell["teacher"], None) if cell["teacher"] else None
    result = train_student(ds, cfg, teacher, cell["teacher"], spec["models_dir"], verbose=2, transfer=transfer)
    return result | ({"kind": "nested"} if cell["kind"] == "nested" else {})


def _student_logits(spec: dict, cell: dict) -> str:
    """The logits file of the finished kd cell of the student named in `cell["teacher"]` ("student:NAME")."""
    from pathlib import Path

    source = cell["teacher"].removeprefix("student:")
    for path in sorted(Path(spec["results_dir"]).glob("[!.]*.json")):
        r = json.loads(path.read_text())
        c = r.get("cell", {})
        if (r.get("status") == "ok" and c.get("model") == source and c.get("kind") == "kd"
                and (c.get("dataset"), c.get("backend"), c.get("seed"), c.get("data"))
                == (cell["dataset"], cell["backend"], cell["seed"], cell["data"])):
            return str(Path(r["run_dir"]) / "logits.npz")
    raise KdsuiteError(f"nested: no finished kd cell of {source!r} to learn from ({cell['dataset']}, seed {cell['seed']})")


def main(argv: list[str]) -> int:
    spec_path, result_path = argv
    try:
        result = run_cell(json.loads(open(spec_path).read()))
    except KdsuiteError as exc:
        print(f"kdsuite: error: {exc}", file=sys.stderr)
        return 2
    store.write_json(result_path, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
