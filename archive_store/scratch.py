"""One private scratch folder per yuetan process, so nothing it (or a program it starts) leaves in the temporary
folder outlives it.

`session()` makes `<tmp>/yuetan-<pid>-<random>/`, points `tempfile` and `$TMPDIR` (for LibreOffice, OCRmyPDF,
Ghostscript, Tesseract) at it and removes it when the command ends. A process killed with `kill -9` cannot clean up, so each
new one first removes the scratch folders of processes that are gone. A temporary folder that cannot be written
is named as such (status 5), instead of a converter failing later on some document.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ConfigurationError

PREFIX = "yuetan-"
_OWN = re.compile(rf"^{PREFIX}(\d+)-")
_active: Path | None = None


@contextmanager
def session() -> Iterator[Path]:
    """For the length of one command: this process's scratch folder, removed afterwards (re-entrant)."""
    global _active
    if _active is not None:
        yield _active
        return
    asked = os.environ.get("TMPDIR")
    if asked and not (os.path.isdir(asked) and os.access(asked, os.W_OK | os.X_OK)):
        raise ConfigurationError(f"临时文件夹 TMPDIR={asked} 不存在或不可写：请把 TMPDIR 设为可写的文件夹（或不设置）")
    try:
        base = Path(tempfile.gettempdir())
        sweep(base)
        own = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base))
    except OSError as exc:
        raise ConfigurationError(f"无法在临时文件夹中建立工作文件夹（{exc.strerror or exc}）：请检查 TMPDIR 或 /tmp") from None
    saved = tempfile.tempdir
    tempfile.tempdir, _active = str(own), own
    os.environ["TMPDIR"] = str(own)
    try:
        yield own
    finally:
        tempfile.tempdir, _active = saved, None
        if asked is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = asked
        shutil.rmtree(own, ignore_errors=True)


def shared_tempdir() -> str:
    """The machine's temporary folder, also inside a session: for caches meant to outlive one command (jieba's
    dictionary, made once per machine); the session's own folder is removed when its command ends."""
    return str(_active.parent) if _active is not None else tempfile.gettempdir()


def sweep(base: Path) -> int:
    """Remove the scratch folders of yuetan processes that no longer run; returns how many."""
    removed = 0
    for entry in Path(base).glob(f"{PREFIX}*"):
        match = _OWN.match(entry.name)
        if match is None or not entry.is_dir() or entry.is_symlink():
            continue
        pid = int(match[1])
        if pid == os.getpid() or process_alive(pid) or entry.stat().st_uid != os.getuid():
            continue
        for _ in range(5):          # a program of the dead process may still be writing there as it dies
            shutil.rmtree(entry, ignore_errors=True)
            if not entry.exists():
                break
            time.sleep(0.2)
        removed += 1
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process of this machine still runs (one of another user counts as running): scratch and
    partial folders are named by the pid that owns them, and only a dead owner's may be removed."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
