"""The Chinese names of the core's codes, for the faces to show (one place)."""
from __future__ import annotations

from archive_store.ledger import ACTION_LABELS
from pipeline.case.contract import OUTCOME_LABELS, ground_label
from pipeline.records.authority import PERMISSION_LABELS, ROLE_LABELS
from pipeline.records.statistics import KIND_LABELS, region_label

OUTCOMES = {str(k.value): v for k, v in OUTCOME_LABELS.items()}
CASE_STATUS_LABELS = {"current": "现行", "superseded": "已被新版本取代", "purged": "已销毁"}


def __getattr__(name: str):
    """INGEST_STATUS_LABELS on first use: loading ingest (and the PDF stack behind it) costs a command's start."""
    if name == "INGEST_STATUS_LABELS":
        from pipeline.records.ingest import STATUS_LABELS
        return STATUS_LABELS
    raise AttributeError(name)


def ground_text(code: str) -> str:
    """"6.2" → 第六条第（二）项; "6" → 第六条; anything else as it is."""
    article, _, item = str(code).partition(".")
    if not article.isdigit() or (item and not item.isdigit()):
        return str(code)
    return ground_label(int(article), int(item) if item else None)


__all__ = ["ACTION_LABELS", "CASE_STATUS_LABELS", "INGEST_STATUS_LABELS", "KIND_LABELS", "OUTCOMES",
           "PERMISSION_LABELS", "ROLE_LABELS", "ground_text", "region_label"]
