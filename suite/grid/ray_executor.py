"""The Ray executor (`kdsuite run SUITE --executor ray [--address ADDR]`): each cell of a grid is a Ray task that
runs the very process the local executor runs (`runner.run_one`: `python -m kdsuite.engine.cell SPEC`) on some
node, and writes the same record to the same store (`--out`: on a cluster, a path every node shares). Ray is an
optional extra, imported by this module alone.

- Resources: a task asks for as many CPUs as the cell's threads ($KDSUITE_THREADS, default 1); a teacher cell that
  fine-tunes asks for a GPU when the cluster has one. The driver's $KDSUITE_* and $NLTK_DATA reach every worker.
- Order: a cell waits for the cells it reads from, and only for those (Ray holds a task until its arguments are
  ready): KD and transfer cells for their dataset's teacher cell when the suite fine-tunes it, a `nested` cell for
  its source student's kd cell, a cell whose ensemble teacher has `scratch:NAME:SEED` members for those scratch
  cells. Scratch cells are submitted first, then teacher cells, and nested cells last.
- Failures: a cell that fails, or whose Ray worker dies mid-cell (Ray then kills the worker's process group, cell
  included), gets a failed record and is not retried; the rest of the grid goes on and a rerun finishes it.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Iterator

from kdsuite.config import scratch_members
from kdsuite.errors import KdsuiteError
from kdsuite.grid.runner import Job, failed, run_one
from kdsuite.records import CellRecord

try:
    import ray
except ImportError:
    raise KdsuiteError("--executor ray needs Ray: pip install 'kdsuite[ray]'") from None

CONNECT_TIMEOUT_S = 5


def start(address: str | None = None, log=print):
    """Connect to the Ray cluster at `address` (its head's HOST:PORT, or `auto`), or start a local Ray on every core
    of this machine; the executor for `runner.run_cells`. A process already connected to Ray keeps that connection."""
    if not ray.is_initialized():
        if address and address != "auto":  # auto: the Ray started on this machine by `ray start`
            _check_reachable(address)
            # one connection attempt (~40 s) if something else listens there, not Ray's 20
            os.environ.setdefault("RAY_gcs_server_port_wait_time_s", "1")
        options = {} if address else {"num_cpus": os.cpu_count(), "include_dashboard": False}
        try:
            ray.init(address=address or "local", log_to_driver=False, logging_level=logging.WARNING, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            what = f"--address {address}: cannot connect to Ray" if address else "cannot start a local Ray"
            raise KdsuiteError(f"{what} ({_line(exc)})") from None
    resources = ray.cluster_resources()
    log(f"Ray: {resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs")
    return run_ray


def _check_reachable(address: str) -> None:
    """Fail fast, in one line, when nothing answers at `address`: Ray itself retries for minutes."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise KdsuiteError(f"--address {address}: expected HOST:PORT (the head node's address)")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise KdsuiteError(f"--address {address}: Ray is not reachable ({exc.strerror or exc})") from None


def _line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _cell_task(job: Job, out: Path, data_dir: str | None, suite_name: str, *after: CellRecord) -> CellRecord:
    """The Ray task of one cell; `after` are the records of the cells it waits for."""
    return run_one(job, out, data_dir, suite_name)


def _waits_for(job: Job, other: Job) -> bool:
    """Whether `job` reads what `other` writes: a fine-tuned teacher's logits, a kd cell's student logits, or a
    scratch cell that is a member of its ensemble teacher."""
    a, b = job.cell, other.cell
    if a.dataset != b.dataset:
        return False
    if b.kind == "scratch":
        return b.backend == "tensorflow" and a.data == b.data and \
            (b.model, b.seed) in scratch_members(a.model if a.kind == "teacher" else a.teacher)
    if b.kind == "teacher":
        return a.kind in ("kd", "kd+transfer", "nested") and bool(b.train.get("fine_tune")) and a.teacher == b.model
    return a.kind == "nested" and b.kind == "kd" and a.teacher == f"student:{b.model}" and \
        (a.backend, a.seed, a.data) == (b.backend, b.seed, b.data)


def run_ray(jobs: list[Job], out: Path, data_dir: str | None, suite_name: str,
            log) -> Iterator[tuple[Job, CellRecord]]:
    """Submit every job as a Ray task; yield `(job, record)` as each finishes."""
    out = Path(out).resolve()  # workers may start elsewhere
    data_dir = data_dir and str(Path(data_dir).resolve())
    gpu = ray.cluster_resources().get("GPU", 0) >= 1
    env = {k: v for k, v in os.environ.items() if k.startswith("KDSUITE_") or k == "NLTK_DATA"}
    task = ray.remote(_cell_task)
    options = {"num_cpus": int(os.environ.get("KDSUITE_THREADS") or 1), "max_retries": 0,
               "runtime_env": {"env_vars": env}}
    pending = {}
    for job in sorted(jobs, key=lambda j: {"scratch": 0, "teacher": 1, "nested": 3}.get(j.cell.kind, 2)):
        after = [ref for ref, other in pending.items() if _waits_for(job, other)]
        fine_tune = gpu and job.cell.kind == "teacher" and job.cell.train.get("fine_tune")
        ref = task.options(num_gpus=1 if fine_tune else 0, **options).remote(job, out, data_dir, suite_name, *after)
        pending[ref] = job
    log(f"Ray: {len(jobs)} cells submitted")
    while pending:
        [ref], _ = ray.wait(list(pending), num_returns=1)
        job = pending.pop(ref)
        try:
            record = ray.get(ref)
        except ray.exceptions.RayError as exc:  # the worker died (or one whose cell it waited for), or Ray failed
            record = failed(job, out, suite_name, f"Ray: {_line(getattr(exc, 'cause', None) or exc)}")
        yield job, record
