"""What a trained student leaves in its run folder, so it can be used without kdsuite's data or store:

    student.keras        the model: int token ids [batch, seq_len] -> logits
    vocabulary.txt       its TextVectorization vocabulary (line 1 padding, line 2 [UNK])
    student.json         label names, sequence length, standardisation: what `load_student` needs
    student_text.keras   TensorFlow only: the same model taking raw strings (TextVectorization inside), softmax out
    logits.npz           its logits for every split (float32), so it can teach another student
    README.md            a model card: data, teacher, metrics, calibration, size, how to load
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kdsuite import store
from kdsuite.engine.tokens import STANDARDIZE


def vectorizer(vocabulary: list[str], seq_len: int):
    """A TextVectorization giving the very ids a run was trained on, from its saved vocabulary."""
    import keras

    return keras.layers.TextVectorization(vocabulary=vocabulary[2:], standardize=STANDARDIZE,
                                          output_sequence_length=seq_len)


def save_student(run_dir: Path, student, vocabulary: list[str], info: dict) -> None:
    """`student.keras`, `vocabulary.txt`, `student.json` (`info`: label_names, seq_len, ...) and, on TensorFlow,
    `student_text.keras`."""
    import keras

    with store.atomic_path(run_dir / "student.keras") as tmp:
        student.save(tmp)
    store.write_text(run_dir / "vocabulary.txt", "\n".join(vocabulary) + "\n")
    store.write_json(run_dir / "student.json", info | {"standardize": STANDARDIZE})
    if keras.backend.backend() == "tensorflow":
        text = keras.Input(shape=(1,), dtype="string", name="text")
        probs = keras.layers.Softmax(name="probabilities")(student(vectorizer(vocabulary, info["seq_len"])(text)))
        with store.atomic_path(run_dir / "student_text.keras") as tmp:
            keras.Model(text, probs, name=f"{student.name}_text").save(tmp)


def save_logits(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    with store.atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **{k: v.astype(np.float32) for k, v in arrays.items()})
    store.write_json(path.with_suffix(".json"), meta)


def write_card(run_dir: Path, result: dict, info: dict) -> None:
    """README.md of the run folder: what the student is, what it learnt from, how good, how big, how to use."""
    t, cal = result["test"], result.get("calibration") or {}
    lines = [
        f"# {info['model']} on {info['dataset']}", "",
        f"- kind: {info['kind']}; teacher: {info.get('teacher') or 'none (labels only)'}; backend: {result['backend']}",
        f"- data: {info['dataset']} ({result.get('train_rows', '?')} training rows, {result['transfer_rows']} "
        f"transfer rows); labels: {', '.join(info['label_names'])}",
        f"- training: {json.dumps(result['config'])}; {result['epochs_run']} epochs, best {result['best_epoch']}",
        f"- test accuracy {100 * t['accuracy']:.2f}%, macro-F1 {100 * t['macro_f1']:.2f}% "
        f"(validation accuracy {100 * result['val_accuracy']:.2f}%)",
        f"- calibration (test ECE, 15 bins): {cal.get('ece', '?')}; after temperature scaling "
        f"(T = {cal.get('temperature', '?')}, fitted on validation): {cal.get('ece_scaled', '?')}",
        f"- size: {result['param_count']:,} parameters, {result['disk_bytes']:,} bytes (`student.keras`); "
        f"latency at batch 1 {result['speed']['latency_ms_b1']} ms, {result['speed']['throughput_b256']:,.0f} rows/s at "
        f"batch 256 (CPU)", "",
        "## Use", "",
        "```python",
        "import kdsuite",
        f"student = kdsuite.load_student({str(run_dir)!r})",
        'student.predict(["i feel wonderful today"])  # [{"label": ..., "probabilities": {...}}]',
        "```", "",
        f"or `kdsuite predict {run_dir} \"some text\"`. `student.keras` takes token ids (`vocabulary.txt`, "
        f"{info['seq_len']} tokens, standardisation `{STANDARDIZE}`)"
        + ("; `student_text.keras` takes raw strings on TensorFlow." if (run_dir / "student_text.keras").exists()
           else "."), ""]
    store.write_text(run_dir / "README.md", "\n".join(lines))
