"""Metrics shared by every model, JSON-ready: classification quality, and inference cost on CPU."""

from __future__ import annotations

import os
import time

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, precision_recall_fscore_support


def classification_metrics(y_true, y_pred, label_names: list[str]) -> dict:
    """Accuracy, macro precision/recall/F1, per-class report and confusion matrix (rows = true labels)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = list(range(len(label_names)))
    p, r, f1, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    report = classification_report(
        y_true, y_pred, labels=labels, target_names=label_names, output_dict=True, zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_precision": float(p),
        "macro_recall": float(r),
        "macro_f1": float(f1),
        "per_class": {name: {k: float(v) for k, v in report[name].items()} for name in label_names},
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def inference_speed(run_one, run_batch, ids: np.ndarray, repeats: int = 30) -> dict:
    """Latency at batch 1 (p50/p95, ms) and throughput at batch 256 (rows/s) on real rows of `ids` (int token
    ids): `run_one` takes one row [1, seq_len], `run_batch` 256 rows (e.g. a Keras model's `predict_on_batch`, or
    TFLite interpreters sized for each), timed after a warm-up (tracing, compilation and set-up excluded)."""
    one, many = ids[:1], np.resize(ids, (256, ids.shape[1]))
    run_one(one)
    run_batch(many)
    lat = []
    for i in range(repeats):
        t = time.perf_counter()
        run_one(ids[i % len(ids):][:1])
        lat.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    for _ in range(3):
        run_batch(many)
    per_batch = (time.perf_counter() - t) / 3
    return {
        "latency_ms_b1": round(float(np.percentile(lat, 50)), 3),
        "latency_ms_b1_p95": round(float(np.percentile(lat, 95)), 3),
        "throughput_b256": round(256 / per_batch, 1),
        "threads": int(os.environ.get("KDSUITE_THREADS") or os.cpu_count()),
    }
