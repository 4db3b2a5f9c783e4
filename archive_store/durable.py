"""Durable writes for the archive: a crash or power cut leaves the old state or the new one, never a mix.

Also the one test hook for crash tests: `crash_point(step)` kills the process (SIGKILL, no clean-up) when
$YUETAN_CRASH_AT names that step, so tests can stop ingest or purge exactly between two writes.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import signal
import tempfile
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


@contextmanager
def atomic_path(dest: Path, *, mode: int = 0o644, exclusive: bool = False) -> Iterator[Path]:
    """The one way a file is written here: yields a new temporary path beside `dest` for the caller (or any
    library's save) to write; on success it is fsynced, given `mode`, renamed onto `dest` and the folder fsynced;
    on an exception it is removed and `dest` is untouched.

    The temporary name is unguessable and created exclusively, so a link planted there cannot redirect the write.
    `exclusive` links instead of renaming: an existing `dest` is never replaced (FileExistsError).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        if exclusive:
            os.link(tmp, dest)
        else:
            os.replace(tmp, dest)
        fsync_dir(dest.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomically(dest: Path, data: bytes, *, mode: int = 0o644, exclusive: bool = False) -> None:
    """Write `data` to `dest` whole or not at all (see `atomic_path`)."""
    with atomic_path(dest, mode=mode, exclusive=exclusive) as tmp:
        tmp.write_bytes(data)


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
