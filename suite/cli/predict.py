"""`kdsuite predict RUN_DIR "text" ...` (or `--input FILE [--output FILE]`): classify texts with a trained student."""

from __future__ import annotations

import json
from pathlib import Path

from kdsuite.backend import BACKENDS
from kdsuite.errors import KdsuiteError


def add(sub) -> None:
    p = sub.add_parser("predict", help="classify texts with a trained student (its run folder)")
    p.add_argument("run_dir", help="a student's run folder (OUT/models/<key>/, shown as run_dir in its record)")
    p.add_argument("texts", nargs="*", help="texts to classify")
    p.add_argument("--input", help="a UTF-8 file with one text per line")
    p.add_argument("--output", help="write one JSON object per line here instead of printing")
    p.add_argument("--backend", choices=BACKENDS)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run, show=show)


def _read_lines(path: str) -> list[str]:
    file = Path(path)
    if not file.is_file():
        raise KdsuiteError(f"{file}: input file not found")
    try:
        lines = [line for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError as exc:
        raise KdsuiteError(f"{file}: not UTF-8 text (byte {exc.start})") from None
    if not lines:
        raise KdsuiteError(f"{file}: no text to classify (empty file)")
    return lines


def run(args) -> dict:
    from kdsuite.backend import use_backend

    use_backend(args.backend)
    from kdsuite.engine.predict import load_student

    texts = list(args.texts) + (_read_lines(args.input) if args.input else [])
    if not texts:
        raise KdsuiteError("give texts to classify, or --input FILE")
    student = load_student(args.run_dir)
    rows = [{"text": t} | p for t, p in zip(texts, student.predict(texts))]
    if args.output:
        from kdsuite import store

        store.write_text(args.output, "".join(json.dumps(r) + "\n" for r in rows))
    return {"run_dir": str(args.run_dir), "labels": student.label_names, "predictions": rows,
            "output": args.output}


def show(result: dict) -> None:
    if result["output"]:
        print(f"{len(result['predictions'])} predictions -> {result['output']}")
        return
    for r in result["predictions"]:
        p = r["probabilities"][r["label"]]
        print(f"{r['label']:<12} {p:.3f}  {r['text']}")
