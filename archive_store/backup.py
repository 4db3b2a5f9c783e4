"""Backing up the catalog, and restoring it from a backup on purpose (never by accident).

A backup is an SQLite copy of the catalog (cases, notice numbers, ledger) taken with SQLite's backup API while
the archive runs; the blobs are content-addressed and copied by any file tool. Restoring checks that the backup
is a sound catalog of THIS archive whose ledger chain is intact and agrees with the ledger-head mirror, moves the
lost or damaged catalog aside (nothing is deleted), puts the backup in its place, reserves again every notice
number a stored-but-forgotten case carries (so no number is issued twice), and records in the ledger what was
restored and which entries were lost.
"""
from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import ledger, mirror
from .actors import Actor
from .blobs import FilesystemBlobStore
from sqlalchemy import insert, select

from .catalog import Catalog, archive_id, head_problems
from .db import Database, database_error, dispose_all
from .schema import archive_meta as META
from .durable import atomic_path, fsync_dir, sha256_file
from .errors import (
    ArchiveConflict,
    ArchiveDamaged,
    InvalidArgument,
    NumberAlreadyHeld,
    YuetanError,
)
from .numbers import NoticeNumberRegistry

DAMAGED_DIR = "damaged"
_MAX_JSON_BLOB = 4 * 1024 * 1024


@dataclass
class BackupResult:
    path: Path
    sha256: str
    ledger_seq: int          # the backup's last entry (the backup entry itself comes after it)

    def as_dict(self) -> dict:
        return {"path": str(self.path), "sha256": self.sha256, "ledger_seq": self.ledger_seq}


@dataclass
class RestoreResult:
    backup_seq: int
    mirrored_seq: int | None
    lost: str                                  # the ledger entries lost, in words, or ""
    moved_aside: list[str] = field(default_factory=list)
    numbers_reserved: list[str] = field(default_factory=list)
    unknown_blobs: int = 0
    ledger_seq: int = 0

    def as_dict(self) -> dict:
        return {"backup_seq": self.backup_seq, "mirrored_seq": self.mirrored_seq, "lost": self.lost,
                "moved_aside": self.moved_aside, "numbers_reserved": self.numbers_reserved,
                "unknown_blobs": self.unknown_blobs, "ledger_seq": self.ledger_seq}


def backup_catalog(home, dest: Path, *, actor: Actor) -> BackupResult:
    """Copy the live catalog to `dest` (outside the home, never over an existing file) and ledger the backup."""
    dest = Path(dest)
    if dest.exists() or dest.is_symlink():
        raise InvalidArgument(f"备份文件 {dest} 已存在：请另选文件名，已有的文件不会被覆盖")
    _sqlite_only(home, "备份")
    home.output_file(dest)
    try:
        with home.catalog() as catalog:
            with atomic_path(dest, exclusive=True) as tmp:      # never over a file that appeared meanwhile
                target = sqlite3.connect(tmp)
                try:
                    with catalog.reading() as conn:
                        conn.connection.driver_connection.backup(target)
                    target.execute("PRAGMA journal_mode=DELETE")     # one self-contained file
                finally:
                    target.close()
            digest = sha256_file(dest)
            head = ledger.head(catalog)
            with catalog.transaction() as tx:
                ledger.append(tx, action="backup", actor=actor, details={
                    "file": dest.name, "sha256": digest,
                    "head": {"seq": head.seq, "entry_hash": head.entry_hash} if head else None})
    except FileExistsError:
        raise InvalidArgument(f"备份文件 {dest} 已存在：请另选文件名，已有的文件不会被覆盖") from None
    return BackupResult(dest, digest, head.seq if head else 0)


def restore_catalog(home, backup: Path, *, actor: Actor) -> RestoreResult:
    """Put `backup` in place of a catalog that is missing, empty, damaged or replaced; refuses a sound catalog."""
    backup = Path(backup)
    if not backup.is_file():
        raise InvalidArgument(f"备份文件 {backup} 不存在或不是文件")
    _sqlite_only(home, "恢复")
    _refuse_if_sound(home)
    try:
        mark = mirror.read_mark(home.path)
    except ArchiveDamaged:
        mark = None                     # a damaged mirror cannot vouch for anything; the backup is checked alone
    copy = home.path / f".restore-{os.getpid()}.sqlite"
    _remove_db_files(copy)
    try:
        backup_sha = sha256_file(backup)
        backup_head = _copy_and_check(backup, copy, mark)
        dispose_all()                   # no pooled connection stays on the catalog being moved aside
        moved = _move_aside(home)
        os.replace(copy, home.catalog_path)
        fsync_dir(home.path)
    finally:
        dispose_all()
        _remove_db_files(copy)
    result = RestoreResult(backup_seq=backup_head.seq if backup_head else 0,
                           mirrored_seq=mark.seq if mark else None, lost="", moved_aside=moved)
    if mark is not None and mark.seq > result.backup_seq:
        result.lost = (f"第 {mark.seq} 条" if mark.seq == result.backup_seq + 1
                       else f"第 {result.backup_seq + 1} 至 {mark.seq} 条")
    with Catalog(home.catalog_path, check_head=False) as catalog:
        known = catalog.referenced_shas() | {s for r in catalog.all_cases("purged") for s in r.blob_shas()}
        store = FilesystemBlobStore(home.blobs().root)
        unknown = [sha for sha in store.iter_shas() if sha not in known]
        result.unknown_blobs = len(unknown)
        result.numbers_reserved = _reserve_numbers(home, store, unknown)
        with catalog.transaction() as tx:
            entry = ledger.append(tx, action="restore", actor=actor, details={
                "backup_file": backup.name, "backup_sha256": backup_sha,
                "backup_head": {"seq": backup_head.seq, "entry_hash": backup_head.entry_hash} if backup_head else None,
                "mirrored_head": mark.as_dict() if mark else None, "lost_entries": result.lost,
                "moved_aside": moved, "numbers_reserved": result.numbers_reserved,
                "unknown_blobs": result.unknown_blobs, "unknown_blobs_sha256": sorted(unknown)})
        result.ledger_seq = entry.seq
        mirror.write_mark(home.path, mirror.HeadMark(archive_id(catalog), entry.seq, entry.entry_hash),
                          forward_only=False)
    return result


def _sqlite_only(home, what: str) -> None:
    """A PostgreSQL catalog is backed up and restored by PostgreSQL's own tools (pg_dump, pg_restore, PITR)."""
    if not home.catalog_location.is_sqlite:
        raise InvalidArgument(f"目录数据库在 PostgreSQL 上（{home.catalog_location.describe()}）：yuetan 不负责其{what}，"
                              "请用 pg_dump / pg_restore（见 README 省级部署的备份一节）")


def _refuse_if_sound(home) -> None:
    """A catalog that matches the mirror and holds anything is never overwritten by a backup."""
    if not home.catalog_path.is_file():
        return
    try:
        with Catalog(home.catalog_path) as catalog:
            problems = head_problems(catalog, home.path)
            empty = ledger.head(catalog) is None and not catalog.all_cases()
    except YuetanError:
        return
    if not problems and not empty:
        raise ArchiveConflict(f"档案库 {home.path} 的目录数据库完好，与台账头副本一致，无需恢复：restore 只用于目录数据库"
                              "缺失、损坏或被替换时（不会用备份覆盖完好的目录）")


def _copy_and_check(backup: Path, copy: Path, mark: mirror.HeadMark | None) -> ledger.LedgerEntry | None:
    """Copy with SQLite's backup API (the backup file is only read), then check the copy as a whole: brought to
    this release's schema by the same Alembic revisions as any catalog, its chain intact, of this archive."""
    from .migrate import SQLITE_USER_VERSION

    what = f"备份文件 {backup}"
    try:
        source = sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        target = sqlite3.connect(copy, isolation_level=None)
        try:
            source.backup(target)
            if target.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise InvalidArgument(f"{what} 已损坏（SQLite 完整性检查未通过）：请换一份备份")
            tables = {row[0] for row in target.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            found = target.execute("PRAGMA user_version").fetchone()[0]
            if not {"cases", "ledger"} <= tables or not 1 <= found:
                raise InvalidArgument(f"{what} 不是 yuetan 目录数据库的备份（缺少案件或台账表）")
            if found > SQLITE_USER_VERSION:
                raise InvalidArgument(f"{what} 的结构版本为 {found}，比本程序支持的新：请升级 yuetan")
            target.execute("PRAGMA journal_mode=WAL")
        finally:
            source.close()
            target.close()
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc):
            raise database_error(exc, copy) from None
        raise InvalidArgument(f"{what} 不是可读的 SQLite 数据库（{exc}）：不是 yuetan 目录数据库的备份") from None
    try:
        db = Database(copy)             # brought up to date (Alembic) on opening, without the home's mirror checks
    except YuetanError as exc:
        raise InvalidArgument(f"{what} 无法升级到本程序的目录结构（{exc.message}）") from None
    source_of_reads = _Reads(db)
    problems = ledger.verify_chain(source_of_reads)
    if problems:
        raise InvalidArgument(f"{what} 中的台账哈希链不完整，不能用于恢复：" + "；".join(problems[:5]))
    head = ledger.head(source_of_reads)
    with db.read() as conn:
        identity = archive_id(conn)
        if mark is not None:
            if identity is not None and identity != mark.archive_id:
                raise InvalidArgument(f"{what} 属于另一个档案库（编号 {identity}），不是此档案库（编号 "
                                      f"{mark.archive_id}）的备份")
            if head is not None and head.seq >= mark.seq > 0:
                row = conn.execute(select(ledger.LEDGER.c.entry_hash)
                                   .where(ledger.LEDGER.c.seq == mark.seq)).first()
                if row[0] != mark.entry_hash:
                    raise InvalidArgument(f"{what} 的第 {mark.seq} 条账目与台账头副本不符：它不是此档案库的台账的"
                                          "早先状态")
    if identity is None:
        with db.write() as conn:
            conn.execute(insert(META).values(key="archive_id",
                                             value=mark.archive_id if mark else mirror.new_archive_id()))
    dispose_all()
    checkpoint = sqlite3.connect(copy, isolation_level=None)
    try:
        checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        checkpoint.close()
    return head


class _Reads:
    """A source of reads for the ledger functions on a bare database (the copy being checked)."""

    def __init__(self, db: Database):
        self.reading = db.read


def _move_aside(home) -> list[str]:
    """The catalog being replaced, with its -wal and -shm, goes to damaged/<time>/: nothing is deleted."""
    files = [p for p in (home.catalog_path, *(home.catalog_path.with_name(home.catalog_path.name + s)
                                              for s in ("-wal", "-shm", "-journal"))) if p.exists()]
    if not files:
        return []
    folder = home.path / DAMAGED_DIR / datetime.now(timezone.utc).strftime("catalog-%Y%m%dT%H%M%S%fZ")
    folder.mkdir(parents=True)
    for path in files:
        os.replace(path, folder / path.name)
    fsync_dir(folder)
    fsync_dir(home.path)
    return [str((folder / p.name).relative_to(home.path)) for p in files]


def _reserve_numbers(home, store: FilesystemBlobStore, unknown: list[str]) -> list[str]:
    """Numbers carried by stored manifests the restored catalog does not know: registered again, never reissued."""
    reserved = []
    with NoticeNumberRegistry(home.catalog_path, check_head=False) as registry:
        for sha in unknown:
            manifest = _json_blob(store, sha)
            if not (isinstance(manifest, dict) and isinstance(manifest.get("notice_number"), str)
                    and isinstance(manifest.get("case_id"), str) and "components" in manifest):
                continue
            try:
                registry.register(manifest["notice_number"], manifest["case_id"])
            except (NumberAlreadyHeld, InvalidArgument):
                continue
            reserved.append(manifest["notice_number"])
    return sorted(set(reserved))


def restored_orphans(entries) -> dict[str, int]:
    """Blobs a restore found the restored catalog did not know, by the seq of the restore entry that listed them:
    accounted for (audit notes them), unlike a blob that appears unexplained."""
    return {sha: e.seq for e in entries if e.action == "restore"
            for sha in e.details.get("unknown_blobs_sha256", [])}


def blob_label(store: FilesystemBlobStore, sha: str) -> str:
    """What a stored blob is, when it says so itself (a manifest.json or case.json names its case)."""
    value = _json_blob(store, sha)
    if not isinstance(value, dict) or not isinstance(value.get("case_id"), str):
        return ""
    if "components" in value:
        return f"案件 {value['case_id']}（{value.get('notice_number') or '无文号'}）的 manifest.json"
    if "schema_version" in value:
        return f"案件 {value['case_id']} 的 case.json"
    return ""


def _json_blob(store: FilesystemBlobStore, sha: str):
    try:
        with store.open(sha) as f:
            head = f.read(1)
            if head != b"{":
                return None
            data = head + f.read(_MAX_JSON_BLOB)
        return json.loads(data)
    except (ValueError, YuetanError, OSError):
        return None


def _remove_db_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
