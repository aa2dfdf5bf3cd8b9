"""The `kdsuite` command line: one module per subcommand, each with `add(subparsers)` declaring its flags and
a `run(args)` returning a JSON-able result (and `show(result)` printing it). `--json` prints one JSON object
on stdout and nothing else there (progress goes to stderr). User errors print one line and exit 2."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys

from kdsuite.errors import KdsuiteError

SUBCOMMANDS = ("datasets", "baseline", "catalogue", "distill", "teacher", "run", "export", "bench", "sweep",
               "report", "predict", "migrate", "diagnose", "recommend")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="kdsuite", description="Distil fine-tuned transformer teachers into tiny Keras 3 students and rank them.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMANDS:
        importlib.import_module(f"kdsuite.cli.{name}").add(sub)
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
        if isinstance(result, dict) and result.get("failed"):
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
