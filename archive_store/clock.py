"""The one clock: moments are stored in UTC; days and times shown to people are China's (Asia/Shanghai).

A case's retention, an "as of" day and a document's date are calendar days in China, so `today()` is China's
date; timestamps in the catalog, ledger and plans are UTC (`now()`) and shown in China time (`shown`).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """This moment in UTC, to the second: what is stored."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def today() -> date:
    """Today's date in China: the day the Measures' periods and the archive's dates count in."""
    return datetime.now(CHINA).date()


def in_china(moment: datetime) -> datetime:
    """A stored moment in China time (a naive one is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(CHINA)


def shown(moment: datetime | str | None) -> str:
    """A stored moment as a person in China reads it: 2025-10-09 16:30:00（北京时间）."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    return in_china(moment).strftime("%Y-%m-%d %H:%M:%S") + "（北京时间）"


@contextmanager
def timed(log: logging.Logger, stage: str, *args) -> Iterator[None]:
    """Log how long a stage took, at debug level (`yuetan -v` shows it): `stage % args`, then the seconds."""
    started = time.perf_counter()
    try:
        yield
    finally:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s：%.2f 秒", stage % args if args else stage, time.perf_counter() - started)
