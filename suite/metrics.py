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


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def reliability(probs: np.ndarray, labels, bins: int = 15) -> list[dict]:
    """Per equal-width confidence bin: rows, mean confidence (top probability) and accuracy (empty bins left out)."""
    conf, correct = probs.max(axis=1), probs.argmax(axis=1) == np.asarray(labels)
    which = np.minimum((conf * bins).astype(int), bins - 1)
    return [{"bin": b, "rows": int(n), "confidence": float(conf[which == b].mean()),
             "accuracy": float(correct[which == b].mean())}
            for b in range(bins) if (n := int((which == b).sum()))]


def expected_calibration_error(probs: np.ndarray, labels, bins: int = 15) -> float:
    """ECE: the row-weighted mean |accuracy - confidence| over `bins` equal-width confidence bins."""
    rows = reliability(probs, labels, bins)
    total = sum(r["rows"] for r in rows)
    return float(sum(r["rows"] * abs(r["accuracy"] - r["confidence"]) for r in rows) / total)


def fit_temperature(logits: np.ndarray, labels) -> float:
    """The temperature T > 0 that minimises the negative log-likelihood of softmax(logits / T) (Guo et al. 2017),
    fitted on validation logits."""
    from scipy.optimize import minimize_scalar

    labels = np.asarray(labels)

    def nll(log_t: float) -> float:
        p = softmax(logits, float(np.exp(log_t)))
        return float(-np.log(np.clip(p[np.arange(len(labels)), labels], 1e-12, None)).mean())

    return float(np.exp(minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded").x))


def calibration(val_logits: np.ndarray, val_labels, test_logits: np.ndarray, test_labels, bins: int = 15) -> dict:
    """Test ECE as the model stands and after temperature scaling fitted on validation."""
    t = fit_temperature(val_logits, val_labels)
    return {"bins": bins, "ece": round(expected_calibration_error(softmax(test_logits), test_labels, bins), 5),
            "temperature": round(t, 4),
            "ece_scaled": round(expected_calibration_error(softmax(test_logits, t), test_labels, bins), 5)}
