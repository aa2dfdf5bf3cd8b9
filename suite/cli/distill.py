"""`kdsuite distill DATASET --student S (--teacher T | --teacher-logits F | --no-kd)`: one student cell, built
exactly as a suite's grid builds it and run by the same function, so the record is the grid's record."""

from __future__ import annotations

from pathlib import Path

from kdsuite.backend import BACKENDS
from kdsuite.cli.common import data_args, data_options, print_model_result
from kdsuite.config import LOSSES, TRAIN_DEFAULTS
from kdsuite.errors import KdsuiteError


def add(sub) -> None:
    p = sub.add_parser("distill", help="train a student, distilled from teacher logits or from labels alone")
    data_args(p)
    p.add_argument("--student", default="mlp", help="registered name, module:Name or file.py:Name")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--teacher", help="teacher whose cached or committed logits to use")
    source.add_argument("--teacher-logits", help="a logits file (.npz) for this dataset")
    source.add_argument("--no-kd", action="store_true", help="hard labels only (no teacher): the scratch twin")
    p.add_argument("--backend", choices=BACKENDS)
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the student: weight initialisation and batch order (the data: --data-seed)")
    p.add_argument("--loss", choices=[name for name in LOSSES if name != "ce"], default=TRAIN_DEFAULTS["loss"])
    p.add_argument("--transfer", help="extra teacher-labelled text: unsup[:N], unused, tang:N, eda:N or another "
                   "dataset's DATASET.SPLIT[:N], or several joined by + (unsup+tang:10); each distinct text once")
    p.add_argument("--temperature", type=float, default=TRAIN_DEFAULTS["temperature"])
    p.add_argument("--alpha", type=float, default=TRAIN_DEFAULTS["alpha"], help="weight of the hard-label CE in ce+kl")
    p.add_argument("--epochs", type=int, default=TRAIN_DEFAULTS["epochs"])
    p.add_argument("--patience", type=int, default=TRAIN_DEFAULTS["patience"])
    p.add_argument("--batch-size", type=int, default=TRAIN_DEFAULTS["batch_size"])
    p.add_argument("--learning-rate", type=float, default=TRAIN_DEFAULTS["learning_rate"])
    p.add_argument("--vocab-size", type=int, default=TRAIN_DEFAULTS["vocab_size"])
    p.add_argument("--seq-len", type=int, help="tokens per text (default: the dataset's)")
    p.add_argument("--out", default="runs", help="results store: records in OUT/results, models and TensorBoard "
                                                 "logs in OUT/models (default runs)")
    p.set_defaults(run=run, show=print_model_result)


def run(args) -> dict:
    from kdsuite.backend import use_backend
    from kdsuite.config import Cell, TrainConfig, scratch_members
    from kdsuite.engine.cell import run as run_cell
    from kdsuite.records import to_json

    if not (args.no_kd or args.teacher or args.teacher_logits):
        raise KdsuiteError("say where targets come from: --teacher NAME, --teacher-logits FILE or --no-kd")
    if args.transfer and not args.teacher:
        raise KdsuiteError("--transfer needs --teacher NAME (its checkpoint or logits label the transfer text)")
    unseeded = [name for name, seed in scratch_members(args.teacher) if seed is None]
    if unseeded:
        raise KdsuiteError(f"--teacher {args.teacher!r}: outside a suite a scratch member names its seed, e.g. "
                           f"scratch:{unseeded[0]}:{args.seed} (its run in --out)")
    kind = "scratch" if args.no_kd else "kd+transfer" if args.transfer else "kd"
    teacher = None if args.no_kd else args.teacher or f"logits:{Path(args.teacher_logits).expanduser().resolve()}"
    train = {name: getattr(args, name) for name in TRAIN_DEFAULTS}
    TrainConfig(**train).validate()  # every flag, even those a scratch cell does not use
    data = data_options(args) | {"seq_len": args.seq_len, "transfer": args.transfer or ""}
    backend = use_backend(args.backend)
    cell = Cell(args.dataset, args.student, kind, args.seed, backend, teacher, train, data)
    cell.train_config()  # bad options fail here, before any data is read
    if args.seq_len is not None and args.seq_len < 1:
        raise KdsuiteError(f"--seq-len must be positive, got {args.seq_len}")
    return to_json(run_cell(cell, args.out, args.data_dir))
