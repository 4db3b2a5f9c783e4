"""The notice number registry: 赣市监检约〔YYYY〕N号, numbered per organ code and year, never issued twice."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import and_, func, insert, select, update

from archive_store.db import LOCK_NUMBERS, advisory_lock
from archive_store.schema import notice_numbers as NUMBERS

from .errors import InvalidArgument, NumberAlreadyHeld

_NUMBER_RE = re.compile(r"^(?P<prefix>[^〔〕]+)〔(?P<year>\d{4})〕(?P<seq>[1-9]\d*)号$")


def format_notice_number(prefix: str, year: int, seq: int) -> str:
    return f"{prefix}〔{year}〕{seq}号"


def parse_notice_number(number: str) -> tuple[str, int, int]:
    match = _NUMBER_RE.match(number)
    if match is None:
        raise InvalidArgument(f"文号“{number}”格式不对，应如“赣市监检约〔2025〕3号”")
    return match["prefix"], int(match["year"]), int(match["seq"])


class NoticeNumberRegistry:
    """Never issues a number twice, with writers in several processes or on several machines: every
    read-then-write runs in one transaction holding the series' lock (SQLite's write lock; on PostgreSQL an
    advisory lock per organ code and year), and the primary key (prefix, year, seq) refuses a duplicate anyway."""

    def __init__(self, target, *, check_head: bool = True):
        from archive_store.catalog import Catalog

        # opened through the catalog: the same checks against a catalog lost or replaced (SQLite's mirror)
        self.db = Catalog(target, check_head=check_head).db

    def close(self) -> None:
        """Connections go back to the process's pool."""

    def __enter__(self) -> "NoticeNumberRegistry":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def allocate(self, prefix: str, year: int, case_id: str | None = None) -> str:
        """The next number for this organ code and year; a case asking again gets its own number back."""
        with self.db.write() as conn:
            advisory_lock(conn, LOCK_NUMBERS, f"{prefix}〔{year}〕")
            if case_id is not None:
                held = self._held_by_case(conn, prefix, year, case_id)
                if held is not None:
                    return format_notice_number(prefix, year, held)
            last = conn.execute(select(func.coalesce(func.max(NUMBERS.c.seq), 0))
                                .where(NUMBERS.c.prefix == prefix, NUMBERS.c.year == year)).scalar_one()
            conn.execute(insert(NUMBERS).values(prefix=prefix, year=year, seq=last + 1, case_id=case_id,
                                                origin="allocated", recorded_at=_now()))
        return format_notice_number(prefix, year, last + 1)

    def register(self, number: str, case_id: str) -> str:
        """Record a number a case already carries; refuse one another case holds."""
        prefix, year, seq = parse_notice_number(number)
        with self.db.write() as conn:
            advisory_lock(conn, LOCK_NUMBERS, f"{prefix}〔{year}〕")
            row = conn.execute(select(NUMBERS.c.case_id).where(
                NUMBERS.c.prefix == prefix, NUMBERS.c.year == year, NUMBERS.c.seq == seq)).first()
            if row is not None and row[0] not in (None, case_id):
                raise NumberAlreadyHeld(f"文号“{number}”已由案件 {row[0]} 使用，不能再用于案件 {case_id}：文号不得重复")
            held = self._held_by_case(conn, prefix, year, case_id)
            if held is not None and held != seq:
                raise NumberAlreadyHeld(
                    f"案件 {case_id} 已持有文号“{format_notice_number(prefix, year, held)}”，不能再登记“{number}”")
            if row is None:
                conn.execute(insert(NUMBERS).values(prefix=prefix, year=year, seq=seq, case_id=case_id,
                                                    origin="registered", recorded_at=_now()))
            elif row[0] is None:
                conn.execute(update(NUMBERS).where(NUMBERS.c.prefix == prefix, NUMBERS.c.year == year,
                                                   NUMBERS.c.seq == seq).values(case_id=case_id))
        return number

    def note_unused(self, case_id: str, reason: str) -> list[str]:
        """Say in the register why the numbers allocated to a case are not (yet) on an archived dossier; the case
        keeps them (asking again gives them back), so no number is issued twice and no gap is unexplained."""
        mine = and_(NUMBERS.c.case_id == case_id, NUMBERS.c.origin == "allocated")
        with self.db.write() as conn:
            rows = conn.execute(select(NUMBERS.c.prefix, NUMBERS.c.year, NUMBERS.c.seq).where(mine)).all()
            conn.execute(update(NUMBERS).where(mine).values(note=reason[:500]))
        return [format_notice_number(*row) for row in rows]

    def allocations(self) -> list[dict]:
        """Every allocated number: who holds it and, when a build failed, why it is not on a dossier."""
        query = (select(NUMBERS.c.prefix, NUMBERS.c.year, NUMBERS.c.seq, NUMBERS.c.case_id, NUMBERS.c.note,
                        NUMBERS.c.recorded_at).where(NUMBERS.c.origin == "allocated")
                 .order_by(NUMBERS.c.prefix, NUMBERS.c.year, NUMBERS.c.seq))
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [{"notice_number": format_notice_number(p, y, s), "case_id": c, "note": n, "recorded_at": at}
                for p, y, s, c, n, at in rows]

    def holder(self, number: str) -> str | None:
        prefix, year, seq = parse_notice_number(number)
        with self.db.read() as conn:
            row = conn.execute(select(NUMBERS.c.case_id).where(
                NUMBERS.c.prefix == prefix, NUMBERS.c.year == year, NUMBERS.c.seq == seq)).first()
        return row[0] if row else None

    @staticmethod
    def _held_by_case(conn, prefix: str, year: int, case_id: str) -> int | None:
        row = conn.execute(select(NUMBERS.c.seq).where(NUMBERS.c.prefix == prefix, NUMBERS.c.year == year,
                                                       NUMBERS.c.case_id == case_id)).first()
        return row[0] if row else None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def clear_note(tx, case_id: str) -> None:
    """Inside the catalog transaction that stores the case: its numbers are on an archived dossier now."""
    conn = getattr(tx, "conn", tx)
    conn.execute(update(NUMBERS).where(NUMBERS.c.case_id == case_id).values(note=None))
