"""Rendering the official documents (约谈通知书, 约谈记录, 案卷封面, 卷内文件目录, 备考表) from the DOCX templates.

The templates in templates/ hold the fixed wording (the form of the Measures' attachment); this module
only turns the case into strings: Chinese dates, labels, numbered facts. Fonts come from the archive
settings and are set on every style and run, so a bureau can switch to 方正小标宋/仿宋_GB2312.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path

import threading
from collections import OrderedDict

from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docxtpl import DocxTemplate
from jinja2 import Environment

from archive_store import clock
from archive_store.durable import atomic_path
from archive_store.home import DocumentFontNames
from pipeline.case.contract import (
    FINDING_SOURCE_LABELS,
    ROLE_LABELS,
    AttendeeRole,
    Case,
    InterviewMode,
    InvitedCapacity,
    RecordSignature,
    TargetKind,
)
from pipeline.case.findings import SEVERITY_LABELS, Finding

TEMPLATES = Path(str(resources.files("pipeline.documents") / "templates"))   # package data (see pyproject)

NOTICE = "约谈通知书"
RECORD = "约谈记录"
COVER = "案卷封面"
FILE_LIST = "卷内文件目录"
REMARKS = "备考表"
REMARKS_CONTINUED = "备考表续页"
STAMP = "归档章"
CATALOGUE = "案卷目录"
HANDOVER_FORM = "移交清单"

MODE_LABELS = {InterviewMode.onsite: "现场约谈", InterviewMode.video: "视频会议"}
INVITED_LABELS = {InvitedCapacity.expert: "专家", InvitedCapacity.legal_counsel: "法律顾问",
                  InvitedCapacity.other_department: "其他行政部门"}
# 第十条 names the section head "相关科（股）室主要负责人"; the record lists the role itself.
ATTENDEE_ROLE_LABELS = {**ROLE_LABELS, AttendeeRole.section_head: "科（股）室主要负责人"}

MEASURES = "《江西省检验检测领域监督检查工作约谈实施办法（试行）》"
SIGNATURE_STATEMENTS = {
    RecordSignature.signed: "本记录经约谈组织方与约谈对象核对无误，由双方签字确认。",
    RecordSignature.refused: f"约谈对象拒绝签字。依据{MEASURES}第十四条第（六）项，在本记录上载明；"
                             "依据第十五条，视为拒绝落实监管要求，对其实施重点监管。",
    RecordSignature.absent: f"约谈对象无正当理由未参加约谈。依据{MEASURES}第十五条，视为拒绝落实监管要求，"
                            "对其实施重点监管。",
}
TARGET_SIGNATURE = {RecordSignature.signed: "", RecordSignature.refused: "（约谈对象拒绝签字）",
                    RecordSignature.absent: "（约谈对象无正当理由未参加约谈）"}

# Template style id → font role; any other style (one a bureau adds) gets the body font.
TITLE_STYLES = {"YtTitle"}
HEADING_STYLES = {"YtHeading1"}
CLOSING_PUNCTUATION = "。；！？.;!?"


DocumentFonts = DocumentFontNames     # the fonts of yuetan.toml's [documents]: title, body, heading


@dataclass(frozen=True)
class ArchiveStamp:
    """One 归档章's six cells (DA/T 22-2015): 全宗号, 年度, 件号 (卷号) / 机构（问题）, 保管期限, 页数."""

    fonds: str
    year: str
    number: str
    organization: str
    retention: str
    pages: str


@dataclass(frozen=True)
class FileListEntry:
    seq: int
    responsible: str
    number: str
    title: str
    dated: date | None
    first_page: int
    last_page: int
    note: str


# --- the five documents -------------------------------------------------------------------------------

def render_notice(case: Case, number: str, work: Path, *, fonts: DocumentFonts) -> Path:
    """约谈通知书 in the wording of the Measures' attachment, the variant for the target's kind."""
    return _render(NOTICE, notice_context(case, number), work, fonts)


def render_record(case: Case, number: str, work: Path, *, fonts: DocumentFonts) -> Path:
    """约谈记录 with what 第十四条 and 第十九条 require."""
    return _render(RECORD, record_context(case, number), work, fonts)


def render_cover(case: Case, number: str, work: Path, *, archived_on: date, retention_years: int,
                 fonts: DocumentFonts, archival_code: str = "", fonds_name: str = "", document_count: int = 0,
                 page_count: int = 0) -> Path:
    """案卷封面 (GB/T 9705): 全宗名称, 档号, the 卷's title, dates, retention, extent."""
    return _render(COVER, {
        "title": f"{case.target.name}约谈案卷", "organizer": case.organizer.name, "number": number,
        "fonds_name": fonds_name or case.organizer.name, "archival_code": archival_code,
        "target_name": case.target.name,
        "period": f"{chinese_date(case.notice.issued_on)}至{chinese_date(case.closed_on)}",
        "retention": f"{retention_years}年", "extent": f"{document_count}件，{page_count}页",
        "archived_on": chinese_date(archived_on), "case_id": case.case_id,
    }, work, fonts)


def render_file_list(case: Case, number: str, entries: list[FileListEntry], work: Path, *,
                     fonts: DocumentFonts, archival_code: str = "") -> Path:
    rows = [{"seq": e.seq, "responsible": e.responsible, "number": e.number, "title": e.title,
             "dated": chinese_date(e.dated) if e.dated else "", "pages": page_range(e.first_page, e.last_page),
             "note": e.note} for e in entries]
    return _render(FILE_LIST, {"number": number, "target_name": case.target.name, "entries": rows,
                               "archival_code": archival_code}, work, fonts)


def render_remarks(case: Case, findings: list[Finding], work: Path, *, page_count: int, manifest_sha256: str,
                   notes: list[str], filed_by: str, checked_by: str, filed_on: date,
                   fonts: DocumentFonts, archival_code: str = "", document_count: int = 0,
                   conversions: list[str] | None = None, condensed: bool = False) -> Path:
    """备考表: extent, procedure findings with their articles, notes (removed content, ...), how each upload was
    converted (the normalisation ladder's rung, and why the rungs before it failed), the manifest hash;
    立卷人, 检查人, 立卷日期 at its foot. `condensed`: findings, notes and conversions only counted, their detail
    on the 续页 (`render_remarks_continued`), so that the 备考表 stays one page."""
    finding_lines, note_lines = remarks_lines(findings, notes)
    conversion_lines = conversions_lines(conversions or [])
    if condensed:
        finding_lines = [condensed_findings(findings)]
        note_lines = [f"共{len(notes)}条，逐条见备考表（续页）。"] if notes else ["无。"]
        if conversions:
            conversion_lines = [f"上传材料{len(conversions)}件，逐件见备考表（续页）。"]
    return _render(REMARKS, {
        "subtitle": f"{case.target.name}（{case.case_id}）", "page_count": page_count,
        "document_count": document_count, "archival_code": archival_code,
        "findings": finding_lines, "notes": note_lines, "conversions": conversion_lines,
        "manifest_sha256": manifest_sha256,
        "filed_by": filed_by, "checked_by": checked_by, "filed_on": chinese_date(filed_on),
    }, work, fonts)


def render_remarks_continued(case: Case, findings: list[Finding], work: Path, *, notes: list[str],
                             fonts: DocumentFonts, archival_code: str = "",
                             conversions: list[str] | None = None) -> Path:
    """备考表（续页）: the findings, notes and conversions the condensed 备考表 refers to, in full."""
    finding_lines, note_lines = remarks_lines(findings, notes)
    return _render(REMARKS_CONTINUED, {
        "subtitle": f"{case.target.name}（{case.case_id}）", "archival_code": archival_code,
        "findings": finding_lines if findings else [], "notes": note_lines if notes else [],
        "conversions": conversions_lines(conversions or []) if conversions else [],
    }, work, fonts)


def remarks_lines(findings: list[Finding], notes: list[str]) -> tuple[list[str], list[str]]:
    finding_lines = [f"{i}.［{SEVERITY_LABELS[f.severity]}］{f.article}：{with_full_stop(f.message)}"
                     for i, f in enumerate(findings, start=1)] or ["未发现程序问题。"]
    note_lines = [f"{i}.{with_full_stop(n)}" for i, n in enumerate(notes, start=1)] or ["无。"]
    return finding_lines, note_lines


def conversions_lines(conversions: list[str]) -> list[str]:
    return [f"{i}.{with_full_stop(c)}" for i, c in enumerate(conversions, start=1)] or ["无上传材料。"]


def condensed_findings(findings: list[Finding]) -> str:
    """发现程序问题6项（严重2项，一般4项），逐项见备考表（续页）。"""
    if not findings:
        return "未发现程序问题。"
    counts: dict[str, int] = {}
    for f in findings:
        label = SEVERITY_LABELS[f.severity]
        counts[label] = counts.get(label, 0) + 1
    detail = "，".join(f"{label}{n}项" for label, n in counts.items())
    return f"发现程序问题{len(findings)}项（{detail}），逐项见备考表（续页）。"


def render_stamps(stamps: list[ArchiveStamp], work: Path, *, fonts: DocumentFonts) -> Path:
    """归档章.docx: one stamp a page, in the order given."""
    return _render(STAMP, {"stamps": [vars(s) for s in stamps]}, work, fonts)


def render_template(name: str, context: dict, work: Path, *, fonts: DocumentFonts) -> Path:
    """Any other template of templates/ (案卷目录, 移交清单) with the archive's fonts."""
    return _render(name, context, work, fonts)


# --- contexts -------------------------------------------------------------------------------------------

def notice_context(case: Case, number: str) -> dict:
    institution = case.target.kind == TargetKind.institution
    facts = [fact for ground in case.grounds for fact in ground.facts]
    materials = case.notice.materials
    return {
        "number": number,
        "kind": case.target.kind.value,
        "target_name": case.target.name,
        "principal_name": case.target.principal.name,
        "principal_phone": case.target.principal.phone,
        "collective_only": case.collective is not None and not facts,
        "campaign": case.collective.campaign if case.collective else "",
        "activity": activity_phrase(case.activity) if institution else "",
        "finding_source": FINDING_SOURCE_LABELS[case.finding_source],
        "facts": numbered(facts),
        "interview_time": chinese_datetime(case.interview.scheduled_at),
        "place": place(case),
        "materials": "、".join(materials) if materials else "",
        "organizer": case.organizer.name,
        "issued_on": chinese_date(case.notice.issued_on),
        "contact_name": case.organizer.contact.name,
        "contact_phone": case.organizer.contact.phone,
        "cc": "，".join(case.notice.cc),
    }


def record_context(case: Case, number: str) -> dict:
    interview = case.interview
    proceedings = interview.proceedings
    held = interview.held_at or interview.scheduled_at
    return {
        "number": number,
        "kind": case.target.kind.value,
        "interview_time": chinese_datetime(held),
        "place": place(case),
        "mode": MODE_LABELS[interview.mode],
        "organizer": case.organizer.name,
        "target_name": case.target.name,
        "host": person(interview.host.name, interview.host.title),
        "recorder": person(interview.recorder.name, interview.recorder.title),
        "organizer_staff": listing(person(p.name, p.title) for p in interview.organizer_staff),
        "attendees": listing(person(a.name, ATTENDEE_ROLE_LABELS[a.role], a.title) for a in interview.attendees),
        "local_bureau_attendees": listing(person(a.name, a.title) for a in interview.local_bureau_attendees),
        "invited": listing(person(i.name, i.affiliation, INVITED_LABELS[i.capacity]) for i in interview.invited),
        "recusals": listing(person(r.name, r.reason) for r in interview.recusals),
        "purpose_and_basis": proceedings.purpose_and_basis,
        "issues_and_evidence": proceedings.issues_and_evidence,
        "statement": proceedings.statement,
        "opinions": proceedings.opinions,
        "requirements": numbered(proceedings.requirements),
        "deadline": f"{chinese_date(proceedings.deadline)}前" if proceedings.deadline else "见处理意见",
        "commitment": proceedings.commitment,
        "signature_statement": SIGNATURE_STATEMENTS[interview.record_signature],
        "target_signature": TARGET_SIGNATURE[interview.record_signature],
        "interview_date": chinese_date(clock.in_china(held).date()),
    }


# --- wording helpers ---------------------------------------------------------------------------------

def chinese_date(day: date) -> str:
    """GB/T 9704 dates: Arabic numerals, no leading zeros — 2025年7月15日."""
    return f"{day.year}年{day.month}月{day.day}日"


def chinese_datetime(moment: datetime) -> str:
    """2025年7月15日上午9时30分; 下午 from 12:00 on a 12-hour clock (下午3时); minutes left out when 0."""
    local = clock.in_china(moment)
    half = "上午" if local.hour < 12 else "下午"
    hour = local.hour if local.hour <= 12 else local.hour - 12
    minutes = f"{local.minute}分" if local.minute else ""
    return f"{chinese_date(local.date())}{half}{hour}时{minutes}"


def activity_phrase(activity: str | None) -> str:
    """The form's “XX检验检测活动”: the case's activity, with 活动 added when it does not say so."""
    if not activity:
        return "检验检测活动"
    return activity if activity.endswith("活动") else f"{activity}活动"


def place(case: Case) -> str:
    interview = case.interview
    return f"{interview.venue}（地址：{interview.address}）" if interview.address else interview.venue


def with_full_stop(text: str) -> str:
    return text if text and text[-1] in CLOSING_PUNCTUATION else f"{text}。"


def numbered(items: list[str]) -> list[str]:
    return [f"{i}.{with_full_stop(item)}" for i, item in enumerate(items, start=1)]


def person(name: str, *details: str) -> str:
    """张建国（法定代表人，总经理）; a detail repeating the one before it is left out."""
    shown = []
    for d in details:
        if d and d not in shown:
            shown.append(d)
    return f"{name}（{'，'.join(shown)}）" if shown else name


def listing(people) -> str:
    return "；".join(people) or "无"


def page_range(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


# --- the template machinery --------------------------------------------------------------------------

class _CompiledTemplates(Environment):
    """Jinja with each template part compiled once per process: docxtpl compiles the part's whole XML at every
    render (a fifth of the time of a render), though a template's XML is the same every time."""

    def __init__(self, size: int = 64):
        super().__init__(autoescape=True)
        self._compiled: OrderedDict = OrderedDict()
        self._guard = threading.Lock()
        self._size = size

    def from_string(self, source, globals=None, template_class=None):
        if globals is not None or template_class is not None:
            return super().from_string(source, globals, template_class)
        with self._guard:
            compiled = self._compiled.get(source)
            if compiled is not None:
                self._compiled.move_to_end(source)
                return compiled
        compiled = super().from_string(source)
        with self._guard:
            self._compiled[source] = compiled
            while len(self._compiled) > self._size:
                self._compiled.popitem(last=False)
        return compiled


_JINJA = _CompiledTemplates()


def _render(name: str, context: dict, work: Path, fonts: DocumentFonts) -> Path:
    """Render templates/<name>.docx into work/<name>.docx (temp name, fsync, rename)."""
    template = TEMPLATES / f"{name}.docx"
    tpl = DocxTemplate(template)
    tpl.render(context, jinja_env=_JINJA, autoescape=True)
    apply_fonts(tpl.docx, fonts)
    dest = Path(work) / f"{name}.docx"
    with atomic_path(dest) as tmp:
        tpl.save(tmp)
    return dest


def font_role(style_id: str | None, fonts: DocumentFonts) -> str:
    if style_id in TITLE_STYLES:
        return fonts.title
    if style_id in HEADING_STYLES:
        return fonts.heading
    return fonts.body


_W_RPR, _W_RFONTS, _W_RSTYLE = qn("w:rPr"), qn("w:rFonts"), qn("w:rStyle")
_THEME_ATTRS = tuple(qn(f"w:{a}") for a in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"))
_NAME_ATTRS = tuple(qn(f"w:{a}") for a in ("ascii", "hAnsi", "eastAsia", "cs"))


def set_run_fonts(rpr, name: str) -> None:
    """w:ascii, w:hAnsi, w:eastAsia and w:cs to `name`; theme fonts (which win over names) removed.
    rFonts goes where the schema puts it, first in w:rPr after any w:rStyle (python-docx's get_or_add_rFonts
    finds that place by looking for each of forty possible successors: half the time of a render)."""
    fonts = rpr.find(_W_RFONTS)
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(1 if len(rpr) and rpr[0].tag == _W_RSTYLE else 0, fonts)
    for attr in _THEME_ATTRS:
        fonts.attrib.pop(attr, None)
    for attr in _NAME_ATTRS:
        fonts.set(attr, name)


def _run_properties(r):
    """The run's w:rPr, made as its first child when it has none (as the schema orders a run)."""
    rpr = r.find(_W_RPR)
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        r.insert(0, rpr)
    return rpr


def apply_fonts(document, fonts: DocumentFonts) -> None:
    """The settings' fonts on the document defaults, every style (table-style parts too) and every run."""
    styles = document.styles.element
    for rpr in styles.iterfind(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}"):
        set_run_fonts(rpr, fonts.body)
    for style in styles.iterfind(qn("w:style")):
        name = font_role(style.get(qn("w:styleId")), fonts)
        if style.get(qn("w:type")) in ("paragraph", "character"):
            set_run_fonts(style.get_or_add_rPr(), name)
        for rpr in style.iter(qn("w:rPr")):
            set_run_fonts(rpr, name)
    for part_element in _story_elements(document):
        for p in part_element.iter(qn("w:p")):
            name = font_role(_paragraph_style_id(p), fonts)
            for r in p.iter(qn("w:r")):
                set_run_fonts(_run_properties(r), name)


def _story_elements(document):
    yield document.element.body
    for section in document.sections:
        for part in (section.header, section.footer, section.first_page_header, section.first_page_footer,
                     section.even_page_header, section.even_page_footer):
            if not part.is_linked_to_previous:
                yield part._element


def _paragraph_style_id(p) -> str | None:
    ppr = p.find(qn("w:pPr"))
    if ppr is None:
        return None
    style = ppr.find(qn("w:pStyle"))
    return style.get(qn("w:val")) if style is not None else None
