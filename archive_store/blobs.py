"""The content-addressed blob store: every stored file is named by its sha256 and never changes.

Layout: root/aa/bb/<sha256> (read-only, 0444) and root/.tmp/ for files being written. A write goes to a
temp file, is fsynced, made read-only and renamed into place, then the folder is fsynced; so a crash at
any point leaves either the whole blob under its name or nothing (at most a temp file `sweep_temp` removes).
The stages use only the `BlobStore` protocol; `archive_store.s3blobs` is the same protocol on S3-compatible object
storage under Object Lock. Writes take the date until which the blob must be kept (`retain_until`): the object
store locks it until then, a local folder has no such lock (its guard is the files' mode and `audit`).
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from .durable import fsync_dir
from .errors import InvalidArgument, VerificationFailed

TEMP_DIR = ".tmp"
TEMP_SUFFIX = ".part"
READ_ONLY = 0o444
CHUNK = 1 << 20
TEMP_MAX_AGE_SECONDS = 24 * 3600
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_FAN_RE = re.compile(r"^[0-9a-f]{2}$")


class BlobMissing(VerificationFailed):
    """A blob the caller expected is not in the store."""


class BlobDamaged(VerificationFailed):
    """A blob's bytes no longer hash to its name."""


@runtime_checkable
class BlobStore(Protocol):
    def put_file(self, path: Path, *, retain_until: datetime | None = None) -> str: ...
    def put_bytes(self, data: bytes, *, retain_until: datetime | None = None) -> str: ...
    def has(self, sha: str) -> bool: ...
    def open(self, sha: str) -> BinaryIO: ...
    def read_bytes(self, sha: str) -> bytes: ...
    def verify(self, sha: str) -> bool: ...
    def delete(self, sha: str) -> None: ...
    def iter_shas(self) -> Iterator[str]: ...
    def export_to(self, sha: str, dest_path: Path) -> Path: ...
    def extend_retention(self, sha: str, until: datetime) -> None: ...
    def set_legal_hold(self, sha: str, on: bool) -> None: ...


def check_sha(sha: str) -> str:
    """A sha256 in lower-case hex; anything else could name a path outside the store."""
    if not isinstance(sha, str) or not _SHA_RE.match(sha):
        raise InvalidArgument(f"“{sha}”不是有效的 sha256 值（应为 64 位小写十六进制）")
    return sha


class FilesystemBlobStore:
    """Blobs as read-only files on a local (POSIX) filesystem."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.temp_dir = self.root / TEMP_DIR
        self.temp_dir.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"FilesystemBlobStore({str(self.root)!r})"

    # --- writing ------------------------------------------------------------------------------------------

    def put_file(self, path: Path, *, retain_until: datetime | None = None) -> str:
        try:
            source = open(path, "rb")
        except OSError as exc:
            raise InvalidArgument(f"无法读取要入库的文件 {path}：{exc.strerror}") from None
        with source:
            return self._put_stream(source)

    def put_bytes(self, data: bytes, *, retain_until: datetime | None = None) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if _size_of(self._path(sha)) == len(data):
            return sha
        temp, handle = self._new_temp()
        try:
            with handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            return self._commit(temp, sha, len(data))
        except BaseException:
            _unlink_quietly(temp)
            raise

    def _put_stream(self, source: BinaryIO) -> str:
        temp, handle = self._new_temp()
        try:
            digest = hashlib.sha256()
            size = 0
            with handle:
                for chunk in iter(lambda: source.read(CHUNK), b""):
                    digest.update(chunk)
                    handle.write(chunk)
                    size += len(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            return self._commit(temp, digest.hexdigest(), size)
        except BaseException:
            _unlink_quietly(temp)
            raise

    def _new_temp(self) -> tuple[Path, BinaryIO]:
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        temp = self.temp_dir / f"{os.getpid()}-{threading.get_ident()}-{uuid.uuid4().hex}{TEMP_SUFFIX}"
        return temp, open(temp, "xb")

    def _commit(self, temp: Path, sha: str, size: int) -> str:
        """Rename a complete, fsynced temp file into place; an existing blob of the right size stays."""
        final = self._path(sha)
        if _size_of(final) == size:
            temp.unlink()
            return sha
        os.chmod(temp, READ_ONLY)
        self._make_fan_out(final.parent)
        os.replace(temp, final)
        fsync_dir(final.parent)
        return sha

    def _make_fan_out(self, folder: Path) -> None:
        """Create aa/bb if needed and fsync each parent, so the new folders survive a power cut too."""
        if folder.is_dir():
            return
        top = folder.parent
        if not top.is_dir():
            top.mkdir(exist_ok=True)
            fsync_dir(self.root)
        folder.mkdir(exist_ok=True)
        fsync_dir(top)

    # --- reading ------------------------------------------------------------------------------------------

    def has(self, sha: str) -> bool:
        return self._path(check_sha(sha)).is_file()

    def open(self, sha: str) -> BinaryIO:
        try:
            return open(self._path(check_sha(sha)), "rb")
        except FileNotFoundError:
            raise BlobMissing(f"档案库中缺少内容 {sha}（文件 {self._path(sha)} 不存在）") from None

    def read_bytes(self, sha: str) -> bytes:
        with self.open(sha) as f:
            return f.read()

    def verify(self, sha: str) -> bool:
        """Re-hash the stored bytes; False when the blob is missing or its bytes changed."""
        try:
            f = self.open(sha)
        except BlobMissing:
            return False
        with f:
            return sha256_stream(f) == sha

    def iter_shas(self) -> Iterator[str]:
        """Every blob name under the fan-out folders, in order; temp files are not blobs."""
        if not self.root.is_dir():
            return
        for top in sorted(self.root.iterdir()):
            if not (top.is_dir() and _FAN_RE.match(top.name)):
                continue
            for sub in sorted(top.iterdir()):
                if not (sub.is_dir() and _FAN_RE.match(sub.name)):
                    continue
                for entry in sorted(sub.iterdir()):
                    if _SHA_RE.match(entry.name) and entry.name[:2] == top.name and entry.name[2:4] == sub.name:
                        yield entry.name

    def export_to(self, sha: str, dest_path: Path) -> Path:
        return export_checked(self, sha, dest_path)

    # --- locks: none on a local folder -------------------------------------------------------------------

    def extend_retention(self, sha: str, until: datetime) -> None:
        """A local folder cannot lock a file against its own administrator; nothing to do."""

    def set_legal_hold(self, sha: str, on: bool) -> None:
        """The catalog's hold is the only one a local folder has; nothing to do."""

    # --- removing -----------------------------------------------------------------------------------------

    def delete(self, sha: str) -> None:
        """Remove a blob (read-only files too); deleting what is not there is not an error, so purge can rerun."""
        final = self._path(check_sha(sha))
        try:
            final.unlink()
        except FileNotFoundError:
            return
        except PermissionError:
            os.chmod(final, stat.S_IRUSR | stat.S_IWUSR)
            final.unlink()
        fsync_dir(final.parent)

    def sweep_temp(self, older_than_seconds: float = TEMP_MAX_AGE_SECONDS) -> int:
        """Remove temp files an interrupted write left behind; returns how many. Young ones may be in use."""
        if not self.temp_dir.is_dir():
            return 0
        limit = time.time() - older_than_seconds
        removed = 0
        for entry in self.temp_dir.iterdir():
            try:
                if entry.is_file() and entry.stat().st_mtime <= limit:
                    entry.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def temp_files(self) -> list[Path]:
        return sorted(p for p in self.temp_dir.iterdir() if p.is_file()) if self.temp_dir.is_dir() else []

    def _path(self, sha: str) -> Path:
        return self.root / sha[:2] / sha[2:4] / sha


def export_checked(store: "BlobStore", sha: str, dest_path: Path) -> Path:
    """Copy a blob out of any store (a normal writable file), checking its hash on the way; nothing is left
    behind if it fails."""
    dest_path = Path(dest_path)
    temp = dest_path.with_name(f".{dest_path.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}")
    try:
        with store.open(sha) as source, open(temp, "xb") as out:
            digest = hashlib.sha256()
            for chunk in iter(lambda: source.read(CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != sha:
            raise BlobDamaged(f"档案库中的内容 {sha} 已损坏（重新计算的哈希值为 {digest.hexdigest()}），未导出到 {dest_path}")
        os.replace(temp, dest_path)
        fsync_dir(dest_path.parent)
    except BaseException:
        _unlink_quietly(temp)
        raise
    return dest_path


def sha256_stream(f: BinaryIO) -> str:
    """The sha256 of what is left to read, chunk by chunk: blobs are dossiers of any size, on disk or in a bucket."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: f.read(CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _size_of(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
