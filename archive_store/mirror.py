"""The ledger head mirrored beside the catalog (`ledger-head.json`): a copy outside the database saying that the
archive is not new, and how far its ledger reached.

It holds the archive's identity (also kept inside the catalog), the last ledger entry's seq and entry_hash. It is
written when the archive is created and after every transaction that appended to the ledger, under a lock and
only ever forward, so a crash between the commit and the mirror leaves it at most one step behind (still an entry
the catalog holds). A catalog that is missing, empty, of another archive, or whose ledger does not reach the
mirrored head is refused: starting again from nothing would issue notice numbers twice and lose the ledger.
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from .durable import file_lock, write_atomically
from .errors import ArchiveDamaged

HEAD_FILE = "ledger-head.json"
LOCK_FILE = ".ledger-head.lock"
GENESIS_HASH = "0" * 64
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_ID = re.compile(r"^[0-9a-f]{32}$")
_SHA_NAME = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class HeadMark:
    archive_id: str
    seq: int
    entry_hash: str

    def as_dict(self) -> dict:
        return {"archive_id": self.archive_id, "seq": self.seq, "entry_hash": self.entry_hash}


def new_archive_id() -> str:
    return uuid.uuid4().hex


def read_mark(folder: Path) -> HeadMark | None:
    """The mirrored head, None when there is none; a mirror that cannot be read is damage, not absence."""
    path = Path(folder) / HEAD_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ArchiveDamaged(f"无法读取台账头副本 {path}（{exc.strerror}）") from None
    try:
        value = json.loads(data)
        mark = HeadMark(archive_id=value["archive_id"], seq=value["seq"], entry_hash=value["entry_hash"])
        ok = (isinstance(mark.archive_id, str) and _ID.match(mark.archive_id) and type(mark.seq) is int
              and mark.seq >= 0 and isinstance(mark.entry_hash, str) and _HEX64.match(mark.entry_hash))
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise ArchiveDamaged(f"台账头副本 {path} 已损坏（不是 yuetan 写下的内容）：无法确认目录数据库是否完整。"
                             "请从备份恢复该文件，或用 yuetan restore 从备份恢复目录数据库")
    return mark


def write_mark(folder: Path, mark: HeadMark, *, forward_only: bool = True) -> None:
    """Replace the mirror by rename; with `forward_only` an older head never overwrites a newer one."""
    folder = Path(folder)
    with file_lock(folder / LOCK_FILE):
        if forward_only:
            current = read_mark(folder)
            if current is not None and current.archive_id == mark.archive_id and current.seq >= mark.seq:
                return
        write_atomically(folder / HEAD_FILE, json.dumps(mark.as_dict(), sort_keys=True).encode("ascii") + b"\n")


def has_blobs(folder: Path) -> bool:
    """Whether the home's blob store holds any blob (blobs/aa/bb/<sha256>)."""
    root = Path(folder) / "blobs"
    try:
        for top in root.iterdir():
            if len(top.name) == 2 and top.is_dir():
                for sub in top.iterdir():
                    if sub.is_dir() and any(_SHA_NAME.match(p.name) for p in sub.iterdir()):
                        return True
    except (FileNotFoundError, NotADirectoryError):
        return False
    return False
