"""The 档号 register: archival codes given at ingest, consecutive within their group, never issued twice.

A group (series) is the code without its number, e.g. J036-WS·2025-D6-JCK-#: the fonds, category, closing year,
retention and organization parts of `[arrangement] pattern`. Like notice numbers, every read-then-write runs
under the catalog's write lock (BEGIN IMMEDIATE), so concurrent ingests never take the same number, and the
register's rows are never deleted (a purged case's number stays taken). A case asking again - a rerun, a
superseding version - gets its own code back.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone

from archive_store.db import write_transaction
from archive_store.home import ArrangementSettings

from .errors import ArchiveConflict


@dataclass(frozen=True)
class RegisteredCode:
    code: str
    case_id: str
    series: str
    seq: int
    year: int
    recorded_at: str


def archival_code_for(catalog, case_id: str, *, year: int, settings: ArrangementSettings) -> RegisteredCode:
    """The case's 档号: the one it holds, else the next number of its group for `year` (the closing year)."""
    with write_transaction(catalog.conn) as conn:
        held = conn.execute("SELECT code, case_id, series, seq, year, recorded_at FROM archival_codes "
                            "WHERE case_id = ?", (case_id,)).fetchone()
        if held is not None:
            return RegisteredCode(*tuple(held))
        series = settings.series(year)
        (last,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM archival_codes WHERE series = ?",
                               (series,)).fetchone()
        code = settings.code(year, last + 1)
        registered = RegisteredCode(code, case_id, series, last + 1, year, _now())
        try:
            conn.execute("INSERT INTO archival_codes (series, seq, code, case_id, year, recorded_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (series, last + 1, code, case_id, year, registered.recorded_at))
        except sqlite3.IntegrityError:
            holder = conn.execute("SELECT case_id FROM archival_codes WHERE code = ?", (code,)).fetchone()
            raise ArchiveConflict(f"档号 {code} 已由案件 {holder[0] if holder else '（未知）'} 使用：[arrangement] "
                                  "的 pattern 改动后与旧档号重合，请改用不会重合的格式") from None
    return registered


def registered_codes(catalog, *, year: int | None = None) -> list[RegisteredCode]:
    """Every code given (for one closing year), in series and number order."""
    sql = "SELECT code, case_id, series, seq, year, recorded_at FROM archival_codes"
    args: tuple = ()
    if year is not None:
        sql += " WHERE year = ?"
        args = (year,)
    rows = catalog.conn.execute(sql + " ORDER BY series, seq", args).fetchall()
    return [RegisteredCode(*tuple(row)) for row in rows]


def code_of_case(catalog, case_id: str) -> str | None:
    row = catalog.conn.execute("SELECT code FROM archival_codes WHERE case_id = ?", (case_id,)).fetchone()
    return row[0] if row else None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
