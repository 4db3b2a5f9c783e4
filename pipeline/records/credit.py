"""The credit file (第十八条): an institution's interviews, findings, rectification and outcome.

The catalog gives the interviews and their findings; the rectification (plan, report, follow-ups) is read from
each case's stored case.json, which is the record the bureau delivered.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from archive_store.durable import atomic_path
from archive_store.errors import InvalidArgument
from archive_store.home import ArchiveHome
from pipeline.case.contract import OUTCOME_LABELS, Outcome, is_valid_credit_code
from pipeline.case.contract import ground_label as contract_ground_label

FOLLOWUP_METHOD_LABELS = {"document_review": "书面审查", "onsite_recheck": "现场复查"}
TABLE_HEADERS = ["统一社会信用代码", "约谈对象", "文号", "案件编号", "约谈日期", "约谈组织方", "约谈事由",
                 "程序核查发现", "整改方案提交日期", "整改报告提交日期", "整改报告审核", "跟踪检查", "处理结果",
                 "结案日期", "档号"]


def ground_label(ground: str) -> str:
    """"6.2" → 第六条第（二）项."""
    article, _, item = str(ground).partition(".")
    return contract_ground_label(int(article), int(item) if item else None)


def outcome_label(outcome: str | None) -> str:
    try:
        return OUTCOME_LABELS[Outcome(outcome)]
    except ValueError:
        return outcome or ""


def check_credit_code(code: str) -> str:
    code = (code or "").strip().upper()
    if not is_valid_credit_code(code):
        raise InvalidArgument(f"“{code}”不是有效的统一社会信用代码（18 位，末位校验码须符合 GB 32100）")
    return code


@dataclass(frozen=True)
class InterviewEntry:
    """One interview as it stands in the credit file and in an export's summary table."""

    credit_code: str | None
    target_name: str
    target_kind: str
    notice_number: str
    case_id: str
    version: int
    organizer: str
    interview_on: str | None
    closed_on: str | None
    grounds: list[str]
    facts: list[str]
    findings: list[dict]
    rectification: dict
    outcome: str
    outcome_label: str
    archival_code: str | None = None

    def as_dict(self) -> dict:
        return {"credit_code": self.credit_code, "target": self.target_name, "target_kind": self.target_kind,
                "notice_number": self.notice_number, "case_id": self.case_id, "version": self.version,
                "organizer": self.organizer, "interview_on": self.interview_on, "closed_on": self.closed_on,
                "grounds": [{"ground": g, "label": ground_label(g)} for g in self.grounds], "facts": self.facts,
                "findings": self.findings, "rectification": self.rectification, "outcome": self.outcome,
                "outcome_label": self.outcome_label, "archival_code": self.archival_code}

    @property
    def grounds_text(self) -> str:
        return "；".join(ground_label(g) for g in self.grounds)

    @property
    def findings_text(self) -> str:
        return "；".join(f"{f['article']} {f['message']}" for f in self.findings) or "未发现问题"

    def table_row(self) -> list:
        r = self.rectification
        followups = "；".join(f"{f.get('on')} {FOLLOWUP_METHOD_LABELS.get(f.get('method'), f.get('method'))}"
                             f"：{f.get('finding', '')}（{'到位' if f.get('satisfied') else '未到位'}）"
                             for f in r.get("followups", []))
        review = "、".join(x for x in (r.get("report_reviewed_by"), r.get("report_reviewed_on")) if x)
        return [self.credit_code or "", self.target_name, self.notice_number, self.case_id, self.interview_on,
                self.organizer, self.grounds_text, self.findings_text, r.get("plan_submitted_on") or "",
                r.get("report_submitted_on") or "", review, followups, self.outcome_label, self.closed_on,
                self.archival_code or ""]


def interview_entry(catalog, store, record) -> InterviewEntry:
    case = json.loads(store.read_bytes(record.case_json_sha256)) if record.case_json_sha256 else {}
    grounds = record.grounds if isinstance(record.grounds, list) else json.loads(record.grounds or "[]")
    facts = [fact for g in case.get("grounds", []) for fact in g.get("facts", [])]
    findings = [{"code": f.code, "article": f.article, "severity": f.severity, "message": f.message}
                for f in catalog.findings(record.case_id, record.version)]
    rect = case.get("rectification") or {}
    rectification = {k: rect.get(k) for k in ("plan_submitted_on", "report_submitted_on", "report_reviewed_by",
                                              "report_reviewed_on")}
    rectification["followups"] = rect.get("followups", [])
    return InterviewEntry(
        credit_code=record.credit_code, target_name=record.target_name or "", target_kind=record.target_kind or "",
        notice_number=record.notice_number or "", case_id=record.case_id, version=record.version,
        organizer=record.organizer or "", interview_on=_iso(record.interview_on), closed_on=_iso(record.closed_on),
        grounds=[str(g) for g in grounds], facts=facts, findings=findings, rectification=rectification,
        outcome=record.outcome or "", outcome_label=outcome_label(record.outcome),
        archival_code=getattr(record, "archival_code", None))


def credit_file(home: ArchiveHome, credit_code: str) -> list[InterviewEntry]:
    """Every current case of this institution, oldest interview first. An empty list is a clean record."""
    code = check_credit_code(credit_code)
    with home.catalog() as catalog:
        return _entries(catalog, home.blobs(), catalog.by_credit_code(code))


def credit_file_all(home: ArchiveHome) -> list[InterviewEntry]:
    """Every institution's interviews, grouped by credit code."""
    with home.catalog() as catalog:
        return _entries(catalog, home.blobs(), [r for r in catalog.all_cases(status="current") if r.credit_code])


def _entries(catalog, store, records) -> list[InterviewEntry]:
    entries = [interview_entry(catalog, store, r) for r in records]
    return sorted(entries, key=lambda e: (e.credit_code or "", e.interview_on or "", e.notice_number))


def write_credit_table(home: ArchiveHome, entries: list[InterviewEntry], dest: Path) -> None:
    """The credit file as a table a user asked for (-o): never among the archive's own files."""
    write_table(entries, home.output_file(dest))


def write_table(entries: list[InterviewEntry], path: Path, *, headers: list[str] | None = None,
                rows: list[list] | None = None, sheet_title: str = "约谈信用档案") -> None:
    """XLSX or CSV (UTF-8 with BOM, so Excel opens the Chinese) by the file's extension; temp name + rename."""
    path = Path(path)
    headers = headers or TABLE_HEADERS
    rows = rows if rows is not None else [e.table_row() for e in entries]
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise InvalidArgument(f"输出文件 {path} 的扩展名应为 .xlsx 或 .csv")
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\r\n")
            writer.writerow(headers)
            writer.writerows(["" if v is None else v for v in row] for row in rows)
            tmp.write_bytes(buffer.getvalue().encode("utf-8-sig"))
        else:
            _write_xlsx(tmp, headers, rows, sheet_title)


def _write_xlsx(path: Path, headers: list[str], rows: list[list], title: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(["" if v is None else v for v in row])
    for col in range(1, len(headers) + 1):
        sheet.column_dimensions[get_column_letter(col)].width = 20
        for cell in sheet[get_column_letter(col)]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    book.save(path)


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)[:10]
