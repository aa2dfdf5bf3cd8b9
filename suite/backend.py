"""The one place for backend-specific code: choosing the Keras backend for this process, thread caps and
seeding/determinism for TensorFlow, JAX and PyTorch."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

from suite.errors import KdsuiteError

BACKENDS = ("tensorflow", "jax", "torch")


def use_backend(name: str | None = None, threads: int | None = None) -> str:
    """Fix the Keras backend (and thread caps) for this process; must run before keras is imported.

    `threads` (default $KDSUITE_THREADS) caps intra-op threads of every framework in the process.
    """
    name = name or os.environ.get("KERAS_BACKEND") or "tensorflow"
    if name not in BACKENDS:
        raise KdsuiteError(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    if "keras" in sys.modules:
        current = sys.modules["keras"].backend.backend()
        if current != name:
            raise KdsuiteError(f"keras is already imported with backend {current!r}; run {name!r} in a new process")
        return name
    os.environ["KERAS_BACKEND"] = name
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    threads = threads or int(os.environ.get("KDSUITE_THREADS", "0")) or None
    if threads:
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        os.environ.setdefault(
            "XLA_FLAGS", f"--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={threads}")
    with _native_stderr_muted(os.environ["TF_CPP_MIN_LOG_LEVEL"] != "0"):
        import tensorflow as tf  # TextVectorization and TensorBoard need it on every backend
        import keras  # noqa: F401

        if threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        tf.config.list_physical_devices("GPU")  # device probing logs now, muted, not mid-run
    if threads and name == "torch":
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)
    return name


@contextmanager
def _native_stderr_muted(mute: bool):
    """TensorFlow's C++ start-up notices (oneDNN, CUDA probing) ignore TF_CPP_MIN_LOG_LEVEL; hide them."""
    if not mute:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the backend; make TensorFlow ops deterministic."""
    import keras

    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
