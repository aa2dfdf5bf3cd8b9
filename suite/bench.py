"""Inference cost of a Keras model on CPU: latency at batch 1 (p50/p95) and throughput at batch 256,
warm-up excluded."""

from __future__ import annotations

import os
import time

import numpy as np


def inference_speed(model, ids: np.ndarray, repeats: int = 30) -> dict:
    """Time `model.predict_on_batch` on real rows of `ids` (int token ids)."""
    one, many = ids[:1], np.resize(ids, (256, ids.shape[1]))
    model.predict_on_batch(one)
    model.predict_on_batch(many)  # warm-up: tracing/compilation excluded
    lat = []
    for i in range(repeats):
        t = time.perf_counter()
        model.predict_on_batch(ids[i % len(ids):][:1])
        lat.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    for _ in range(3):
        model.predict_on_batch(many)
    per_batch = (time.perf_counter() - t) / 3
    return {
        "latency_ms_b1": round(float(np.percentile(lat, 50)), 3),
        "latency_ms_b1_p95": round(float(np.percentile(lat, 95)), 3),
        "throughput_b256": round(256 / per_batch, 1),
        "threads": int(os.environ.get("KDSUITE_THREADS") or os.cpu_count()),
    }
