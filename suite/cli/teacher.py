"""`kdsuite teacher DATASET --teacher T`: fit a teacher once and cache its logits for every split; an ensemble
(`--teacher a+b`) combines its members' logits; `--oof K` gives out-of-fold logits for the training rows;
`--out STORE` also stores the teacher's row, as a suite's teacher cell does."""

from __future__ import annotations

from kdsuite.cli.common import data_args, data_options, print_model_result


def add(sub) -> None:
    p = sub.add_parser("teacher", help="fit a teacher (fine-tune a transformer on TensorFlow, or tune TF-IDF) "
                                       "and cache its logits for every split")
    data_args(p)
    p.add_argument("--teacher", default="minilm-l6",
                   help="registered name (minilm-l6, tfidf-logreg, nbsvm), keras-hub:PRESET, hf:FOLDER, or an "
                        "ensemble of teachers, logits:FILE.npz and student:RUN_DIR joined by '+' (weights chosen "
                        "on validation, or given: a+b@0.3,0.7)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fit (the data: --data-seed)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--max-length", type=int, help="tokens per text (default: the dataset's)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=5e-5)
    p.add_argument("--truncation", choices=("head", "head+tail"), default="head",
                   help="tokens a long text keeps: its first ones, or a quarter from its start and the rest from "
                        "its end (keras-hub teachers; Sun et al. 2019)")
    p.add_argument("--checkpoint-every", type=int, default=200, metavar="N",
                   help="also checkpoint the fine-tune every N steps inside an epoch (0: after each epoch only); "
                        "a rerun resumes there. Does not change the result or the cache key")
    p.add_argument("--unlabelled-rows", type=int,
                   help="compute logits for only the first N rows of unlabelled splits (IMDb unsup)")
    p.add_argument("--oof", type=int, metavar="K",
                   help="label each training row with a model refitted without its fold (K folds; scikit-learn "
                        "teachers and ensembles of them); validation/test logits still come from the full fit")
    p.add_argument("--ship", help="also write compact float16 logits here (teachers/logits ships them with kdsuite)")
    p.add_argument("--out", help="also write the teacher's row into this results store (OUT/results), so that "
                                 "`kdsuite report` shows it beside the students distilled from it")
    p.set_defaults(run=run, show=print_model_result)


def run(args) -> dict:
    from kdsuite.teachers.runs import run_teacher

    result = run_teacher(args.dataset, args.teacher, epochs=args.epochs, max_length=args.max_length,
                         train_fraction=args.train_fraction, max_train=args.max_train, batch_size=args.batch_size,
                         lr=args.learning_rate, seed=args.seed, data_seed=args.data_seed, val_size=args.val_size,
                         unlabelled_rows=args.unlabelled_rows, data_dir=args.data_dir, ship_dir=args.ship,
                         oof=args.oof, truncation=args.truncation, checkpoint_every=args.checkpoint_every)
    if args.out:  # the row a suite's teacher cell stores: the same cell, read from the logits just cached
        from kdsuite.config import Cell
        from kdsuite.engine.cell import run as run_cell

        run_cell(Cell(args.dataset, args.teacher, "teacher", data=data_options(args)), args.out, args.data_dir)
    return result
