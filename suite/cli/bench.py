"""`kdsuite bench DATASET`: train/inference speed, size and memory of students on each backend, the suite's fit
against a bare `model.fit` (`--overhead`) and cached vs per-step KD (`--kd-compare`); `--scale`: time and peak memory
of a student cell on the Amazon sample resampled to growing row counts; `--scale --transfer-rows N`: a KD fit with
an N-row transfer set (real NBSVM logits) against a bare `model.fit` on the same arrays; `--executors SUITE`: a
whole `kdsuite run SUITE` by the local executor and by the Ray executor."""

from __future__ import annotations

import sys


def add(sub) -> None:
    p = sub.add_parser("bench", help="train/inference speed, size and memory of students on each backend")
    p.add_argument("dataset", nargs="?", default="emotion")
    p.add_argument("--models", help="comma-separated students (default mlp,cnn,bilstm; with --scale, mlp)")
    p.add_argument("--backends", default="tensorflow,jax,torch", help="with --scale, the first one")
    p.add_argument("--teacher", help="add this teacher's row (from its stored metadata)")
    p.add_argument("--data-dir", help="local mirror (default $KDSUITE_DATA_DIR)")
    p.add_argument("--overhead", action="store_true",
                   help="also time the suite's student fit against a bare model.fit (3 epochs each)")
    p.add_argument("--kd-compare", action="store_true",
                   help="also distil the students from cached logits and with the teacher run every step")
    p.add_argument("--kd-rows", type=int, default=2000, help="training rows for --kd-compare")
    p.add_argument("--kd-epochs", type=int, default=3, help="epochs for --kd-compare")
    p.add_argument("--scale", action="store_true",
                   help="instead: time and peak memory of load + tokenise + one epoch of a student (the first of "
                   "--models) on the Amazon sample resampled to each of --sizes rows, a fresh process each")
    p.add_argument("--sizes", default="250000,500000,1000000,2000000", help="training rows for --scale")
    p.add_argument("--transfer-rows", help="with --scale, instead: comma-separated transfer-set sizes; per size, one "
                   "epoch of KD from the committed NBSVM logits on Amazon's train rows plus that many rows drawn from "
                   "them, the suite's fit against a bare model.fit on the same arrays (bench_transfer)")
    p.add_argument("--via-distill", action="store_true",
                   help="with --transfer-rows, run the suite's fit through `kdsuite distill --teacher nbsvm "
                   "--transfer unsup` (its transfer texts are streamed from their file as well, deduplicated in one pass "
                   "with a 16-byte digest per row)")
    p.add_argument("--repeats", type=int, default=1,
                   help="with --transfer-rows, pairs of fits run in turn per size, the fastest of each side compared; "
                   "with --executors, runs per executor, in turn")
    p.add_argument("--executors", metavar="SUITE",
                   help="instead: run the suite (e.g. quick) with the local executor and with the Ray executor, each "
                   "in a fresh process with an empty cache and store; wall times and cell seconds (bench_executors)")
    p.add_argument("--seq-len", type=int, default=128, help="tokens per text for --scale")
    p.add_argument("--out", help="also write bench_<dataset>.md/.json (bench_scale with --scale, bench_transfer "
                   "with --transfer-rows, bench_executors with --executors) here")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run, show=show)


def run(args) -> dict:
    from kdsuite.errors import KdsuiteError
    from kdsuite.report.bench import run_bench

    if args.executors:
        from kdsuite.report.executors import run_executors

        if args.scale:
            raise KdsuiteError("--executors and --scale are separate benchmarks")
        return run_executors(args.executors, args.data_dir, args.out, "kdsuite " + " ".join(sys.argv[1:]),
                             args.repeats)
    if args.scale:
        return _scale(args)
    if args.transfer_rows or args.via_distill or args.repeats != 1:
        raise KdsuiteError("--transfer-rows, --via-distill and --repeats go with --scale")
    return run_bench(args.dataset, args.models or "mlp,cnn,bilstm", args.backends, args.teacher, args.overhead,
                     args.kd_compare, args.kd_rows, args.kd_epochs, args.data_dir, args.out, "kdsuite " + " ".join(sys.argv[1:]))


def _sizes(value: str, flag: str) -> list[int]:
    from kdsuite.errors import KdsuiteError

    try:
        sizes = [int(n) for n in value.split(",")]
    except ValueError:
        raise KdsuiteError(f"{flag}: expected comma-separated row counts, got {value!r}") from None
    if min(sizes) < 1:
        raise KdsuiteError(f"{flag}: row counts must be positive, got {value!r}")
    return sizes


def _scale(args) -> dict:
    from kdsuite.errors import KdsuiteError
    from kdsuite.report.scale import run_scale, run_transfer

    student = (args.models or "mlp").split(",")[0]
    command = "kdsuite " + " ".join(sys.argv[1:])
    if args.transfer_rows:
        return run_transfer(_sizes(args.transfer_rows, "--transfer-rows"), student, args.seq_len,
                            args.backends.split(",")[0], args.data_dir, args.out, command, args.via_distill,
                            args.repeats)
    if args.via_distill or args.repeats != 1:
        raise KdsuiteError("--via-distill and --repeats go with --transfer-rows")
    return run_scale(_sizes(args.sizes, "--sizes"), student, args.seq_len, args.backends.split(",")[0],
                     args.data_dir, args.out, command)


def show(result: dict) -> None:
    from kdsuite.report.bench import bench_markdown
    from kdsuite.report.executors import executors_markdown
    from kdsuite.report.scale import scale_markdown, transfer_markdown

    if "ray_over_local" in result:
        print(executors_markdown(result))
    elif "transfer_source" in result:
        print(transfer_markdown(result))
    else:
        print(scale_markdown(result) if "source" in result else bench_markdown(result))
