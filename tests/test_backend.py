"""backend_env: a child process's native thread pools follow $KDSUITE_THREADS unless the user set them."""

import subprocess
import sys

from kdsuite.backend import THREAD_VARS, backend_env

PROBE = "import numpy, sklearn, threadpoolctl; print(max(p['num_threads'] for p in threadpoolctl.threadpool_info()))"


def test_child_thread_pools_are_capped(monkeypatch):
    for var in THREAD_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KDSUITE_THREADS", "1")
    env = backend_env("jax")
    assert env["KERAS_BACKEND"] == "jax" and all(env[var] == "1" for var in THREAD_VARS)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"  # numpy's and scikit-learn's pools, started at import, hold one thread
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert backend_env(None)["OMP_NUM_THREADS"] == "2" and backend_env(None)["MKL_NUM_THREADS"] == "1"
    monkeypatch.delenv("KDSUITE_THREADS")
    assert not any(var in backend_env(None) for var in THREAD_VARS if var != "OMP_NUM_THREADS")
