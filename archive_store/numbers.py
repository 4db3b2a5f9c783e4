"""The notice number registry: 赣市监检约〔YYYY〕N号, numbered per organ code and year, never issued twice."""
from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from archive_store.catalog import open_connection
from archive_store.db import write_transaction

from .errors import InvalidArgument, NumberAlreadyHeld

_NUMBER_RE = re.compile(r"^(?P<prefix>[^〔〕]+)〔(?P<year>\d{4})〕(?P<seq>[1-9]\d*)号$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS notice_numbers (
    prefix      TEXT    NOT NULL,
    year        INTEGER NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    case_id     TEXT,
    origin      TEXT    NOT NULL CHECK (origin IN ('allocated', 'registered')),
    recorded_at TEXT    NOT NULL,
    PRIMARY KEY (prefix, year, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS notice_numbers_case
    ON notice_numbers (prefix, year, case_id) WHERE case_id IS NOT NULL;
"""


def format_notice_number(prefix: str, year: int, seq: int) -> str:
    return f"{prefix}〔{year}〕{seq}号"


def parse_notice_number(number: str) -> tuple[str, int, int]:
    match = _NUMBER_RE.match(number)
    if match is None:
        raise InvalidArgument(f"文号“{number}”格式不对，应如“赣市监检约〔2025〕3号”")
    return match["prefix"], int(match["year"]), int(match["seq"])


class NoticeNumberRegistry:
    """Safe across processes: every read-then-write runs under SQLite's write lock (BEGIN IMMEDIATE)."""

    def __init__(self, db_path: Path, *, check_head: bool = True):
        self.db_path = Path(db_path)
        self._conn = open_connection(self.db_path, check_head=check_head)
        self._conn.executescript(SCHEMA)
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(notice_numbers)")}
        if "note" not in columns:       # registers made before notes were kept
            with write_transaction(self._conn) as conn:
                if "note" not in {row[1] for row in conn.execute("PRAGMA table_info(notice_numbers)")}:
                    conn.execute("ALTER TABLE notice_numbers ADD COLUMN note TEXT")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "NoticeNumberRegistry":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def allocate(self, prefix: str, year: int, case_id: str | None = None) -> str:
        """The next number for this organ code and year; a case asking again gets its own number back."""
        with write_transaction(self._conn) as conn:
            if case_id is not None:
                held = self._held_by_case(conn, prefix, year, case_id)
                if held is not None:
                    return format_notice_number(prefix, year, held)
            (last,) = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM notice_numbers WHERE prefix = ? AND year = ?",
                (prefix, year)).fetchone()
            conn.execute(
                "INSERT INTO notice_numbers (prefix, year, seq, case_id, origin, recorded_at) "
                "VALUES (?, ?, ?, ?, 'allocated', ?)", (prefix, year, last + 1, case_id, _now()))
        return format_notice_number(prefix, year, last + 1)

    def register(self, number: str, case_id: str) -> str:
        """Record a number a case already carries; refuse one another case holds."""
        prefix, year, seq = parse_notice_number(number)
        with write_transaction(self._conn) as conn:
            row = conn.execute(
                "SELECT case_id FROM notice_numbers WHERE prefix = ? AND year = ? AND seq = ?",
                (prefix, year, seq)).fetchone()
            if row is not None and row[0] not in (None, case_id):
                raise NumberAlreadyHeld(f"文号“{number}”已由案件 {row[0]} 使用，不能再用于案件 {case_id}：文号不得重复")
            held = self._held_by_case(conn, prefix, year, case_id)
            if held is not None and held != seq:
                raise NumberAlreadyHeld(
                    f"案件 {case_id} 已持有文号“{format_notice_number(prefix, year, held)}”，不能再登记“{number}”")
            if row is None:
                conn.execute(
                    "INSERT INTO notice_numbers (prefix, year, seq, case_id, origin, recorded_at) "
                    "VALUES (?, ?, ?, ?, 'registered', ?)", (prefix, year, seq, case_id, _now()))
            elif row[0] is None:
                conn.execute("UPDATE notice_numbers SET case_id = ? WHERE prefix = ? AND year = ? AND seq = ?",
                             (case_id, prefix, year, seq))
        return number

    def note_unused(self, case_id: str, reason: str) -> list[str]:
        """Say in the register why the numbers allocated to a case are not (yet) on an archived dossier; the case
        keeps them (asking again gives them back), so no number is issued twice and no gap is unexplained."""
        with write_transaction(self._conn) as conn:
            rows = conn.execute("SELECT prefix, year, seq FROM notice_numbers WHERE case_id = ? "
                                "AND origin = 'allocated'", (case_id,)).fetchall()
            conn.execute("UPDATE notice_numbers SET note = ? WHERE case_id = ? AND origin = 'allocated'",
                         (reason[:500], case_id))
        return [format_notice_number(*row) for row in rows]

    def allocations(self) -> list[dict]:
        """Every allocated number: who holds it and, when a build failed, why it is not on a dossier."""
        rows = self._conn.execute("SELECT prefix, year, seq, case_id, note, recorded_at FROM notice_numbers "
                                  "WHERE origin = 'allocated' ORDER BY prefix, year, seq").fetchall()
        return [{"notice_number": format_notice_number(p, y, s), "case_id": c, "note": n, "recorded_at": at}
                for p, y, s, c, n, at in rows]

    def holder(self, number: str) -> str | None:
        prefix, year, seq = parse_notice_number(number)
        row = self._conn.execute(
            "SELECT case_id FROM notice_numbers WHERE prefix = ? AND year = ? AND seq = ?",
            (prefix, year, seq)).fetchone()
        return row[0] if row else None

    @staticmethod
    def _held_by_case(conn: sqlite3.Connection, prefix: str, year: int, case_id: str) -> int | None:
        row = conn.execute(
            "SELECT seq FROM notice_numbers WHERE prefix = ? AND year = ? AND case_id = ?",
            (prefix, year, case_id)).fetchone()
        return row[0] if row else None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def clear_note(conn: sqlite3.Connection, case_id: str) -> None:
    """Inside the catalog transaction that stores the case: its numbers are on an archived dossier now."""
    if "note" in {row[1] for row in conn.execute("PRAGMA table_info(notice_numbers)")}:
        conn.execute("UPDATE notice_numbers SET note = NULL WHERE case_id = ?", (case_id,))
