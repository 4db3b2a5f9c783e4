"""The notice number registry: 赣市监检约〔YYYY〕N号, numbered per organ code and year, never issued twice."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import func, insert, select, update

from archive_store.db import LOCK_NUMBERS, Database, advisory_lock
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

    def __init__(self, target):
        self.db = Database(target)

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
