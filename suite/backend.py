"""The one place for choosing a Keras backend: for this process (thread caps, seeding and determinism for
TensorFlow, JAX and PyTorch) or for a module run in a process of its own. TensorFlow-only tools that run on
every backend (TextVectorization, TensorBoard summaries, TFLite) are called where they are used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager

from kdsuite.errors import KdsuiteError

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


THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def backend_env(backend: str | None) -> dict:
    """This process's environment with `backend` as the Keras backend of a child process, whose native thread
    pools (OpenMP, OpenBLAS, MKL: numpy and scikit-learn, which start them at import, before `use_backend`) are
    capped at $KDSUITE_THREADS unless set already, as Ray caps a task's: more threads than cores make them spin."""
    threads = os.environ.get("KDSUITE_THREADS")
    caps = {var: threads for var in THREAD_VARS if threads and var not in os.environ}
    return os.environ | caps | ({"KERAS_BACKEND": backend} if backend else {})


def run_module(module: str, backend: str, *argv: str) -> subprocess.CompletedProcess:
    """Run `python -m MODULE ARGV` on `backend` in a process of its own; a failure becomes a one-line error."""
    proc = subprocess.run([sys.executable, "-m", module, *argv], capture_output=True, text=True,
                          env=backend_env(backend))
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1].removeprefix("kdsuite: error: ")
        raise KdsuiteError(f"{module} on {backend} failed: {last}")
    return proc


def json_from(module: str, backend: str, *argv: str):
    """The JSON that `python -m MODULE ARGV` prints on its last stdout line."""
    return json.loads(run_module(module, backend, *argv).stdout.strip().splitlines()[-1])
