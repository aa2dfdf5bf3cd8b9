"""Deployment export: trained students to TFLite, float32 and dynamic-range quantised (int8 weights), each
evaluated on the test split with the TFLite interpreter, so the leaderboard shows what conversion and
quantisation cost in accuracy, size and latency.

`python -m kdsuite.report.tflite DIR [FORMAT,...]` exports, per dataset and student, the TensorFlow run with the best
validation accuracy from `DIR/results`, and writes one record per format to `DIR/exports/` (skipping records
already there). Recurrent students (BiLSTM) do not lower to TFLite builtin ops; they are recorded as
unsupported rather than shipped with the Flex delegate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kdsuite import store
from kdsuite.config import TFLITE_FORMATS
from kdsuite.records import ExportRecord, StudentRecord, read_record, read_records, write_record


def convert(model, fmt: str) -> bytes:
    """TFLite flatbuffer of a Keras model; `tflite-dr` quantises weights to int8 (dynamic range)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if fmt == "tflite-dr":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return converter.convert()


def _interpreter(content: bytes):
    import warnings

    import tensorflow as tf

    with warnings.catch_warnings():  # "tf.lite.Interpreter is deprecated": still shipped and working in TF 2.21
        warnings.simplefilter("ignore")
        return tf.lite.Interpreter(model_content=content)


def _runner(content: bytes, batch: int, seq_len: int):
    """One interpreter sized for `batch` rows of `seq_len` ids: a function from such an array to its logits."""
    interpreter = _interpreter(content)
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(inp["index"], [batch, seq_len])
    interpreter.allocate_tensors()

    def run(ids: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(inp["index"], ids.astype(inp["dtype"]))
        interpreter.invoke()
        return interpreter.get_tensor(out["index"]).copy()

    return run


def tflite_predict(content: bytes, ids: np.ndarray, batch: int = 256) -> np.ndarray:
    """Logits for `ids` from the TFLite interpreter, `batch` rows per invocation."""
    run = _runner(content, batch, ids.shape[1])
    parts = []
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        padded = np.zeros((batch, ids.shape[1]), ids.dtype)
        padded[:len(chunk)] = chunk
        parts.append(run(padded)[:len(chunk)])
    return np.concatenate(parts)


def record_test_ids(record: StudentRecord, data_dir: str | None) -> tuple[np.ndarray, object]:
    """The test split of `record`'s cell as ids of the run's own vocabulary (saved beside the model)."""
    import keras

    from kdsuite.config import Cell
    from kdsuite.data.datasets import load_cell_data
    from kdsuite.engine.tokens import STANDARDIZE

    ds = load_cell_data(Cell.from_dict(record.cell), data_dir)
    vocabulary = (Path(record.run_dir) / "vocabulary.txt").read_text().split("\n")[:-1]
    vectorizer = keras.layers.TextVectorization(vocabulary=vocabulary[2:], standardize=STANDARDIZE,
                                                output_sequence_length=record.config["seq_len"])
    return np.asarray(vectorizer(ds.splits["test"].texts.astype(str)), np.int32), ds


def export_record(record: StudentRecord, fmt: str, data_dir: str | None) -> ExportRecord:
    """Convert the student of a finished result to `fmt`, evaluate it, and describe it as a leaderboard row."""
    from kdsuite.metrics import classification_metrics, inference_speed
    from kdsuite.students import load_saved

    run_dir = Path(record.run_dir)
    base = dict(dataset=record.dataset, model=f"{record.model} ({fmt})", kind=record.kind, seed=record.seed,
                backend="tflite", teacher=record.teacher, commit=store.git_commit(), student=record.model, format=fmt,
                source=str(run_dir), source_accuracy=record.test["accuracy"], family=record.family,
                config=record.config, param_count=record.param_count, data_fingerprint=record.data_fingerprint,
                data_recipe=record.data_recipe)
    student = load_saved(run_dir / "student.keras")  # registers custom layers (the MLP's MaskedMean) first
    try:
        content = convert(student, fmt)
    except Exception as exc:  # the converter raises its own error types, with pages of MLIR
        reason = str(exc).strip().splitlines()[-1][:300] if str(exc).strip() else type(exc).__name__
        return ExportRecord(status="unsupported", error=f"TFLite conversion failed: {reason}", **base)
    path = run_dir / f"student.{fmt}.tflite"
    with store.atomic_path(path) as tmp:
        Path(tmp).write_bytes(content)
    ids, ds = record_test_ids(record, data_dir)
    logits = tflite_predict(content, ids)
    return ExportRecord(status="ok", path=str(path), disk_bytes=len(content),
                        test=classification_metrics(ds.splits["test"].labels, logits.argmax(-1), ds.label_names),
                        speed=inference_speed(_runner(content, 1, ids.shape[1]), _runner(content, 256, ids.shape[1]),
                                              ids, repeats=50), **base)


def deployable(records: list) -> list[StudentRecord]:
    """Per (dataset, student), the finished TensorFlow run with the best validation accuracy."""
    best: dict[tuple, StudentRecord] = {}
    for r in records:
        if isinstance(r, StudentRecord) and r.backend == "tensorflow":
            k = (r.dataset, r.model)
            if k not in best or r.val_accuracy > best[k].val_accuracy:
                best[k] = r
    return [best[k] for k in sorted(best)]


def export_dir(out: Path, formats=TFLITE_FORMATS, data_dir: str | None = None, log=print) -> list[ExportRecord]:
    """Export the deployable students of `out/results` to each format; records in `out/exports/`. A best run
    whose model is not on this machine (a committed store on a fresh clone) keeps the exports it has."""
    ok = [r for r in read_records(Path(out) / "results") if r.status == "ok"]
    sources = deployable(ok)
    best = {source.cell_key for source in sources}
    for stale in Path(out, "exports").glob("*.json"):  # exports of runs that are no longer a student's best
        if stale.name.split("-", 1)[0] not in best:
            stale.unlink()
    records = []
    for source in sources:
        for fmt in formats:
            path = Path(out) / "exports" / f"{source.cell_key}-{fmt}.json"
            if path.exists():
                records.append(read_record(path))
                continue
            if not Path(source.run_dir, "student.keras").is_file():
                continue
            record = export_record(source, fmt, data_dir)
            write_record(path, record)
            log(f"export {source.dataset} {source.model} {source.kind} -> {fmt}: "
                + (f"accuracy {record.test['accuracy']:.4f}, {record.disk_bytes:,} bytes" if record.status == "ok"
                   else record.error))
            records.append(record)
    return records


def export_on_tensorflow(out: Path, formats=TFLITE_FORMATS, data_dir: str | None = None, log=print) -> None:
    """`export_dir` in a TensorFlow process of its own (the caller may hold another backend)."""
    from kdsuite.backend import run_module

    proc = run_module("kdsuite.report.tflite", "tensorflow", str(out), ",".join(formats), data_dir or "")
    for line in proc.stderr.splitlines():
        if line.startswith("export "):
            log(line)


if __name__ == "__main__":  # python -m kdsuite.report.tflite DIR [FORMAT,...] [DATA_DIR]
    import sys

    from kdsuite.backend import use_backend

    from kdsuite.errors import KdsuiteError

    use_backend("tensorflow")
    args = sys.argv[1:]
    try:
        export_dir(Path(args[0]), args[1].split(",") if len(args) > 1 else TFLITE_FORMATS, (args[2:] or [""])[0] or None,
                   log=lambda m: print(m, file=sys.stderr, flush=True))
    except KdsuiteError as exc:
        sys.exit(f"kdsuite: error: {exc}")
