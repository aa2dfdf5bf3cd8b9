"""The one way into training and evaluation: `run(cell, out)` computes a cell's result once and stores it as
`out/results/<key>.json`, its models under `out/models/<key>/`. `kdsuite distill` calls it in-process; a suite's
grid calls it in a process per cell (`python -m kdsuite.engine.cell SPEC.json`, the Keras backend is fixed at
import). The key follows the cell's spec, its data and its own code (`engine/keys.py`), so a rerun returns the
stored record and any change to what computes it makes a new one. Records are typed (`kdsuite.records`: the
producers' fields are checked against the record type here) and written atomically."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from kdsuite import store
from kdsuite.config import Cell, rewrite_members, scratch_members
from kdsuite.data.datasets import TextDataset, default_length, load_cell_data
from kdsuite.engine.keys import cell_key
from kdsuite.errors import KdsuiteError
from kdsuite.records import (Result, StudentRecord, TeacherRecord, read_records, result_path, result_type, stored,
                             write_record)


STALE = "its stored record came from another run of the teacher"


def run(cell: Cell, out: str | Path, data_dir: str | None = None, suite: str = "", verbose: int = 2) -> Result:
    """The record of `cell` in the store at `out`: the stored one when finished, else computed and stored."""
    out = Path(out)
    ds = load_cell_data(cell, data_dir)
    key, code = cell_key(cell, ds.fingerprint)
    done = stored(out, key)
    if done is not None and still_current(done, cell, out, ds=ds):
        return done
    if done is not None:
        print(f"kdsuite: {cell.label}: {STALE}; computing it again", file=sys.stderr)
        shutil.rmtree(out / "models" / key, ignore_errors=True)  # one run's curves in its TensorBoard folder
    t0, commit = time.perf_counter(), store.git_commit()  # the code this process runs, even if HEAD moves meanwhile
    fields = _compute(cell, ds, out, key, data_dir, verbose)
    common = {
        "status": "ok", "cell": cell.to_dict(), "cell_key": key, "code_version": code, "suite": suite,
        "dataset": ds.name, "model": cell.model, "kind": cell.kind, "seed": cell.seed, "backend": cell.backend,
        "teacher": cell.teacher, "data_source": ds.source, "data_fingerprint": ds.fingerprint,
        "data_view": ds.view_fingerprint, "data_recipe": ds.recipe, "train_rows": len(ds.splits["train"]),
        "commit": commit,
        "family": cell.model,  # a baseline is its own family; students and teachers name theirs
    }
    record = result_type(cell.kind).from_fields(common | fields | {"wall_s": round(time.perf_counter() - t0, 1)})
    write_record(result_path(out, key), record)
    return record


def _compute(cell: Cell, ds: TextDataset, out: Path, key: str, data_dir: str | None, verbose: int) -> dict:
    if cell.kind == "baseline":
        from kdsuite.teachers.sklearn import run_baseline

        return run_baseline(ds, seed=cell.seed, model=cell.model)
    if cell.kind == "teacher":
        return _teacher(cell, ds, out, data_dir)

    from kdsuite.backend import use_backend

    use_backend(cell.backend)
    from kdsuite.engine.fit import train_student

    cfg = cell.train_config()
    transfer = None
    if cell.kind == "kd+transfer":
        from kdsuite.teachers.transfer import transfer_set

        if not cell.option("transfer"):
            raise KdsuiteError(f"{cell.label}: kind 'kd+transfer' needs a transfer set (data option 'transfer')")
        transfer = transfer_set(ds, _resolved(cell.teacher, cell, out), cell.option("transfer"),
                                seed=cell.option("data_seed"), data_dir=data_dir)
    # other kinds ignore a transfer set: a suite's [data.NAME] transfer reaches every cell of that dataset
    teacher = _teacher_logits(cell, ds, out) if cell.kind != "scratch" else None
    hparams = {"model": cell.model, "kind": cell.kind, "teacher": cell.teacher or ""}
    seq_len = cell.option("seq_len") or default_length(ds.name)
    fields = train_student(ds, cell.model, cfg, seq_len, cell.seed, teacher, out / "models" / key, hparams,
                           verbose=verbose, transfer=transfer)
    if teacher is None:
        return fields
    # which run of a teacher name the cell learned from (the name resolves to the newest stored run)
    from kdsuite.teachers.logit_store import array_hash

    seen = teacher | ({"transfer": transfer.logits} if transfer is not None else {})
    return fields | {"teacher_logits": array_hash(seen), "teacher_run": array_hash(teacher)}


def still_current(record: Result, cell: Cell, out: Path, data_dir: str | None = None,
                  ds: TextDataset | None = None) -> bool:
    """Whether a stored record still answers its cell. A teacher's name resolves to its newest stored run and a
    `logits:FILE` to what the file holds now, and neither is in the key: a distilled record is reused only if it
    learned from the logits its teacher gives now, a teacher's row only if it was read from the run its name
    resolves to now (a file's row: only while the file's test metrics are the row's). A record that predates
    `teacher_run`, an ensemble's row, or a teacher with nothing stored here (a committed store on a fresh machine)
    is taken as it stands."""
    distilled = isinstance(record, StudentRecord) and record.teacher_run is not None
    if not (distilled or isinstance(record, TeacherRecord)):
        return True
    from kdsuite.teachers import logit_store

    ds = ds or load_cell_data(cell, data_dir)
    try:
        if distilled:
            return logit_store.array_hash(_teacher_logits(cell, ds, out)) == record.teacher_run
        teacher = _resolved(cell.model, cell, out)
        if teacher.startswith("logits:") and "+" not in teacher:  # a file: its row is its logits' test metrics
            from kdsuite.teachers.runs import teacher_record

            return teacher_record(teacher, ds)["test"] == record.test
        npz = None if "+" in teacher else logit_store.stored_meta(teacher, ds)[0]
        return npz is None or str(npz) == record.logits
    except KdsuiteError:
        return True


def _teacher(cell: Cell, ds: TextDataset, out: Path, data_dir: str | None) -> dict:
    """A teacher's row from its stored logits' metadata; fine-tuned first when the suite asks (`fine_tune`)."""
    from kdsuite.teachers.runs import run_teacher, teacher_record

    teacher = _resolved(cell.model, cell, out)
    try:
        record = teacher_record(teacher, ds)
    except KdsuiteError:
        if not cell.train.get("fine_tune"):  # fine-tuning takes hours on a CPU: only when the suite asks
            raise
        run_teacher(cell.dataset, teacher, data_dir=data_dir, verbose=2, val_size=cell.option("val_size"),
                    seed=cell.option("data_seed"))
        record = teacher_record(teacher, ds)
    # the row keeps the suite's name for a teacher whose members are its own scratch cells (their run folders vary)
    return record if teacher == cell.model else record | {"model": cell.model, "teacher": cell.model}


def _teacher_logits(cell: Cell, ds: TextDataset, out: Path) -> dict[str, np.ndarray]:
    """Teacher logits aligned with `ds` (train rows follow any subsampling) for a KD cell's `teacher`:
    a teacher name (cached or committed logits), `logits:FILE.npz`, or `student:NAME` (that student's kd cell)."""
    from kdsuite.teachers import logit_store
    from kdsuite.teachers.runs import load_teacher_logits

    if not cell.teacher:
        raise KdsuiteError(f"{cell.label}: a {cell.kind} cell needs a teacher")
    if "+" not in cell.teacher and cell.teacher.startswith("student:"):
        full = logit_store.load_logits_file(_student_logits(cell, out), ds)
    else:
        full = load_teacher_logits(_resolved(cell.teacher, cell, out), ds)
    return full | {"train": full["train"][ds.train_index]}


def _student_logits(cell: Cell, out: Path) -> Path:
    """The logits file of the finished kd cell of the student named in `cell.teacher` ("student:NAME")."""
    source = cell.teacher.removeprefix("student:")
    return _finished_run(out, source, "kd", cell, cell.backend, cell.seed, "nested") / "logits.npz"


def _resolved(teacher: str, cell: Cell, out: Path) -> str:
    """`teacher` with each `scratch:NAME:SEED` ensemble member named by the run folder of that scratch cell in
    this store (`student:RUN`), the form the teachers read."""
    if not scratch_members(teacher):
        return teacher

    def run_folder(member: str) -> list[str]:
        if not member.startswith("scratch:"):
            return [member]
        [(name, seed)] = scratch_members(member)
        return [f"student:{_finished_run(out, name, 'scratch', cell, 'tensorflow', seed, cell.label)}"]

    return rewrite_members(teacher, run_folder)


def _finished_run(out: Path, model: str, kind: str, cell: Cell, backend: str, seed: int, who: str) -> Path:
    """The run folder of the finished `kind` cell of `model` in the store at `out`, on `cell`'s dataset and data."""
    wanted = (model, kind, cell.dataset, backend, seed, cell.data)
    found = [r for r in read_records(out / "results") if isinstance(r, StudentRecord)
             and tuple(r.cell[k] for k in ("model", "kind", "dataset", "backend", "seed", "data")) == wanted]
    if found:  # a record of today's code before one migrated from older code
        return Path(min(found, key=lambda r: r.migrated_from is not None).run_dir)
    raise KdsuiteError(f"{who}: no finished {kind} cell of {model!r} to learn from ({cell.dataset}, {backend}, "
                       f"seed {seed})")


def main(argv: list[str]) -> int:
    """`python -m kdsuite.engine.cell SPEC.json`: run the cell the spec names into the store it names."""
    spec = json.loads(Path(argv[0]).read_text())
    try:
        run(Cell.from_dict(spec["cell"]), spec["out"], spec.get("data_dir"), spec.get("suite", ""))
    except KdsuiteError as exc:
        print(f"kdsuite: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
