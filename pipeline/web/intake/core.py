"""The intake's two calls into the core, in the shapes `yuetan check --json` and `yuetan ingest --json` print."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from archive_store.errors import InvalidCase
from archive_store.home import ArchiveHome


def check(path: Path) -> dict:
    from pipeline.case.findings import assess_procedure
    from pipeline.case.intake import open_case

    try:
        with open_case(path) as bundle:
            findings = assess_procedure(bundle.case)
            return {"valid": True, "errors": [], "findings": [f.as_dict() for f in findings],
                    "case_id": bundle.case.case_id, "notice_number": bundle.case.notice.number,
                    "target": bundle.case.target.name, "unknown_keys": bundle.unknown_keys}
    except InvalidCase as exc:
        return {"valid": False, "errors": [p.as_dict() for p in exc.problems], "findings": []}


def ingest(home: ArchiveHome, path: Path, *, account: str, role: str,
           on_stage: Callable[[str], None] | None = None) -> dict:
    from pipeline.records.ingest import ingest_cases

    (result,) = ingest_cases([path], home=home, actor=account)
    return result.as_dict()
