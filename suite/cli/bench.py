"""`kdsuite bench DATASET`: train/inference speed, size and memory of students on each backend, the suite's fit
against a bare `model.fit` (`--overhead`) and cached vs per-step KD (`--kd-compare`)."""

from __future__ import annotations

import sys


def add(sub) -> None:
    p = sub.add_parser("bench", help="train/inference speed, size and memory of students on each backend")
    p.add_argument("dataset", nargs="?", default="emotion")
    p.add_argument("--models", default="mlp,cnn,bilstm", help="comma-separated students")
    p.add_argument("--backends", default="tensorflow,jax,torch")
    p.add_argument("--teacher", help="add this teacher's row (from its stored metadata)")
    p.add_argument("--data-dir", help="local mirror (default $KDSUITE_DATA_DIR)")
    p.add_argument("--overhead", action="store_true",
                   help="also time the suite's student fit against a bare model.fit (3 epochs each)")
    p.add_argument("--kd-compare", action="store_true",
                   help="also distil the students from cached logits and with the teacher run every step")
    p.add_argument("--kd-rows", type=int, default=2000, help="training rows for --kd-compare")
    p.add_argument("--kd-epochs", type=int, default=3, help="epochs for --kd-compare")
    p.add_argument("--out", help="also write bench_<dataset>.md/.json here")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run, show=show)


def run(args) -> dict:
    from kdsuite.report.bench import run_bench

    return run_bench(args.dataset, args.models, args.backends, args.teacher, args.overhead, args.kd_compare,
                     args.kd_rows, args.kd_epochs, args.data_dir, args.out, "kdsuite " + " ".join(sys.argv[1:]))


def show(result: dict) -> None:
    from kdsuite.report.bench import bench_markdown

    print(bench_markdown(result))
