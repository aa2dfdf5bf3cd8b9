"""Files that must never be seen half-written: atomic writes, content-addressed caches, and a lock for
processes that share a cache directory."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from filelock import FileLock


def cache_root() -> Path:
    """Where caches live: $KDSUITE_CACHE, else ~/.cache/kdsuite."""
    return Path(os.environ.get("KDSUITE_CACHE") or Path.home() / ".cache" / "kdsuite").expanduser()


def key(**parts) -> str:
    """A short content hash of JSON-serialisable parts."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def text_hash(texts) -> str:
    """A short content hash of a sequence of texts (order matters)."""
    h = hashlib.sha256()
    for t in texts:
        h.update(str(t).encode() + b"\0")
    return h.hexdigest()[:16]


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success fsync it and rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        _publish(tmp, path, [tmp], 0o666)  # mkstemp makes 0600 files; published files follow the umask
    finally:
        tmp.unlink(missing_ok=True)


def _publish(tmp: Path, path: Path, files: list[Path], mode: int) -> None:
    """Rename `tmp` to `path` once `files` are on disk, with `mode` under the umask, as published files follow it."""
    for file in files:
        with open(file, "rb+") as f:
            os.fsync(f.fileno())
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, mode & ~umask)
    os.replace(tmp, path)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | os.PathLike, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


@contextmanager
def locked(path: str | os.PathLike) -> Iterator[None]:
    """An inter-process lock on `path` (a `.lock` file beside it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        yield


def cached(path: str | os.PathLike, compute: Callable[[Path], None]) -> Path:
    """Return `path`, first creating it with `compute(tmp_path)` under a lock if it does not exist."""
    path = Path(path)
    if path.exists():
        return path
    with locked(path):
        if not path.exists():
            with atomic_path(path) as tmp:
                compute(tmp)
    return path


def cached_folder(path: str | os.PathLike, compute: Callable[[Path], None]) -> Path:
    """`cached` for a folder of files: `compute(tmp_folder)` fills a temporary folder beside it, whose files are
    fsynced before it is renamed into place whole."""
    import shutil

    path = Path(path)
    if path.is_dir():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        if not path.is_dir():
            tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
            try:
                compute(tmp)
                _publish(tmp, path, list(tmp.iterdir()), 0o777)  # mkdtemp makes 0700 folders
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return path


def git_commit() -> str:
    """The git commit of the kdsuite checkout ("+dirty" when its code has uncommitted changes), else the version:
    provenance shown beside results, never part of a key."""
    import subprocess

    import kdsuite

    root = Path(kdsuite.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "suite", "students",
                                "teachers/*.py"], cwd=root, capture_output=True, text=True).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return f"kdsuite-{kdsuite.__version__}"
