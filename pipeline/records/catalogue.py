"""The year's catalogue (案卷目录 / 归档文件目录, DA/T 22-2015 5.5, GB/T 9705): one row per 档号 given for cases
closed that year, in 档号 order, as XLSX and as an A4 landscape PDF/A.

Every code of the register appears, so the numbers run on without a gap the catalogue does not explain: a purged
case keeps its row (备注: destroyed, with the plan), a number reserved by a build that was never stored says so.
Cases stored before 档号 existed (catalog schema < 3) follow at the end with an empty 档号.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from archive_store.arrangement import registered_codes
from archive_store.durable import atomic_path
from archive_store.errors import InvalidArgument
from archive_store.home import ArchiveHome
from pipeline.documents import render

HEADERS = ["序号", "档号", "文号", "责任者", "题名", "起止日期", "页数", "保管期限", "备注"]
WIDTHS = [6, 30, 24, 24, 34, 20, 7, 9, 24]


@dataclass(frozen=True)
class CatalogueRow:
    seq: int
    archival_code: str
    number: str            # 文号 (the notice number)
    responsible: str       # 责任者 (the organizer)
    title: str
    period: str            # 起止日期, 8-digit dates (DA/T 22: 以 8 位阿拉伯数字标注)
    pages: int | str
    retention: str
    note: str
    case_id: str = ""
    dossier_sha256: str = ""
    manifest_sha256: str = ""
    stored: bool = False   # a current case whose dossier the archive holds

    def cells(self) -> list:
        return [self.seq, self.archival_code, self.number, self.responsible, self.title, self.period, self.pages,
                self.retention, self.note]

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Catalogue:
    year: int
    title: str
    fonds_code: str
    fonds_name: str
    rows: list[CatalogueRow]

    @property
    def pages(self) -> int:
        return sum(r.pages for r in self.rows if isinstance(r.pages, int))

    @property
    def stored(self) -> list[CatalogueRow]:
        return [r for r in self.rows if r.stored]


def catalogue_title(home: ArchiveHome) -> str:
    return "约谈档案" + ("案卷目录" if home.settings.arrangement.unit == "卷" else "归档文件目录")


def year_catalogue(home: ArchiveHome, year: int) -> Catalogue:
    """Every 档号 of the cases closed in `year`, with what the catalog and the store say of each."""
    if not 1900 <= year <= 2999:
        raise InvalidArgument(f"年度 {year} 无效：应为四位年份，如 2025")
    settings = home.settings.arrangement
    retention = f"{home.settings.retention_years}年"
    blobs = home.blobs()
    rows: list[CatalogueRow] = []
    fonds_names: list[str] = []
    with home.catalog() as catalog:
        tombstones = {t.case_id: t for t in catalog.tombstones()}
        entries: list[tuple[str, object]] = [(c.code, c.case_id) for c in registered_codes(catalog, year=year)]
        coded = {case_id for _, case_id in entries}
        entries += [("", r.case_id) for r in catalog.all_cases(status="current")
                    if r.archival_code is None and r.closed_on.year == year and r.case_id not in coded]
        for seq, (code, case_id) in enumerate(entries, start=1):
            record = catalog.current(case_id) or next(
                (v for v in reversed(catalog.versions(case_id)) if v.status != "purged"), None)
            if record is None:
                stone = tombstones.get(case_id)
                if stone is not None:
                    rows.append(CatalogueRow(
                        seq, code, stone.notice_number, stone.organizer, f"{stone.target_name}约谈案卷",
                        _period(None, stone.closed_on), stone.page_count, retention,
                        f"已于{stone.purged_at:%Y-%m-%d}按销毁清册 {stone.plan_id} 销毁", case_id=case_id))
                else:
                    rows.append(CatalogueRow(seq, code, "", "", "", "", "", retention,
                                             f"档号已编定（案件 {case_id}），案件未入库", case_id=case_id))
                continue
            fonds_names.append(record.organizer)
            case = json.loads(blobs.read_bytes(record.case_json_sha256))
            issued = case.get("notice", {}).get("issued_on")
            notes = []
            if not code:
                notes.append("本功能启用前入库，未编档号")
            if record.version > 1:
                notes.append(f"第{record.version}版（更正）")
            if catalog.is_held(case_id):
                notes.append("保全中")
            rows.append(CatalogueRow(
                seq, code, record.notice_number, record.organizer, f"{record.target_name}约谈案卷",
                _period(date.fromisoformat(issued) if issued else None, record.closed_on), record.page_count,
                retention, "；".join(notes), case_id=case_id, dossier_sha256=record.dossier_sha256,
                manifest_sha256=record.manifest_sha256, stored=record.status == "current"))
    name = settings.fonds_name or (max(set(fonds_names), key=fonds_names.count) if fonds_names else "")
    return Catalogue(year=year, title=catalogue_title(home), fonds_code=settings.fonds_code, fonds_name=name,
                     rows=rows)


def write_catalogue(home: ArchiveHome, catalogue: Catalogue, dest: Path, *, converter=None,
                    in_archive: bool = False) -> Path:
    """.xlsx (openpyxl) or .pdf (templates/案卷目录.docx through LibreOffice, PDF/A), by the extension; written
    whole or not at all. `dest` is a user's (-o), never inside the archive, unless `in_archive`: the archive
    writing a handover it keeps (handover.keep_handover)."""
    dest = Path(dest)
    suffix = dest.suffix.lower()
    if suffix not in (".xlsx", ".pdf"):
        raise InvalidArgument(f"案卷目录的输出文件 {dest} 的扩展名应为 .xlsx 或 .pdf")
    if dest.is_dir():
        raise InvalidArgument(f"{dest} 是文件夹：请给出 .xlsx 或 .pdf 文件名")
    if not in_archive:
        dest = home.output_file(dest)       # never among the archive's own files
    if suffix == ".xlsx":
        with atomic_path(dest) as tmp:
            write_xlsx(catalogue, tmp)
    else:                       # the converter writes its PDF/A under a temporary name and renames it
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_pdf(home, catalogue, dest, converter=converter)
    return dest


def header_line(catalogue: Catalogue) -> str:
    return (f"全宗号：{catalogue.fonds_code}　　全宗名称：{catalogue.fonds_name}　　年度：{catalogue.year}　　"
            f"共{len(catalogue.rows)}条，{catalogue.pages}页")


def write_xlsx(catalogue: Catalogue, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = f"{catalogue.year}年度"
    last = get_column_letter(len(HEADERS))
    sheet.append([catalogue.title])
    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"].font = Font(size=16, bold=True)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append([header_line(catalogue)])
    sheet.merge_cells(f"A2:{last}2")
    sheet["A2"].alignment = Alignment(horizontal="center")
    sheet.append(HEADERS)
    thin = Side(style="thin")
    for row in catalogue.rows:
        sheet.append(row.cells())
    for row in sheet.iter_rows(min_row=3, max_row=sheet.max_row, max_col=len(HEADERS)):
        for cell in row:
            cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            if cell.row == 3:
                cell.font = Font(bold=True)
    for col, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = width
    sheet.print_title_rows = "3:3"
    sheet.freeze_panes = "A4"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    book.properties.title = f"{catalogue.title} {catalogue.fonds_code} {catalogue.year}"
    book.properties.creator = "yuetan"
    book.save(path)


def read_xlsx(path: Path) -> tuple[list[str], list[list]]:
    """The header and rows of a catalogue written by `write_xlsx` (as the receiving side reads it)."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    try:
        values = [list(r) for r in book.active.iter_rows(values_only=True)]
    finally:
        book.close()
    header_at = next(i for i, r in enumerate(values) if r[:len(HEADERS)] == HEADERS)
    return HEADERS, [r[:len(HEADERS)] for r in values[header_at + 1:] if any(v is not None for v in r)]


def write_pdf(home: ArchiveHome, catalogue: Catalogue, path: Path, *, converter=None) -> None:
    from pipeline.pdf.pdfa import pdfa_converter

    fonts = render.DocumentFonts(title=home.settings.fonts.title, body=home.settings.fonts.body,
                                 heading=home.settings.fonts.heading)
    with tempfile.TemporaryDirectory(prefix="yuetan-catalogue-") as tmp:
        docx = render.render_template(render.CATALOGUE, {
            "title": catalogue.title, "fonds_code": catalogue.fonds_code, "fonds_name": catalogue.fonds_name,
            "year": catalogue.year, "count": len(catalogue.rows), "pages": catalogue.pages,
            "rows": [{k: ("" if v is None else v) for k, v in r.as_dict().items()} for r in catalogue.rows],
        }, Path(tmp), fonts=fonts)
        if converter is None:
            with pdfa_converter() as own:
                own.convert_to_pdfa(docx, path)
        else:
            converter.convert_to_pdfa(docx, path)


def _period(start: date | None, end: date) -> str:
    end_text = f"{end:%Y%m%d}"
    return f"{start:%Y%m%d}-{end_text}" if start and start != end else end_text
