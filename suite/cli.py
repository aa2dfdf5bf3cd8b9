"""The `kdsuite` command line: parse, call, print. `--json` prints one JSON object on stdout and nothing
else there (progress goes to stderr). User errors print one line and exit 2."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

from suite.backend import BACKENDS, use_backend
from suite.errors import KdsuiteError


def _data_args(p: argparse.ArgumentParser, dataset: bool = True) -> None:
    if dataset:
        p.add_argument("dataset", help="registered name (emotion, imdb, amazon_polarity) or a folder/file")
    p.add_argument("--data-dir", help="local mirror <dir>/<name>/<split>.parquet (default $KDSUITE_DATA_DIR)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-size", type=float, default=0.1, help="share of train carved for validation if needed")
    p.add_argument("--train-fraction", type=float, help="stratified seeded share of train to keep")
    p.add_argument("--max-train", type=int, help="at most this many training rows (stratified, seeded)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _load(args, dataset: str | None = None):
    from suite.data import load_dataset

    return load_dataset(dataset or args.dataset, args.data_dir, val_size=args.val_size, seed=args.seed,
                        train_fraction=args.train_fraction, max_train=args.max_train)


# ---------------------------------------------------------------- commands

def cmd_datasets(args) -> dict:
    from suite.data import DATASETS

    names = [args.dataset] if args.dataset else list(DATASETS)
    out = {}
    for name in names:
        ds = _load(args, name)
        note = DATASETS[name].note if name in DATASETS else ""
        out[ds.name] = ds.summary() | ({"note": note} if note else {})
    return out


def _print_datasets(result: dict) -> None:
    for summary in result.values():
        print(f"{summary['name']}  source: {summary['source']}  fingerprint: {summary['fingerprint']}")
        print(f"  labels: {', '.join(summary['label_names'])}")
        if summary.get("note"):
            print(f"  note: {summary['note']}")
        for split, info in summary["splits"].items():
            dist = ", ".join(f"{k} {v}" for k, v in info["labels"].items())
            print(f"  {split:<11} {info['rows']:>7} rows   {dist}")
        for k, v in summary["recipe"].items():
            print(f"  {k}: {v}")


def cmd_baseline(args) -> dict:
    from suite.baseline import tfidf_logreg

    return tfidf_logreg(_load(args), seed=args.seed)


def _print_model_result(r: dict) -> None:
    t = r["test"]
    print(f"{r['model']} on {r['dataset']} ({r['data_source']}, {r['train_rows']} training rows)")
    print(f"  test accuracy {t['accuracy']:.4f}  macro P {t['macro_precision']:.4f}  R {t['macro_recall']:.4f}"
          f"  F1 {t['macro_f1']:.4f}")
    print(f"  params {r['param_count']:,} ({r['param_count_note']})")
    print(f"  config {json.dumps(r['config'])}")
    print(f"  times (s) {json.dumps(r['times_s'])}")


def cmd_list(args) -> list[dict]:
    if args.what == "datasets":
        from suite.data import DATASETS

        return [{"name": s.name, "hub_id": s.hub_id, "labels": list(s.label_names), "splits": list(s.hub_splits),
                 "max_length": s.max_length} for s in DATASETS.values()]
    if args.what == "students":
        use_backend(args.backend)
        from students import STUDENTS, count_params

        return [{"name": e.name, "family": e.meta.get("family", ""), "description": e.meta.get("description", ""),
                 "size": e.defaults, "params_at_vocab_5000": count_params(e.name)} for e in STUDENTS.entries()]
    from teachers import TEACHERS

    return [{"name": e.name, "family": e.meta.get("family", ""), "params": e.meta.get("params", ""),
             "description": e.meta.get("description", "")} for e in TEACHERS.entries()]


def _print_list(rows: list[dict]) -> None:
    """An aligned table, one row per entry."""
    if not rows:
        return
    cells = [[str(v) for v in row.values()] for row in rows]
    widths = [max(len(c) for c in col) for col in zip(list(rows[0]), *cells)]
    for line in [list(rows[0])] + cells:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())


def cmd_distill(args) -> dict:
    use_backend(args.backend)
    from suite.train import distill_command

    return distill_command(args, _load(args))


def cmd_teacher(args) -> dict:
    from suite.teaching import run_teacher

    return run_teacher(args.dataset, args.teacher, epochs=args.epochs, max_length=args.max_length,
                       train_fraction=args.train_fraction, max_train=args.max_train, batch_size=args.batch_size,
                       lr=args.learning_rate, seed=args.seed, val_size=args.val_size,
                       unlabelled_rows=args.unlabelled_rows, data_dir=args.data_dir, export_dir=args.export)


def cmd_run(args) -> dict:
    from suite.report import write_report
    from suite.runner import expand, run_cells
    from suite.suites import load_suite

    suite = load_suite(args.suite)
    out = Path(args.out or Path("runs") / suite.name)
    cells = expand(suite)
    if args.datasets:
        cells = [c for c in cells if c.dataset in args.datasets.split(",")]
    if args.seeds:
        cells = [c for c in cells if str(c.seed) in args.seeds.split(",")]
    print(f"suite {suite.name}: {len(cells)} cells -> {out}", file=sys.stderr)
    records = run_cells(cells, out, args.data_dir, suite.name, log=lambda m: print(m, file=sys.stderr, flush=True))
    if suite.exports:
        _export(out, suite.exports, args.data_dir)
    report = write_report(out / "results", out)
    failed = [r for r in records if r["status"] != "ok"]
    return {"suite": suite.name, "cells": len(cells), "failed": len(failed), "report": report,
            "leaderboard": str(out / "leaderboard.md")}


def _run_module(module: str, backend: str, *argv: str) -> subprocess.CompletedProcess:
    """Run `python -m MODULE ARGV` on `backend` in a process of its own; a failure becomes a one-line error."""
    proc = subprocess.run([sys.executable, "-m", module, *argv], capture_output=True, text=True,
                          env=os.environ | {"KERAS_BACKEND": backend})
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1].removeprefix("kdsuite: error: ")
        raise KdsuiteError(f"{module} on {backend} failed: {last}")
    return proc


def _json_from(module: str, backend: str, *argv: str):
    """The JSON that `python -m MODULE ARGV` prints on its last stdout line."""
    return json.loads(_run_module(module, backend, *argv).stdout.strip().splitlines()[-1])


def _export(out: Path, formats, data_dir: str | None) -> None:
    """TFLite exports of the finished students in `out` (TensorFlow, so in a process of its own)."""
    proc = _run_module("suite.export", "tensorflow", str(out), ",".join(formats), data_dir or "")
    for line in proc.stderr.splitlines():
        if line.startswith("export "):
            print(line, file=sys.stderr, flush=True)


def cmd_export(args) -> dict:
    from suite.export import FORMATS
    from suite.report import write_report

    formats = args.formats.split(",")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise KdsuiteError(f"unknown export format {unknown[0]!r}; known: {', '.join(FORMATS)}")
    out = Path(args.dir)
    if not (out / "results").is_dir():
        raise KdsuiteError(f"{out / 'results'}: no results store (run `kdsuite run SUITE --out {out}` first)")
    _export(out, formats, args.data_dir)
    return write_report(out / "results", out)


def cmd_report(args) -> dict:
    from suite.report import write_report

    results = Path(args.dir) / "results"
    if not results.is_dir():
        raise KdsuiteError(f"{results}: no results store (run `kdsuite run SUITE --out {args.dir}` first)")
    return write_report(results, Path(args.dir))


def cmd_bench(args) -> dict:
    import platform

    from suite import store
    from suite.data import load_dataset

    ds = load_dataset(args.dataset, args.data_dir)
    rows = []
    for backend in args.backends.split(","):
        if backend not in BACKENDS:
            raise KdsuiteError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
        rows += _json_from("suite.bench", backend, args.dataset, backend, args.models,
                           *(["overhead"] if args.overhead else []))
    if args.teacher:
        from suite.logits import teacher_record

        t = teacher_record(args.teacher, ds)
        rows.insert(0, {"model": t["model"], "family": t["family"], "kind": "teacher", "backend": "tensorflow",
                        "dataset": ds.name, "param_count": t["param_count"],
                        "latency_ms_b1": t["speed"]["latency_ms_b1"]})
    result = {"dataset": ds.name, "hardware": {"machine": platform.machine(), "processor": platform.processor(),
                                               "cpus": os.cpu_count(),
                                               "threads": os.environ.get("KDSUITE_THREADS") or "framework default"},
              "commit": store.git_commit(), "data_fingerprint": ds.fingerprint,
              "command": "kdsuite " + " ".join(sys.argv[1:]), "rows": rows}
    if args.kd_compare:
        result["kd_compare"] = _json_from("suite.kd_speed", "tensorflow", args.dataset, args.models,
                                          str(args.kd_rows), str(args.kd_epochs))
    if args.out:
        store.write_json(Path(args.out) / f"bench_{ds.name}.json", result)
        store.write_text(Path(args.out) / f"bench_{ds.name}.md", _bench_markdown(result))
    return result


def _table(rows: list[dict], cols: tuple[str, ...]) -> list[str]:
    return ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)] + [
        "| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]


def _bench_markdown(result: dict) -> str:
    cols = ("model", "kind", "backend", "param_count", "disk_bytes", "train_samples_per_s", "latency_ms_b1",
            "latency_ms_b1_p95", "throughput_b256", "peak_rss_mb")
    if any("fit_overhead" in r for r in result["rows"]):
        cols += ("bare_fit_s", "suite_fit_s", "fit_overhead")
    lines = [f"# Speed and size on {result['dataset']}", "", f"Hardware: {json.dumps(result['hardware'])}", "",
             f"Commit {result['commit']}, data fingerprint {result['data_fingerprint']}: `{result['command']}`", "",
             *_table(result["rows"], cols)]
    kd = result.get("kd_compare")
    if kd:
        lines += ["", "## KD from cached teacher logits vs the teacher run every step", "",
                  f"{kd['teacher']} teacher (max length {kd['teacher_max_length']}), {kd['train_rows']} training rows, "
                  f"{kd['epochs']} epochs, batch {kd['batch_size']}, {kd['backend']}, seed {kd['seed']}. "
                  f"Per-step: `keras.distillation.Distiller`. Cached: kdsuite's Distiller on logits exported once "
                  f"({kd['teacher_export_s']} s for these rows).", "",
                  *_table(kd["students"], ("student", "param_count", "cached_fit_s", "per_step_fit_s",
                                           "cached_accuracy", "per_step_accuracy")), "",
                  f"Total: cached {kd['cached_total_s']} s, per-step {kd['per_step_total_s']} s: **{kd['speedup']}x** "
                  f"faster ({kd['speedup_with_export']}x counting the one-off export)."]
    return "\n".join(lines) + "\n"


def _print_bench(result: dict) -> None:
    print(_bench_markdown(result))


def cmd_sweep(args) -> dict:
    from suite.sweep import run_sweep
    from suite.train import TrainConfig

    try:
        fractions = sorted({float(f) for f in args.fractions.split(",")})
    except ValueError:
        raise KdsuiteError(f"--fractions: expected comma-separated numbers, got {args.fractions!r}") from None
    if not all(0 < f <= 1 for f in fractions):
        raise KdsuiteError(f"--fractions must lie in (0, 1], got {args.fractions}")
    train = {"epochs": args.epochs}
    TrainConfig(**train).validate()
    out = Path(args.out or Path("runs") / "sweep")
    return run_sweep(args.dataset, fractions, args.students.split(","), None if args.no_kd else args.teacher,
                     args.backend, [int(s) for s in args.seeds.split(",")], train, out, args.data_dir,
                     log=lambda m: print(m, file=sys.stderr, flush=True))


def _print_summary(result: dict) -> None:
    print(json.dumps(result, indent=2))


# ---------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kdsuite", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("datasets", help="show datasets: source used, splits, label counts, fingerprint")
    p.add_argument("dataset", nargs="?", help="one dataset (default: all registered)")
    _data_args(p, dataset=False)
    p.set_defaults(run=cmd_datasets, show=_print_datasets)

    p = sub.add_parser("baseline", help="TF-IDF + logistic regression, tuned on validation")
    _data_args(p)
    p.set_defaults(run=cmd_baseline, show=_print_model_result)

    p = sub.add_parser("list", help="list registered datasets, students or teachers")
    p.add_argument("what", choices=("datasets", "students", "teachers"))
    p.add_argument("--backend", choices=BACKENDS)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_list, show=_print_list)

    p = sub.add_parser("distill", help="train a student, distilled from teacher logits or from labels alone")
    _data_args(p)
    p.add_argument("--student", default="mlp", help="registered name, module:Name or file.py:Name")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--teacher", help="teacher whose cached or committed logits to use")
    source.add_argument("--teacher-logits", help="a logits file (.npz) for this dataset")
    source.add_argument("--no-kd", action="store_true", help="hard labels only (no teacher)")
    p.add_argument("--backend", choices=BACKENDS)
    p.add_argument("--loss", choices=("kl", "mse", "ce+kl"), default="kl")
    p.add_argument("--transfer", help="extra teacher-labelled text: unsup[:N], unused, tang:N or eda:N")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--alpha", type=float, default=0.5, help="weight of the hard-label CE in ce+kl")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--patience", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--vocab-size", type=int, default=5000)
    p.add_argument("--seq-len", type=int, help="tokens per text (default: the dataset's)")
    p.add_argument("--out", default="runs", help="folder for the .keras model, TensorBoard logs and result")
    p.set_defaults(run=cmd_distill, show=_print_model_result)

    p = sub.add_parser("teacher", help="fit a teacher (fine-tune a transformer on TensorFlow, or tune TF-IDF) "
                                       "and cache its logits for every split")
    _data_args(p)
    p.add_argument("--teacher", default="minilm-l6",
                   help="registered name (minilm-l6, tfidf-logreg), keras-hub:PRESET or hf:FOLDER")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--max-length", type=int, help="tokens per text (default: the dataset's)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=5e-5)
    p.add_argument("--unlabelled-rows", type=int,
                   help="export logits for only the first N rows of unlabelled splits (IMDb unsup)")
    p.add_argument("--export", help="also write compact float16 logits here (teachers/logits to ship them)")
    p.set_defaults(run=cmd_teacher, show=_print_model_result)

    p = sub.add_parser("run", help="run a suite (grid of cells) and write its leaderboard")
    p.add_argument("suite", nargs="?", default="quick", help="preset (quick, cpu, full, imdb-tfidf) or a .toml file")
    p.add_argument("--out", help="results, models and reports folder (default runs/<suite>)")
    p.add_argument("--datasets", help="run only the cells of these datasets (comma-separated)")
    p.add_argument("--seeds", help="run only the cells of these seeds, e.g. 1,2 (another process may run the rest)")
    p.add_argument("--data-dir", help="local mirror (default $KDSUITE_DATA_DIR)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_run, show=_print_summary)

    p = sub.add_parser("export", help="TFLite (float, dynamic-range int8) exports of each dataset's best students")
    p.add_argument("dir", help="a run folder holding results/ (e.g. reports)")
    p.add_argument("--formats", default="tflite,tflite-dr")
    p.add_argument("--data-dir", help="local mirror (default $KDSUITE_DATA_DIR)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_export, show=_print_summary)

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
    p.set_defaults(run=cmd_bench, show=_print_bench)

    p = sub.add_parser("sweep", help="baseline, scratch and distilled students vs training-set fraction")
    p.add_argument("dataset")
    p.add_argument("--fractions", default="0.01,0.05,0.25,1.0")
    p.add_argument("--students", default="mlp")
    p.add_argument("--teacher", default="minilm-l6")
    p.add_argument("--no-kd", action="store_true", help="only the baseline and scratch students")
    p.add_argument("--backend", choices=BACKENDS, default="tensorflow")
    p.add_argument("--seeds", default="0")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--out", help="folder (default runs/sweep)")
    p.add_argument("--data-dir", help="local mirror (default $KDSUITE_DATA_DIR)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_sweep, show=_print_summary)

    p = sub.add_parser("report", help="regenerate leaderboards and plots from stored results")
    p.add_argument("dir", nargs="?", default="reports", help="folder holding results/ (default reports)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_report, show=_print_summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.json:
            with contextlib.redirect_stdout(sys.stderr):
                result = args.run(args)
            print(json.dumps(result, default=str))
        else:
            result = args.run(args)
            args.show(result)
        if args.command in ("run", "sweep") and result["failed"]:
            print(f"kdsuite: {result['failed']} cell(s) failed", file=sys.stderr)
            return 1
    except KdsuiteError as exc:
        print(f"kdsuite: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `kdsuite list students | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except KeyboardInterrupt:
        print("kdsuite: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
