"""Durable writes for the archive: a crash or power cut leaves the old state or the new one, never a mix.

Also the one test hook for crash tests: `crash_point(step)` kills the process (SIGKILL, no clean-up) when
$YUETAN_CRASH_AT names that step, so tests can stop ingest or purge exactly between two writes.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CRASH_ENV = "YUETAN_CRASH_AT"
CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def fsync_dir(path: Path) -> None:
    """A rename or a new file is only durable once its folder is synced too."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def crash_point(step: str) -> None:
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


@contextmanager
def file_lock(path: Path, *, shared: bool = False) -> Iterator[None]:
    """An advisory lock between processes (flock): many shared holders or one exclusive holder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
