"""Retention (第二十条): what expires when, legal holds, the destruction list (销毁清册) and the purge.

The period is counted the archival way: from 1 January of the year after the case was closed, so a case closed
on 2019-05-10 is kept to 2025-12-31 and may be destroyed from 2026-01-01.

Purge order per case, chosen so that a crash at any point leaves a state a rerun finishes:
  1. one catalog transaction: tombstone, status purged, catalog content gone, ledger 'purge' entry that names
     every blob the case had (the ledger is kept for ever, so a rerun knows what is left to delete);
  2. delete those blobs unless a case that is not purged still references them;
  3. remove the case from the index.
A rerun of the same plan skips purged cases (and says so) after finishing steps 2 and 3 for them.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from enum import Enum
from pathlib import Path

from archive_store import clock, ledger
from archive_store.actors import Actor
from archive_store.catalog import Catalog, DestructionPlanRow, Tombstone
from archive_store.durable import (
    atomic_path,
    crash_point,
    file_lock,
    fsync_dir,
    fsync_file,
    sha256_file,
    write_atomically,
)
from archive_store.errors import ArchiveConflict, InvalidArgument
from archive_store.home import ArchiveHome
from archive_store.text import require_plain
from pipeline.documents.render import chinese_date
from pipeline.pdf.manifest import canonical_json
from pipeline.records.authority import PermissionRefused

PLAN_FORMAT = "yuetan-destruction-plan/1"
PLAN_FILE = "plan.json"
LIST_XLSX = "销毁清册.xlsx"
LIST_DOCX = "销毁清册.docx"
LIST_PDF = "销毁清册.pdf"
PLANS_DIR = "plans"

LIST_TITLE = "约谈档案销毁清册"
LIST_HEADERS = ["序号", "文号", "案件编号", "题名", "约谈对象", "约谈组织方", "结案日期", "保管期限", "到期日期",
                "页数", "清单摘要"]
APPROVAL_FIELDS = ["鉴定小组意见：", "监销人（签字）：　　　　　　　　　　　　监销人（签字）：", "批准人（签字）：",
                   "日期：　　　　年　　月　　日"]


# --- the rule --------------------------------------------------------------------------------------------

def retention_dates(closed_on: date, years: int) -> tuple[date, date]:
    """(expires_on, purgeable_from): kept through 31 December of closing year + years, destroyable the day after."""
    return date(closed_on.year + years, 12, 31), date(closed_on.year + years + 1, 1, 1)


def lock_until(closed_on: date, years: int) -> datetime:
    """Until when the object store must refuse to delete a case's files: the first moment it may be destroyed
    (00:00 China time on `purgeable_from`)."""
    return datetime.combine(retention_dates(closed_on, years)[1], time.min, tzinfo=clock.CHINA)


def retention_rule(years: int) -> str:
    example_expiry, example_from = retention_dates(date(2019, 5, 10), years)
    return (f"保管期限为{years}年（《江西省检验检测领域监督检查工作约谈实施办法（试行）》第二十条），"
            f"自结案之次年1月1日起计算，期满之年12月31日届满，次日起可以销毁；"
            f"如2019年5月10日结案的案件保管至{chinese_date(example_expiry)}，{chinese_date(example_from)}起可以销毁。"
            f"冻结（法律保全）中的案件不予销毁。")


class RetentionStatus(str, Enum):
    retained = "在保管期内"
    expired = "已到期可销毁"
    held = "冻结中"


@dataclass(frozen=True)
class RetentionEntry:
    case_id: str
    version: int
    notice_number: str
    title: str
    target_name: str
    organizer: str
    closed_on: date | None
    expires_on: date | None
    purgeable_from: date | None
    held: bool
    hold_reasons: list[str]
    status: RetentionStatus
    archival_code: str | None = None       # 档号 (none for a case stored before 档号 were given)


def retention_schedule(home: ArchiveHome, *, as_of: date | None = None) -> list[RetentionEntry]:
    """Every current case with its expiry, in order of expiry (soonest first)."""
    as_of = as_of or clock.today()
    years = home.settings.retention_years
    entries = []
    with home.catalog() as catalog:
        for record in catalog.all_cases(status="current"):
            holds = catalog.active_holds(record.case_id)
            entries.append(_entry(record, holds, years, as_of))
    return sorted(entries, key=lambda e: (e.purgeable_from or date.max, e.case_id))


def case_retention(record, active_holds, *, years: int, as_of: date | None = None) -> RetentionEntry:
    """One case's line of the retention list (the case page, `yuetan show`)."""
    return _entry(record, active_holds, years, as_of or clock.today())


def _entry(record, holds, years: int, as_of: date) -> RetentionEntry:
    closed_on = _as_date(record.closed_on)
    expires_on, purgeable_from = retention_dates(closed_on, years) if closed_on else (None, None)
    if holds:
        status = RetentionStatus.held
    elif purgeable_from is not None and as_of >= purgeable_from:
        status = RetentionStatus.expired
    else:
        status = RetentionStatus.retained
    return RetentionEntry(case_id=record.case_id, version=record.version, notice_number=record.notice_number or "",
                          title=record.title or "", target_name=record.target_name or "",
                          organizer=record.organizer or "", closed_on=closed_on, expires_on=expires_on,
                          purgeable_from=purgeable_from, held=bool(holds), hold_reasons=[h.reason for h in holds],
                          status=status, archival_code=getattr(record, "archival_code", None))


# --- legal holds -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HoldChange:
    case_id: str
    notice_number: str
    action: str          # hold / release
    reason: str
    actor: str
    role: str
    ledger_seq: int


def place_hold(home: ArchiveHome, case_ref: str, *, reason: str, actor: Actor) -> HoldChange:
    """A held case is never purged, whatever its age, until the hold is released."""
    reason = _required_reason(reason)
    with home.catalog() as catalog:
        record = _resolve_current(catalog, case_ref)
        store = home.blobs()
        with catalog.transaction() as tx:
            catalog.add_hold(tx, record.case_id, reason=reason, held_by=actor.name)
            for sha in sorted(catalog.case_shas(record.case_id)):   # the store's hold first: a failure undoes both
                store.set_legal_hold(sha, True)
            entry = ledger.append(tx, action="hold", actor=actor, case_id=record.case_id,
                                  details={"reason": reason, "notice_number": record.notice_number,
                                           "manifest_sha256": record.manifest_sha256})
    return HoldChange(record.case_id, record.notice_number or "", "hold", reason, actor.name, actor.role.value,
                      entry.seq)


def release_hold(home: ArchiveHome, case_ref: str, *, reason: str, actor: Actor) -> HoldChange:
    reason = _required_reason(reason)
    with home.catalog() as catalog:
        record = _resolve_current(catalog, case_ref)
        if not catalog.active_holds(record.case_id):
            release_store_holds(home, catalog, record.case_id)      # finish an interrupted release, if any
            raise ArchiveConflict(f"案件 {record.case_id}（{record.notice_number}）未被冻结，无需解除")
        with catalog.transaction() as tx:
            catalog.release_hold(tx, record.case_id, released_by=actor.name, reason=reason)
            entry = ledger.append(tx, action="release", actor=actor, case_id=record.case_id,
                                  details={"reason": reason, "notice_number": record.notice_number,
                                           "manifest_sha256": record.manifest_sha256})
        release_store_holds(home, catalog, record.case_id)
    return HoldChange(record.case_id, record.notice_number or "", "release", reason, actor.name, actor.role.value,
                      entry.seq)


def release_store_holds(home: ArchiveHome, catalog: Catalog, case_id: str) -> int:
    """Clear the object store's legal hold on the case's files that no other held case shares; how many.

    Runs after the release is committed: a crash in between leaves a hold on (the safe side), which audit
    reports and a rerun of `release` clears."""
    store = home.blobs()
    still_held = set()
    for other in {h.case_id for h in catalog.active_holds()}:
        still_held |= catalog.case_shas(other)
    cleared = 0
    for sha in sorted(catalog.case_shas(case_id) - still_held):
        store.set_legal_hold(sha, False)
        cleared += 1
    return cleared


def _required_reason(reason: str | None) -> str:
    if not reason or not reason.strip():
        raise InvalidArgument("请用 --reason 写明冻结或解除的理由（将记入台账）")
    return require_plain(reason.strip(), "理由（--reason）")


def _resolve_current(catalog, case_ref: str):
    record = catalog.current(case_ref) or catalog.by_notice_number(case_ref)
    if record is not None and record.status == "current":
        return record
    if catalog.tombstone(case_ref) is not None or catalog.tombstone_by_notice_number(case_ref) is not None:
        raise ArchiveConflict(f"案件 {case_ref} 已销毁，只留有销毁记录")
    raise InvalidArgument(f"档案库中没有案件编号或文号为“{case_ref}”的案件")


# --- the destruction plan --------------------------------------------------------------------------------

def plan_sha256(plan: dict) -> str:
    """sha256 of the plan's canonical JSON without its own `plan_sha256` field."""
    rest = {k: v for k, v in plan.items() if k != "plan_sha256"}
    return hashlib.sha256(canonical_json(rest)).hexdigest()


def build_plan(entries: list[RetentionEntry], records: dict, *, plan_id: str, as_of: date, years: int,
               created_by: str, created_at: datetime, ledger_head: dict | None = None) -> dict:
    """The machine-readable plan: only expired, unheld cases; `plan_sha256` covers everything else in it.

    `ledger_head` ({seq, entry_hash} of the ledger's last entry) pins the whole ledger as it stood: a copy of
    it kept outside the archive (the signed 销毁清册) exposes a ledger rewritten afterwards.
    """
    cases = []
    for seq, entry in enumerate((e for e in entries if e.status is RetentionStatus.expired), start=1):
        record = records[entry.case_id]
        cases.append({
            "seq": seq, "notice_number": entry.notice_number, "archival_code": entry.archival_code,
            "case_id": entry.case_id, "version": entry.version,
            "title": entry.title, "target_name": entry.target_name, "credit_code": record.credit_code,
            "organizer": entry.organizer, "interview_on": _iso(_as_date(record.interview_on)),
            "closed_on": _iso(entry.closed_on), "retention": f"{years}年", "expires_on": _iso(entry.expires_on),
            "purgeable_from": _iso(entry.purgeable_from), "page_count": record.page_count,
            "manifest_sha256": record.manifest_sha256, "dossier_sha256": record.dossier_sha256})
    plan = {"format": PLAN_FORMAT, "plan_id": plan_id, "as_of": as_of.isoformat(),
            "created_at": created_at.isoformat(timespec="seconds"), "created_by": created_by,
            "retention_years": years, "rule": retention_rule(years), "cases": cases,
            "totals": {"cases": len(cases), "pages": sum(c["page_count"] or 0 for c in cases)},
            "ledger_head": ledger_head}
    plan["plan_sha256"] = plan_sha256(plan)
    return plan


def plan_destruction(home: ArchiveHome, out_dir: Path, *, actor: Actor, as_of: date | None = None,
                     converter=None, in_archive: bool = False) -> dict:
    """Write 销毁清册.xlsx, 销毁清册.pdf (PDF/A) and plan.json into `out_dir` and record the plan. Deletes nothing.

    Returns the plan; with nothing purgeable it returns a plan without id or cases and writes nothing.
    `out_dir` is a user's (-o), never inside the archive, unless `in_archive`: the archive keeping a draft of
    its own (approvals).
    """

    as_of = as_of or clock.today()
    out_dir = Path(out_dir) if in_archive else home.output_folder(out_dir, make=False)
    if (out_dir / PLAN_FILE).exists():
        raise ArchiveConflict(f"{out_dir / PLAN_FILE} 已存在：请另选输出文件夹，已有的销毁计划不会被覆盖")
    years = home.settings.retention_years
    created_at = clock.now()
    with home.catalog() as catalog:
        records = {r.case_id: r for r in catalog.all_cases(status="current")}
        entries = sorted((_entry(r, catalog.active_holds(r.case_id), years, as_of) for r in records.values()),
                         key=lambda e: (e.closed_on or date.max, e.notice_number, e.case_id))
        if not any(e.status is RetentionStatus.expired for e in entries):
            return {"format": PLAN_FORMAT, "plan_id": None, "as_of": as_of.isoformat(), "cases": [],
                    "totals": {"cases": 0, "pages": 0}}
        plan_id = _next_plan_id(catalog, clock.in_china(created_at).year)
        plan = build_plan(entries, records, plan_id=plan_id, as_of=as_of, years=years, created_by=actor.name,
                          created_at=created_at, ledger_head=_ledger_head(catalog))
        if in_archive:
            out_dir.parent.mkdir(parents=True, exist_ok=True)
        else:
            home.output_folder(out_dir.parent)
        work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=out_dir.parent))
        try:
            write_plan_files(plan, work, fonts=home.settings.fonts, converter=converter)
            file_hashes = {name: sha256_file(work / name) for name in (PLAN_FILE, LIST_XLSX, LIST_PDF)}
            with catalog.transaction() as tx:
                if catalog.plan(plan_id) is not None:
                    raise ArchiveConflict(f"销毁计划编号 {plan_id} 刚被另一进程使用，请重新运行")
                catalog.record_plan(tx, DestructionPlanRow(
                    plan_id=plan_id, plan_sha256=plan["plan_sha256"], as_of=as_of, created_at=created_at,
                    created_by=actor.name, plan_json=canonical_json(plan).decode("utf-8")))
                ledger.append(tx, action="purge_plan", actor=actor, case_id=None,
                              details={"plan_id": plan_id, "plan_sha256": plan["plan_sha256"],
                                       "as_of": as_of.isoformat(), "case_ids": [c["case_id"] for c in plan["cases"]],
                                       "files": file_hashes})
            _move_files_into(work, out_dir, [LIST_XLSX, LIST_PDF, PLAN_FILE])
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return plan


def _next_plan_id(catalog, year: int) -> str:
    prefix = f"XH-{year}-"
    ids = [p.plan_id for p in catalog.plans()]
    taken = [int(p[len(prefix):]) for p in ids if p.startswith(prefix) and p[len(prefix):].isdigit()]
    return f"{prefix}{max(taken, default=0) + 1:04d}"


def write_plan_files(plan: dict, folder: Path, *, fonts, converter=None) -> None:
    """plan.json, 销毁清册.xlsx and 销毁清册.pdf (through a DOCX, converted to PDF/A by LibreOffice)."""
    from pipeline.pdf.pdfa import pdfa_converter

    write_atomically(folder / PLAN_FILE, json.dumps(plan, ensure_ascii=False, indent=1).encode("utf-8") + b"\n")
    write_destruction_xlsx(plan, folder / LIST_XLSX)
    docx = folder / LIST_DOCX
    write_destruction_docx(plan, docx, fonts=fonts)
    if converter is None:
        with pdfa_converter() as own:
            own.convert_to_pdfa(docx, folder / LIST_PDF)
    else:
        converter.convert_to_pdfa(docx, folder / LIST_PDF)
    docx.unlink()
    fsync_file(folder / LIST_PDF)


def _list_rows(plan: dict) -> list[list]:
    return [[c["seq"], c["notice_number"], c["case_id"], c["title"], c["target_name"], c["organizer"],
             c["closed_on"], c["retention"], c["expires_on"], c["page_count"], c["manifest_sha256"]]
            for c in plan["cases"]]


def _ledger_head(catalog: Catalog) -> dict | None:
    head = ledger.head(catalog)
    return {"seq": head.seq, "entry_hash": head.entry_hash} if head else None


def _plan_header_lines(plan: dict) -> list[str]:
    lines = [f"清册编号：{plan['plan_id']}　　计算截止日期：{chinese_date(date.fromisoformat(plan['as_of']))}　　"
             f"共 {plan['totals']['cases']} 卷，{plan['totals']['pages']} 页　　"
             f"编制：{plan['created_by']}（{clock.shown(plan['created_at'])}）",
             f"销毁依据：{plan['rule']}",
             f"清册摘要（plan.json 的 sha256）：{plan['plan_sha256']}"]
    head = plan.get("ledger_head")
    if head:
        lines[-1] += f"　　编制时台账末条：第 {head['seq']} 条 {head['entry_hash']}"
    return lines


def write_destruction_xlsx(plan: dict, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "销毁清册"
    width = len(LIST_HEADERS)
    last = get_column_letter(width)
    sheet.append([LIST_TITLE])
    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"].font = Font(size=16, bold=True)
    sheet["A1"].alignment = Alignment(horizontal="center")
    for line in _plan_header_lines(plan):
        sheet.append([line])
        row = sheet.max_row
        sheet.merge_cells(f"A{row}:{last}{row}")
        sheet.cell(row, 1).alignment = Alignment(wrap_text=True, vertical="top")
        sheet.row_dimensions[row].height = 32
    sheet.append(LIST_HEADERS)
    header_row = sheet.max_row
    thin = Side(style="thin")
    for rows in _list_rows(plan):
        sheet.append(rows)
    for row in sheet.iter_rows(min_row=header_row, max_row=sheet.max_row, max_col=width):
        for cell in row:
            cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            if cell.row == header_row:
                cell.font = Font(bold=True)
    sheet.append([])
    for label in APPROVAL_FIELDS:
        sheet.append([label])
        row = sheet.max_row
        sheet.merge_cells(f"A{row}:{last}{row}")
        sheet.row_dimensions[row].height = 30 if not label.startswith("鉴定") else 60
        sheet.cell(row, 1).alignment = Alignment(vertical="top")
    for col, w in enumerate([6, 22, 18, 30, 28, 24, 12, 9, 12, 7, 34], start=1):
        sheet.column_dimensions[get_column_letter(col)].width = w
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    book.properties.title = f"{LIST_TITLE} {plan['plan_id']}"
    book.properties.creator = "yuetan"
    with atomic_path(path) as tmp:
        book.save(tmp)


def write_destruction_docx(plan: dict, path: Path, *, fonts) -> None:
    """Landscape A4 list in code (no template to keep in step): title, basis, the table, approval fields."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    def font(run, name: str, size: float, bold: bool = False):
        run.font.name = name
        run.font.size = Pt(size)
        run.font.bold = bold
        r_fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
        r_fonts.set(qn("w:eastAsia"), name)

    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    section.left_margin = section.right_margin = Mm(15)
    section.top_margin = section.bottom_margin = Mm(18)
    doc.core_properties.title = f"{LIST_TITLE} {plan['plan_id']}"
    doc.core_properties.author = "yuetan"

    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    font(title.add_run(LIST_TITLE), fonts.title, 22, bold=True)
    for line in _plan_header_lines(plan):
        font(doc.add_paragraph().add_run(line), fonts.body, 10)

    widths = [12, 30, 25, 30, 28, 28, 21, 18, 21, 12, 42]
    table = doc.add_table(rows=1, cols=len(LIST_HEADERS))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for i, header in enumerate(LIST_HEADERS):
        cell = table.rows[0].cells[i]
        cell.text = ""
        font(cell.paragraphs[0].add_run(header), fonts.heading, 9, bold=True)
    _repeat_header(table.rows[0])
    for values in _list_rows(plan):
        cells = table.add_row().cells
        for i, value in enumerate(values):
            text = "" if value is None else str(value)
            if i == len(values) - 1:
                text = text[:32] + "\n" + text[32:]
            font(cells[i].paragraphs[0].add_run(text), fonts.body, 6.5 if i == len(values) - 1 else 9)
    for i, column in enumerate(table.columns):
        column.width = Mm(widths[i])          # the grid, which LibreOffice follows
    for row in table.rows:
        for i, cell in enumerate(row.cells):
            cell.width = Mm(widths[i])
    doc.add_paragraph()
    for label in APPROVAL_FIELDS:
        p = doc.add_paragraph()
        p.paragraph_format.space_after = Pt(16 if label.startswith("鉴定") else 10)
        font(p.add_run(label), fonts.body, 12)
    with atomic_path(path) as tmp:
        doc.save(tmp)


def _repeat_header(row) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tr_pr = row._tr.get_or_add_trPr()
    element = OxmlElement("w:tblHeader")
    element.set(qn("w:val"), "true")
    tr_pr.append(element)


def load_plan(path: Path) -> dict:
    """Read plan.json and check its own hash; a plan changed since it was written is refused."""
    path = Path(path)
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidArgument(f"销毁计划 {path} 不存在") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidArgument(f"销毁计划 {path} 无法解析（{exc}），拒绝执行") from None
    if not isinstance(plan, dict) or plan.get("format") != PLAN_FORMAT or not isinstance(plan.get("cases"), list):
        raise InvalidArgument(f"{path} 不是 yuetan 销毁计划（format 应为 {PLAN_FORMAT}），拒绝执行")
    if plan.get("plan_sha256") != plan_sha256(plan):
        raise InvalidArgument(f"销毁计划 {path} 在编制后被改动过（plan_sha256 与内容不符），拒绝执行；"
                              "请重新编制销毁计划并重新审批")
    return plan


# --- the purge -------------------------------------------------------------------------------------------

class PurgeStatus(str, Enum):
    purged = "已销毁"
    already = "此前已销毁，跳过"
    held = "冻结中，未销毁"
    not_due = "尚未到期，未销毁"
    changed = "计划编制后案件已更新，未销毁（请重新编制计划）"
    missing = "档案库中无此案件，未销毁"
    locked = "对象存储中的文件仍在锁定期内或处于法律保全，存储拒绝提前删除，未销毁"


@dataclass
class PurgeOutcome:
    case_id: str
    notice_number: str
    status: PurgeStatus
    deleted_blobs: int = 0
    kept_shared_blobs: int = 0
    index_removed: bool = False


@dataclass
class PurgeReport:
    plan_id: str
    plan_sha256: str
    approved_by: str
    kept_at: Path
    outcomes: list[PurgeOutcome] = field(default_factory=list)


def execute_plan(home: ArchiveHome, plan_path: Path, *, approved_by: str, actor: Actor,
                 today: date | None = None) -> PurgeReport:
    """Purge the approved plan's cases that are still purgeable (as of `today`) and not held.

    Running it again finishes what an interrupted run left and changes nothing else.
    """

    if not approved_by or not approved_by.strip():
        raise InvalidArgument("请用 --approved-by 写明批准人")
    approved_by = require_plain(approved_by.strip(), "批准人（--approved-by）")
    today = today or clock.today()
    plan_path = Path(plan_path)
    plan = load_plan(plan_path)
    with home.catalog() as catalog:
        known = catalog.plan(plan["plan_id"])
        if known is None:
            raise InvalidArgument(f"档案库中没有销毁计划 {plan['plan_id']} 的记录，拒绝执行"
                                  "（计划须由本档案库的 yuetan purge --plan 编制）")
        if known.plan_sha256 != plan["plan_sha256"]:
            raise InvalidArgument(f"销毁计划 {plan['plan_id']} 与编制时登记的摘要不符，拒绝执行")
        if approved_by == known.created_by:
            raise PermissionRefused(f"{approved_by} 编制了销毁计划 {plan['plan_id']}，不能又是它的批准人")
        kept_at = _keep_plan(home, plan, plan_path.parent, _planned_files(catalog, plan["plan_id"]))
        report = PurgeReport(plan["plan_id"], plan["plan_sha256"], approved_by, kept_at)
        for planned in plan["cases"]:
            report.outcomes.append(_purge_one(home, catalog, plan, planned, approved_by=approved_by, actor=actor,
                                              today=today))
        if known.executed_at is None:
            with catalog.transaction() as tx:
                catalog.mark_plan_executed(tx, plan["plan_id"], approved_by=approved_by, executed_at=_now())
    return report


def _planned_files(catalog: Catalog, plan_id: str) -> dict[str, str]:
    """{file name: sha256} of the 销毁清册 files as `purge --plan` wrote them (from its ledger entry)."""
    for entry in ledger.entries(catalog):
        if entry.action == "purge_plan" and entry.details.get("plan_id") == plan_id:
            return entry.details.get("files", {})
    return {}


def _keep_plan(home: ArchiveHome, plan: dict, folder: Path, files: dict[str, str]) -> Path:
    """Copy plan.json and the 销毁清册 into home/plans/<plan_id>/ before anything is deleted.

    The lists must be the files `purge --plan` wrote (their hashes are in its ledger entry): what is kept is
    what was approved.
    """
    dest = home.path / PLANS_DIR / plan["plan_id"]
    if (dest / PLAN_FILE).is_file():
        return dest
    for name in (LIST_XLSX, LIST_PDF):
        if not (folder / name).is_file():
            raise InvalidArgument(f"{folder / name} 不存在：执行销毁须把编制时的销毁清册与 plan.json 放在一起，"
                                  "以便随计划永久保存")
        if name in files and sha256_file(folder / name) != files[name]:
            raise InvalidArgument(f"{folder / name} 在编制后被改动过（与台账记录的摘要不符），拒绝执行")
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{plan['plan_id']}.", suffix=".partial", dir=dest.parent))
    try:
        for name in (LIST_XLSX, LIST_PDF):
            shutil.copyfile(folder / name, work / name)
            fsync_file(work / name)
        write_atomically(work / PLAN_FILE, json.dumps(plan, ensure_ascii=False, indent=1).encode("utf-8") + b"\n")
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(work, dest)
        fsync_dir(dest.parent)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def _purge_one(home: ArchiveHome, catalog: Catalog, plan: dict, planned: dict, *, approved_by: str, actor: Actor,
               today: date) -> PurgeOutcome:
    """Decide and record under the write lock, so a hold or a new version arriving meanwhile wins."""
    case_id = planned["case_id"]
    outcome = PurgeOutcome(case_id, planned.get("notice_number") or "", PurgeStatus.purged)
    with catalog.transaction() as tx:
        outcome.status, live = _purge_decision(catalog, plan, planned, today)
        if outcome.status is PurgeStatus.purged and _store_still_locked(home.blobs(), catalog, case_id):
            outcome.status = PurgeStatus.locked
        if outcome.status is PurgeStatus.purged:
            current = next((v for v in live if v.status == "current"), live[-1])
            blobs = sorted(set().union(*(catalog.case_shas(case_id, v.version) for v in live)))
            purged_at = _now()
            for version in live:
                catalog.record_tombstone_and_clear(tx, Tombstone.of_case(
                    version, plan_id=plan["plan_id"], plan_sha256=plan["plan_sha256"], approved_by=approved_by,
                    purged_at=purged_at))
            ledger.append(tx, action="purge", actor=actor, case_id=case_id,
                          details={"plan_id": plan["plan_id"], "plan_sha256": plan["plan_sha256"],
                                   "approved_by": approved_by, "notice_number": current.notice_number,
                                   "versions": [v.version for v in live],
                                   "manifest_sha256": current.manifest_sha256,
                                   "dossier_sha256": current.dossier_sha256, "blobs": blobs})
    if outcome.status is PurgeStatus.purged:
        crash_point("purge_after_catalog")
    if outcome.status in (PurgeStatus.purged, PurgeStatus.already):
        _finish_purged(home, catalog, case_id, outcome)
    return outcome


def _store_still_locked(store, catalog: Catalog, case_id: str) -> bool:
    """Would the object store refuse to delete a file only this case needs? Then nothing is recorded either:
    the catalog never says purged while the files must stay."""
    if not hasattr(store, "versions"):
        return False
    now = datetime.now(clock.CHINA)
    for sha, users in catalog.retention_terms().items():
        if any(user[0] != case_id for user in users) or all(user[0] != case_id for user in users):
            continue
        for version in store.versions(sha):
            if version.legal_hold or (version.retain_until is not None and version.retain_until > now):
                return True
    return False


def _purge_decision(catalog: Catalog, plan: dict, planned: dict, today: date) -> tuple[PurgeStatus, list]:
    """(status, versions still to purge) for one planned case, by the catalog as it is now."""
    versions = catalog.versions(planned["case_id"])
    live = [v for v in versions if v.status != "purged"]
    if not versions:
        return PurgeStatus.missing, []
    if not live:
        return PurgeStatus.already, []
    if catalog.active_holds(planned["case_id"]):
        return PurgeStatus.held, live
    current = next((v for v in live if v.status == "current"), live[-1])
    if current.manifest_sha256 != planned.get("manifest_sha256") or current.version != planned.get("version"):
        return PurgeStatus.changed, live
    closed_on = _as_date(current.closed_on)
    if closed_on is None or today < retention_dates(closed_on, plan["retention_years"])[1]:
        return PurgeStatus.not_due, live
    return PurgeStatus.purged, live


def _finish_purged(home: ArchiveHome, catalog: Catalog, case_id: str, outcome: PurgeOutcome) -> None:
    """Steps 2 and 3 for a purged case: its blobs that no other case needs, then its index entry.

    The blobs go under the catalog's write lock: an ingest that meanwhile records a case sharing one of them
    either commits first (and the blob is kept) or finds it gone inside its own transaction and puts it back.
    """
    store = home.blobs()
    from pipeline.pdf.upload_cache import upload_cache     # pikepdf's PDF/A stack, loaded only by what needs it

    cache = upload_cache(home)
    with catalog.transaction() as tx:
        catalog.lock_blob_deletions(tx)
        needed = catalog.referenced_shas(tx)
        for sha in purged_blobs(catalog, case_id):
            if sha in needed:
                outcome.kept_shared_blobs += 1
                continue
            if store.has(sha):
                store.delete(sha)
                outcome.deleted_blobs += 1
                crash_point("purge_after_first_blob")
            cache.forget(sha)     # what the upload was normalised into (and its name) goes with it
    crash_point("purge_after_blobs")
    outcome.index_removed = _remove_from_index(home, case_id)


def purged_blobs(catalog, case_id: str) -> list[str]:
    """The blobs a purged case had, as its 'purge' ledger entries name them."""
    shas: set[str] = set()
    for entry in ledger.entries(catalog, case_id=case_id):
        if entry.action == "purge":
            shas.update(entry.details.get("blobs", []))
    return sorted(shas)


def _remove_from_index(home: ArchiveHome, case_id: str) -> bool:
    index_dir = home.index_dir
    if not index_dir.exists():
        return False
    from pipeline.search import index

    with file_lock(home.index_lock, shared=True):
        index.remove_case(index_dir, case_id)
    return True


# --- what `show` and `audit` need -------------------------------------------------------------------------

def tombstone_summary(home: ArchiveHome, case_or_number: str) -> dict | None:
    """The tombstone of a purged case (by case_id or notice number), or None if it was never purged."""
    with home.catalog() as catalog:
        stones = [t for t in catalog.tombstones()
                  if case_or_number in (t.case_id, t.notice_number)]
    if not stones:
        return None
    latest = max(stones, key=lambda t: t.version)
    summary = {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(latest).items()}
    summary["versions"] = sorted(t.version for t in stones)
    summary["status"] = "purged"
    return summary


def purge_leftovers(home: ArchiveHome) -> list[str]:
    """What an interrupted purge left (Chinese, one line each): blobs only purged cases need, index entries."""
    problems = []
    store = home.blobs()
    from pipeline.pdf.upload_cache import upload_cache     # pikepdf's PDF/A stack, loaded only by what needs it

    cache = upload_cache(home)
    with home.catalog(check_head=False) as catalog:     # part of audit, which reports a mismatched catalog
        needed = catalog.referenced_shas()
        purged_ids = sorted({t.case_id for t in catalog.tombstones()} - {r.case_id for r in catalog.all_cases()
                                                                          if r.status != "purged"})
        for case_id in purged_ids:
            for sha in purged_blobs(catalog, case_id):
                if sha not in needed and store.has(sha):
                    problems.append(f"已销毁案件 {case_id} 的文件 {sha} 仍在档案库中（销毁未完成，"
                                    "请重新运行 yuetan purge --execute 同一计划）")
                if sha not in needed and cache.holds(sha):
                    problems.append(f"已销毁案件 {case_id} 的上传材料 {sha} 仍在规范化缓存中（销毁未完成，"
                                    "请重新运行 yuetan purge --execute 同一计划）")
    index_dir = home.index_dir
    if purged_ids and index_dir.exists():
        from pipeline.search import index

        for case_id in sorted(set(index.indexed_case_ids(index_dir)) & set(purged_ids)):
            problems.append(f"已销毁案件 {case_id} 仍在检索索引中（请重新运行 yuetan purge --execute 同一计划，"
                            "或运行 yuetan reindex）")
    return problems


# --- small helpers ---------------------------------------------------------------------------------------

def _as_date(value) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _now() -> datetime:
    return clock.now()


def _move_files_into(work: Path, dest: Path, names: list[str]) -> None:
    """Rename each file into `dest` (same filesystem), the plan last, so a plan.json means a complete set."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        os.replace(work / name, dest / name)
    fsync_dir(dest)
