"""The one clock: moments are stored in UTC; days and times shown to people are China's (Asia/Shanghai).

A case's retention, an "as of" day and a document's date are calendar days in China, so `today()` is China's
date; timestamps in the catalog, ledger and plans are UTC (`now()`) and shown in China time (`shown`).
"""
from __future__ import annotations

import logging
import threading
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


# Stages of one case, in the order the stage table shows them.
STAGES = ("intake", "render", "convert", "normalise", "assemble", "check", "seal", "store", "index")
STAGE_LABELS = {"intake": "接收核验", "render": "生成公文", "convert": "转换", "normalise": "规范化/OCR",
                "assemble": "组卷", "check": "PDF/A 检查", "seal": "封存", "store": "存储", "index": "索引",
                "wall": "全程"}


class StageTimes:
    """Seconds spent in each stage of one case, for the stage table (`yuetan -v`, bench/).

    Stages that overlap (OCR in a worker while LibreOffice converts) are each counted in full, so the stages of a
    case may add up to more than its `wall` time; a stage entered several times adds up. Safe to share between
    threads."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()
        self._started = time.perf_counter()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - started)

    def finish(self) -> dict[str, float]:
        """The stages (rounded to milliseconds) with the case's wall time since this object was made."""
        with self._lock:
            done = {stage: round(self.seconds[stage], 3) for stage in (*STAGES, *sorted(self.seconds))
                    if stage in self.seconds}
        done["wall"] = round(time.perf_counter() - self._started, 3)
        return done


def stage_table(rows: list[tuple[str, dict[str, float]]]) -> list[str]:
    """The stage table as lines of text: one row per case and, for several, a median row (seconds)."""
    import statistics

    columns = [s for s in (*STAGES, "wall") if any(s in times for _, times in rows)]
    columns += sorted({s for _, times in rows for s in times} - set(columns))
    first = max([_width("中位数"), *(_width(name) for name, _ in rows)])
    cells = [max(8, _width(STAGE_LABELS.get(c, c))) for c in columns]

    def line(name: str, values: list[str]) -> str:
        return "  ".join([_pad(name, first, left=True), *(_pad(v, w) for v, w in zip(values, cells))]).rstrip()

    lines = [line("", [STAGE_LABELS.get(c, c) for c in columns])]
    lines += [line(name, [f"{times.get(c, 0.0):.2f}" for c in columns]) for name, times in rows]
    if len(rows) > 1:
        lines.append(line("中位数", [f"{statistics.median(t.get(c, 0.0) for _, t in rows):.2f}" for c in columns]))
    return lines


def _width(text: str) -> int:
    """Columns a terminal gives `text`: wide (CJK) characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, *, left: bool = False) -> str:
    fill = " " * max(0, width - _width(text))
    return text + fill if left else fill + text
