"""The 档号 register: archival codes given at ingest, consecutive within their group, never issued twice.

A group (series) is the code without its number, e.g. J036-WS·2025-D6-JCK-#: the fonds, category, closing year,
retention and organization parts of `[arrangement] pattern`. Like notice numbers, every read-then-write runs in
one transaction holding the series' lock (SQLite's write lock; on PostgreSQL an advisory lock per series, so
nodes on several machines never take the same number), and the register's rows are never deleted (a purged
case's number stays taken). A case asking again - a rerun, a superseding version - gets its own code back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from archive_store.db import LOCK_ARCHIVAL_CODES, advisory_lock
from archive_store.home import ArrangementSettings
from archive_store.schema import archival_codes as CODES

from .errors import ArchiveConflict

_COLUMNS = (CODES.c.code, CODES.c.case_id, CODES.c.series, CODES.c.seq, CODES.c.year, CODES.c.recorded_at)


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
    series = settings.series(year)
    try:
        with catalog.db.write() as conn:
            advisory_lock(conn, LOCK_ARCHIVAL_CODES, series)
            held = _held(conn, case_id)
            if held is not None:
                return held
            last = conn.execute(select(func.coalesce(func.max(CODES.c.seq), 0))
                                .where(CODES.c.series == series)).scalar_one()
            registered = RegisteredCode(settings.code(year, last + 1), case_id, series, last + 1, year, _now())
            conn.execute(insert(CODES).values(code=registered.code, case_id=case_id, series=series,
                                              seq=registered.seq, year=year, recorded_at=registered.recorded_at))
    except IntegrityError:
        # another node gave this case a code under another series meanwhile (its settings differ), or the
        # pattern was changed so that a new code repeats an old one
        with catalog.reading() as conn:
            held = _held(conn, case_id)
            if held is not None:
                return held
            holder = conn.execute(select(CODES.c.case_id).where(CODES.c.code == registered.code)).scalar()
        raise ArchiveConflict(f"档号 {registered.code} 已由案件 {holder or '（未知）'} 使用：[arrangement] "
                              "的 pattern 改动后与旧档号重合，请改用不会重合的格式") from None
    return registered


def registered_codes(catalog, *, year: int | None = None) -> list[RegisteredCode]:
    """Every code given (for one closing year), in series and number order."""
    query = select(*_COLUMNS).order_by(CODES.c.series, CODES.c.seq)
    if year is not None:
        query = query.where(CODES.c.year == year)
    with catalog.reading() as conn:
        return [RegisteredCode(*row) for row in conn.execute(query)]


def code_of_case(catalog, case_id: str) -> str | None:
    with catalog.reading() as conn:
        return conn.execute(select(CODES.c.code).where(CODES.c.case_id == case_id)).scalar()


def _held(conn, case_id: str) -> RegisteredCode | None:
    row = conn.execute(select(*_COLUMNS).where(CODES.c.case_id == case_id)).first()
    return RegisteredCode(*row) if row else None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
