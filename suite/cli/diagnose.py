"""`kdsuite diagnose DATASET --teacher T`: how much word order matters to the teacher, how far word counts alone
get, and how long the texts are in student tokens (`report/diagnose.py`); stored once in OUT/diagnostics/."""

from __future__ import annotations

from kdsuite.cli.common import data_args, load


def add(sub) -> None:
    p = sub.add_parser("diagnose", help="word-order sensitivity, lexical cues and lengths of a dataset")
    data_args(p)  # --max-train/--train-fraction: the view whose teacher and bag-of-words baseline are compared
    p.add_argument("--teacher", default="minilm-l6",
                   help="the teacher whose answers are shuffled (a transformer sees word order; default minilm-l6)")
    p.add_argument("--shuffles", type=int, default=3, help="seeded word shuffles of each test text (default 3)")
    p.add_argument("--rows", type=int, help="test rows to sample (default: all for scikit-learn teachers, "
                                            "300 for others)")
    p.add_argument("--seed", type=int, default=0, help="seed of the row sample and of the first shuffle")
    p.add_argument("--seq-len", type=int, help="the students' sequence length (default: that of the stored "
                                               "students, else the dataset's)")
    p.add_argument("--out", default="reports", help="the store whose diagnostics/ keeps the result (default reports)")
    p.set_defaults(run=run, show=show)


def run(args) -> dict:
    from kdsuite.errors import KdsuiteError
    from kdsuite.records import to_json
    from kdsuite.report.diagnose import diagnose

    if args.seq_len is not None and args.seq_len < 1:
        raise KdsuiteError(f"--seq-len must be positive, got {args.seq_len}")
    return to_json(diagnose(load(args), args.teacher, args.out, args.shuffles, args.rows, args.seed, args.seq_len))


def show(result: dict) -> None:
    from kdsuite.records import read_record
    from kdsuite.report.diagnose import summary

    d = read_record(result)
    w = d.word_order
    print(f"{d.dataset}: {summary(d)}")
    print(f"  teacher accuracy {100 * w['accuracy_original']:.2f}% on the sampled rows, "
          f"{100 * w['accuracy_shuffled']:.2f}% shuffled; agreement per shuffle "
          + ", ".join(f"{100 * a:.1f}%" for a in w["agreement_per_shuffle"]))
    if "note" in w:
        print(f"  note: {w['note']}")
