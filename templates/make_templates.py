"""Generate the DOCX templates of the official documents, so that they are reproducible.

Run: .venv/bin/python templates/make_templates.py   (writes the .docx files next to this script)

The templates are what a bureau's staff edit in Word or WPS: plain paragraphs with named styles and
docxtpl's Jinja tags ({{ }}, {%p %} paragraphs, {%tr %} table rows), no text boxes. Layout per
GB/T 9704-2012: A4, top 37 mm, binding side 28 mm, text area 156 x 225 mm, 22 lines x 28 characters,
title 2号 bold (小标宋 stand-in), body 3号 (仿宋 stand-in), first-level headings 3号 黑体 stand-in.
Font names here are only defaults; pipeline/render.py sets those of the archive settings on every run.
"""
from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

HERE = Path(__file__).resolve().parent
FIXED_TIME = datetime(2025, 7, 7)        # the Measures' date

TITLE_FONT = "Noto Serif CJK SC"
BODY_FONT = "Noto Serif CJK SC"
HEADING_FONT = "Noto Sans CJK SC"

BODY_SIZE = Pt(16)                      # 3号
TITLE_SIZE = Pt(22)                     # 2号
LINE_PITCH = Pt(28.95)                  # 225 mm / 22 lines
LINE_PITCH_TWIPS = 579
CHAR_SPACING_TWIPS = -5                 # 156 mm / 28 = 15.79 pt a character: 16 pt glyphs, -0.25 pt spacing
INDENT_2CHARS = Pt(32)

# Style ids: pipeline/render.py picks the font for a paragraph by its style id.
STYLES = {
    # id: (name, font role, size, bold, alignment, first-line indent)
    "YtTitle": ("公文标题", "title", TITLE_SIZE, True, WD_ALIGN_PARAGRAPH.CENTER, None),
    "YtNumber": ("公文文号", "body", BODY_SIZE, False, WD_ALIGN_PARAGRAPH.CENTER, None),
    "YtHeading1": ("公文一级标题", "heading", BODY_SIZE, False, WD_ALIGN_PARAGRAPH.JUSTIFY, INDENT_2CHARS),
    "YtField": ("公文事项", "body", BODY_SIZE, False, WD_ALIGN_PARAGRAPH.LEFT, None),
    "YtSignature": ("公文署名", "body", BODY_SIZE, False, WD_ALIGN_PARAGRAPH.RIGHT, None),
    "YtCopy": ("公文版记", "body", Pt(14), False, WD_ALIGN_PARAGRAPH.LEFT, None),
    "YtTable": ("表格文字", "body", Pt(10.5), False, WD_ALIGN_PARAGRAPH.CENTER, None),
    "YtDigest": ("清单摘要", "body", Pt(12), False, WD_ALIGN_PARAGRAPH.LEFT, None),
    "YtStamp": ("归档章文字", "body", Pt(8), False, WD_ALIGN_PARAGRAPH.CENTER, None),
}


# Child order of w:pPr and w:rPr (ECMA-376 CT_PPrBase, CT_RPr): Word refuses elements out of order.
PPR_ORDER = ("w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr", "w:widowControl",
             "w:numPr", "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs", "w:suppressAutoHyphens",
             "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN",
             "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing",
             "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
             "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")

RPR_ORDER = ("w:rStyle", "w:rFonts", "w:b", "w:bCs", "w:i", "w:iCs", "w:caps", "w:smallCaps", "w:strike",
             "w:dstrike", "w:outline", "w:shadow", "w:emboss", "w:imprint", "w:noProof", "w:snapToGrid",
             "w:vanish", "w:webHidden", "w:color", "w:spacing", "w:w", "w:kern", "w:position", "w:sz", "w:szCs",
             "w:highlight", "w:u", "w:effect", "w:bdr", "w:shd", "w:fitText", "w:vertAlign", "w:rtl", "w:cs",
             "w:em", "w:lang", "w:eastAsianLayout", "w:specVanish", "w:oMath")


def put(parent, tag: str, order: tuple[str, ...], **attrs):
    """Add (or replace) child `tag` of `parent` at its schema place, with the given w: attributes."""
    old = parent.find(qn(tag))
    if old is not None:
        parent.remove(old)
    element = OxmlElement(tag)
    for key, value in attrs.items():
        element.set(qn(f"w:{key}"), value)
    later = order[order.index(tag) + 1:]
    parent.insert_element_before(element, *later)
    return element


def set_fonts(rpr_parent, name: str) -> None:
    """Latin and East Asian font of a style or run (python-docx sets only the Latin ones)."""
    fonts = rpr_parent.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)


def new_document() -> Document:
    doc = Document()
    section = doc.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.header_distance, section.footer_distance = Mm(15), Mm(20)
    grid = section._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        section._sectPr.append(grid)
    # A line grid only: LibreOffice spreads characters apart under Word's character grid, which also
    # breaks the text pdftotext reads back; 28 characters a line come from the character spacing.
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(LINE_PITCH_TWIPS))
    define_styles(doc)
    body = doc.element.body
    for p in list(body.iterchildren(qn("w:p"))):
        body.remove(p)
    return doc


def define_styles(doc: Document) -> None:
    normal = doc.styles["Normal"]
    normal.font.size = BODY_SIZE
    set_fonts(normal.element, BODY_FONT)
    rpr = normal.element.get_or_add_rPr()
    put(rpr, "w:spacing", RPR_ORDER, val=str(CHAR_SPACING_TWIPS))
    # No w:lang zh-CN: under it LibreOffice hangs closing punctuation into the right margin.
    pf = normal.paragraph_format
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = LINE_PITCH
    pf.space_before = pf.space_after = Pt(0)
    pf.first_line_indent = INDENT_2CHARS
    pf.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    pf.widow_control = False
    ppr = normal.element.get_or_add_pPr()
    for name in ("w:autoSpaceDE", "w:autoSpaceDN"):     # no extra gap between Chinese and Arabic numerals
        put(ppr, name, PPR_ORDER, val="0")
    put(ppr, "w:overflowPunct", PPR_ORDER, val="0")     # no punctuation hanging into the margin
    roles = {"title": TITLE_FONT, "body": BODY_FONT, "heading": HEADING_FONT}
    for style_id, (name, role, size, bold, align, indent) in STYLES.items():
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.element.set(qn("w:styleId"), style_id)
        style.base_style = normal
        style.quick_style = True
        style.font.size = size
        style.font.bold = bold
        set_fonts(style.element, roles[role])
        spf = style.paragraph_format
        spf.alignment = align
        spf.first_line_indent = indent if indent is not None else Pt(0)
        if style_id in ("YtTable", "YtDigest", "YtCopy", "YtStamp"):
            spf.line_spacing_rule = WD_LINE_SPACING.SINGLE
        if style_id == "YtTitle":
            spf.line_spacing = Pt(36)
            spf.space_after = Pt(14)
        if style_id == "YtNumber":
            spf.space_after = Pt(14)
        if style_id == "YtSignature":
            spf.right_indent = INDENT_2CHARS
        if style_id == "YtHeading1":
            spf.keep_with_next = True
        if style_id in ("YtTable", "YtDigest", "YtCopy", "YtStamp"):
            put(style.element.get_or_add_pPr(), "w:snapToGrid", PPR_ORDER, val="0")   # smaller type: off the grid
        if style_id == "YtStamp":
            rpr = style.element.get_or_add_rPr()
            put(rpr, "w:spacing", RPR_ORDER, val="0")   # smaller type: off the grid


def para(doc: Document, text: str = "", style: str | None = None, **fmt):
    p = doc.add_paragraph(style=style_name(style) if style else None)
    if text:
        p.add_run(text)
    for key, value in fmt.items():
        setattr(p.paragraph_format, key, value)
    return p


def style_name(style_id: str) -> str:
    return STYLES[style_id][0]


def fix_widths(table, widths_mm: list[float]) -> None:
    """Fixed column widths that Word, WPS and LibreOffice all honour (grid, table and cell widths)."""
    table.autofit = False
    tbl_pr = table._tbl.tblPr
    tbl_w = tbl_pr.find(qn("w:tblW"))
    if tbl_w is None:
        tbl_w = OxmlElement("w:tblW")
        tbl_pr.append(tbl_w)
    tbl_w.set(qn("w:type"), "dxa")
    tbl_w.set(qn("w:w"), str(int(Mm(sum(widths_mm)).twips)))
    for col, width in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), widths_mm):
        col.set(qn("w:w"), str(int(Mm(width).twips)))
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm):
            cell.width = Mm(width)


def heading(doc: Document, text: str):
    return para(doc, text, "YtHeading1")


def field(doc: Document, label: str, value: str):
    """A `label：value` line, wrapped lines hanging under the value."""
    return para(doc, f"{label}：{value}", "YtField")


# --- 约谈通知书: the form of the Measures' attachment ---------------------------------------------

INTRO = ("为加强对检验检测机构的监督管理，压实市场监管部门监管责任，依据《江西省检验检测领域监督检查工作约谈实施办法"
         "（试行）》等规定，现决定对你单位进行约谈，具体事宜通知如下：")
REQUIREMENT_INSTITUTION = (
    "请你单位法定代表人或其授权的主要负责人、技术负责人、质量负责人、授权签字人等相关人员按时参加约谈，并携带相关资料"
    "（{% if materials %}{{ materials }}{% else %}包括但不限于涉及问题的相关检验检测报告及原始记录、情况说明、原因分析、"
    "下步拟采取的措施以及其他与约谈事项相关的证明材料等{% endif %}），以便能准确说明情况、回应相关问题。"
    "无正当理由拒不到场将依法列为重点监管对象。")
REQUIREMENT_BUREAU = (
    "请你单位主要领导或分管领导、相关科（股）室主要负责人及具体业务经办人按时参加约谈，并携带相关资料"
    "（{% if materials %}{{ materials }}{% else %}包括但不限于监管工作开展情况，存在问题原因分析，下步拟采取的措施"
    "以及其他与约谈事项相关的证明材料等{% endif %}），以便能准确说明情况、回应相关问题。")
OTHER_MATTERS = ("如对本次约谈安排有疑问，请在接到本通知书后2个工作日内与我局负责检验检测机构监管的业务部门联系。"
                 "若无故缺席本次约谈或未按要求提供材料，我局将按照相关规定依法依规处理。")


def notice_template() -> Document:
    doc = new_document()
    para(doc, "约谈通知书", "YtTitle")
    para(doc, "{{ number }}", "YtNumber")
    field(doc, "约谈对象", "{{ target_name }}")
    field(doc, "约谈对象负责人", "{{ principal_name }}")
    field(doc, "联系电话", "{{ principal_phone }}")
    para(doc, INTRO)
    heading(doc, "一、约谈事由")
    para(doc, "{%p if collective_only %}")
    para(doc, "根据{{ campaign }}工作部署，依据《江西省检验检测领域监督检查工作约谈实施办法（试行）》第六条第二款，"
              "现对你单位进行集体约谈。")
    para(doc, "{%p elif kind == 'institution' %}")
    para(doc, "经查，你单位在{{ activity }}中存在以下问题：")
    para(doc, "{%p else %}")
    para(doc, "根据{{ finding_source }}结果，你局在履行检验检测机构监管职责中存在以下问题：")
    para(doc, "{%p endif %}")
    para(doc, "{%p for fact in facts %}")
    para(doc, "{{ fact }}")
    para(doc, "{%p endfor %}")
    heading(doc, "二、约谈时间")
    para(doc, "{{ interview_time }}")
    heading(doc, "三、约谈地点")
    para(doc, "{{ place }}")
    heading(doc, "四、约谈要求")
    para(doc, "{%p if kind == 'institution' %}")
    para(doc, REQUIREMENT_INSTITUTION)
    para(doc, "{%p else %}")
    para(doc, REQUIREMENT_BUREAU)
    para(doc, "{%p endif %}")
    heading(doc, "五、其他事项")
    para(doc, OTHER_MATTERS)
    para(doc, "特此通知。", keep_with_next=True)        # the closing stays with the signature
    para(doc, "", keep_with_next=True)
    para(doc, "{{ organizer }}", "YtSignature", keep_with_next=True)
    para(doc, "{{ issued_on }}", "YtSignature", right_indent=Pt(64))
    para(doc, "")
    para(doc, "联系人：{{ contact_name }}")
    para(doc, "联系电话：{{ contact_phone }}")
    para(doc, "{%p if cc %}")
    copy = para(doc, "抄送：{{ cc }}。", "YtCopy", space_before=Pt(14))
    add_border(copy, "top")
    add_border(copy, "bottom")
    para(doc, "{%p endif %}")
    return doc


def add_border(paragraph, side: str) -> None:
    """A thin rule above or below the paragraph (the 版记 lines of GB/T 9704)."""
    ppr = paragraph._p.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = put(ppr, "w:pBdr", PPR_ORDER)
    line = OxmlElement(f"w:{side}")
    line.set(qn("w:val"), "single")
    line.set(qn("w:sz"), "6")
    line.set(qn("w:space"), "1")
    line.set(qn("w:color"), "000000")
    borders.append(line)


# --- 约谈记录: 第十四条 and 第十九条 -----------------------------------------------------------------

def record_template() -> Document:
    doc = new_document()
    para(doc, "约谈记录", "YtTitle")
    para(doc, "（约谈通知书：{{ number }}）", "YtNumber")
    field(doc, "约谈时间", "{{ interview_time }}")
    field(doc, "约谈地点", "{{ place }}")
    field(doc, "约谈形式", "{{ mode }}")
    field(doc, "约谈组织方", "{{ organizer }}")
    field(doc, "约谈对象", "{{ target_name }}")
    field(doc, "主持人", "{{ host }}")
    field(doc, "记录人", "{{ recorder }}")
    field(doc, "约谈组织方参加人员", "{{ organizer_staff }}")
    field(doc, "约谈对象参加人员", "{{ attendees }}")
    para(doc, "{%p if kind == 'institution' %}")
    field(doc, "属地市场监管部门参加人员", "{{ local_bureau_attendees }}")
    para(doc, "{%p endif %}")
    field(doc, "邀请参加人员", "{{ invited }}")
    field(doc, "回避情况", "{{ recusals }}")
    heading(doc, "一、说明约谈目的及依据")
    para(doc, "{{ purpose_and_basis }}")
    heading(doc, "二、通报存在问题及证据材料")
    para(doc, "{{ issues_and_evidence }}")
    heading(doc, "三、约谈对象陈述意见")
    para(doc, "{{ statement }}")
    heading(doc, "四、提出处理意见，明确整改要求及期限")
    para(doc, "{{ opinions }}")
    para(doc, "{%p if requirements %}")
    para(doc, "整改要求：")
    para(doc, "{%p for requirement in requirements %}")
    para(doc, "{{ requirement }}")
    para(doc, "{%p endfor %}")
    para(doc, "{%p endif %}")
    para(doc, "整改期限：{{ deadline }}")
    heading(doc, "五、约谈对象承诺表态")
    para(doc, "{{ commitment }}")
    heading(doc, "六、形成约谈记录并签字确认")
    para(doc, "{{ signature_statement }}", keep_with_next=True)   # the signature block is never cut
    para(doc, "", keep_with_next=True)
    field(doc, "约谈组织方签字", "").paragraph_format.keep_with_next = True
    field(doc, "约谈对象签字", "{{ target_signature }}").paragraph_format.keep_with_next = True
    field(doc, "日期", "{{ interview_date }}")
    return doc


# --- 案卷封面, 卷内文件目录, 备考表 (GB/T 9705-2008) --------------------------------------------------

def cover_template() -> Document:
    doc = new_document()
    para(doc, "")
    para(doc, "{{ title }}", "YtTitle", space_before=Pt(48), space_after=Pt(48))
    table = doc.add_table(rows=0, cols=2)
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    rows = [("全宗名称", "{{ fonds_name }}"), ("档号", "{{ archival_code }}"), ("约谈通知书文号", "{{ number }}"),
            ("约谈对象", "{{ target_name }}"), ("起止日期", "{{ period }}"), ("保管期限", "{{ retention }}"),
            ("件数、页数", "{{ extent }}"), ("归档日期", "{{ archived_on }}"), ("案件编号", "{{ case_id }}")]
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].width, cells[1].width = Mm(46), Mm(110)
        cells[0].paragraphs[0].style = doc.styles[style_name("YtField")]
        cells[0].paragraphs[0].add_run(label)
        cells[1].paragraphs[0].style = doc.styles[style_name("YtField")]
        cells[1].paragraphs[0].add_run(value)
    fix_widths(table, [46, 110])
    return doc


# GB/T 9705-2008 4.3: 序号、文号、责任者、题名、日期、页号、备注, in this order.
FILE_LIST_COLUMNS = [("序号", 12), ("文号", 26), ("责任者", 26), ("题名", 42), ("日期", 22), ("页号", 12), ("备注", 16)]


def file_list_template() -> Document:
    doc = new_document()
    para(doc, "卷内文件目录", "YtTitle")
    para(doc, "档号：{{ archival_code }}", "YtNumber", space_after=Pt(0))
    para(doc, "{{ number }}　{{ target_name }}", "YtNumber")
    table = doc.add_table(rows=4, cols=len(FILE_LIST_COLUMNS))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    header, loop_start, item, loop_end = table.rows
    item_texts = ["{{ e.seq }}", "{{ e.number }}", "{{ e.responsible }}", "{{ e.title }}", "{{ e.dated }}",
                  "{{ e.pages }}", "{{ e.note }}"]
    for i, (label, width) in enumerate(FILE_LIST_COLUMNS):
        for row in table.rows:
            row.cells[i].width = Mm(width)
            row.cells[i].paragraphs[0].style = doc.styles[style_name("YtTable")]
        header.cells[i].paragraphs[0].add_run(label).bold = True
        item.cells[i].paragraphs[0].add_run(item_texts[i])
    # docxtpl drops the rows holding {%tr %} tags and repeats the row between them per entry
    loop_start.cells[0].paragraphs[0].add_run("{%tr for e in entries %}")
    loop_end.cells[0].paragraphs[0].add_run("{%tr endfor %}")
    fix_widths(table, [width for _, width in FILE_LIST_COLUMNS])
    return doc


def remarks_template() -> Document:
    """One page (GB/T 9705 备考表): the 卷's account, and 立卷人, 检查人, 立卷日期 at its foot (the page footer,
    so they stay on this page whatever the account's length; a long account goes to the 续页)."""
    doc = new_document()
    para(doc, "备考表", "YtTitle")
    para(doc, "{{ subtitle }}", "YtNumber", space_after=Pt(0))
    para(doc, "档号：{{ archival_code }}", "YtNumber")
    para(doc, "本卷共{{ document_count }}件，{{ page_count }}页。")
    heading(doc, "一、程序核查情况")
    para(doc, "{%p for line in findings %}")
    para(doc, "{{ line }}")
    para(doc, "{%p endfor %}")
    heading(doc, "二、说明")
    para(doc, "{%p for line in notes %}")
    para(doc, "{{ line }}")
    para(doc, "{%p endfor %}")
    heading(doc, "三、上传材料转换情况")
    para(doc, "{%p for line in conversions %}")
    para(doc, "{{ line }}")
    para(doc, "{%p endfor %}")
    heading(doc, "四、案卷清单摘要（SHA-256）")
    para(doc, "{{ manifest_sha256 }}", "YtDigest")
    # The footer ends where GB/T 9704's text area ends (35 mm above the page's foot); the body stops above it.
    section = doc.sections[0]
    section.footer_distance, section.bottom_margin = Mm(37), Mm(62)
    footer = section.footer
    footer.is_linked_to_previous = False
    lines = footer.paragraphs[0]
    lines.style = doc.styles[style_name("YtCopy")]
    lines.add_run("立卷人：{{ filed_by }}")
    for text in ("检查人：{{ checked_by }}", "立卷日期：{{ filed_on }}"):
        footer.add_paragraph(text, style=doc.styles[style_name("YtCopy")])
    return doc


def remarks_continued_template() -> Document:
    doc = new_document()
    para(doc, "备考表（续页）", "YtTitle")
    para(doc, "{{ subtitle }}", "YtNumber", space_after=Pt(0))
    para(doc, "档号：{{ archival_code }}", "YtNumber")
    para(doc, "{%p if findings %}")
    heading(doc, "一、程序核查情况")
    para(doc, "{%p for line in findings %}")
    para(doc, "{{ line }}")
    para(doc, "{%p endfor %}")
    para(doc, "{%p endif %}")
    para(doc, "{%p if notes %}")
    heading(doc, "二、说明")
    para(doc, "{%p for line in notes %}")
    para(doc, "{{ line }}")
    para(doc, "{%p endfor %}")
    para(doc, "{%p endif %}")
    para(doc, "{%p if conversions %}")
    heading(doc, "三、上传材料转换情况")
    para(doc, "{%p for line in conversions %}")
    para(doc, "{{ line }}")
    para(doc, "{%p endfor %}")
    para(doc, "{%p endif %}")
    return doc


# --- 归档章 (DA/T 22-2015 5.4 and its appendix): 45 mm x 16 mm, six equal cells, in red -----------------

STAMP_WIDTH_MM, STAMP_HEIGHT_MM = 45, 16
STAMP_PAGE_MM = (46, 22)       # a little room around the table; the overlay places the page's top-left corner
STAMP_COLOR = "C00000"


def stamp_template() -> Document:
    """One page per stamp: row 1 全宗号, 年度, 件号 (卷号); row 2 机构（问题）, 保管期限, 页数. The cells hold the
    values only: the standard's labels are hints that a carved stamp leaves out."""
    doc = new_document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(STAMP_PAGE_MM[0]), Mm(STAMP_PAGE_MM[1])
    section.top_margin = section.left_margin = Mm(0.5)
    section.bottom_margin = section.right_margin = Mm(0)
    section.header_distance = section.footer_distance = Mm(0)
    para(doc, "{%p for s in stamps %}")
    table = doc.add_table(rows=2, cols=3)
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    _stamp_borders(table)
    cell_w, cell_h = STAMP_WIDTH_MM / 3, STAMP_HEIGHT_MM / 2
    values = [["{{ s.fonds }}", "{{ s.year }}", "{{ s.number }}"],
              ["{{ s.organization }}", "{{ s.retention }}", "{{ s.pages }}"]]
    for r, row in enumerate(table.rows):
        row.height = Mm(cell_h)
        row._tr.get_or_add_trPr().find(qn("w:trHeight")).set(qn("w:hRule"), "exact")
        for c, cell in enumerate(row.cells):
            cell.vertical_alignment = 1           # centre
            p = cell.paragraphs[0]
            p.style = doc.styles[style_name("YtStamp")]
            run = p.add_run(values[r][c])
            put(run._r.get_or_add_rPr(), "w:color", RPR_ORDER, val=STAMP_COLOR)
    fix_widths(table, [cell_w] * 3)
    para(doc, "{%p if not loop.last %}")
    breaker = para(doc, "", "YtStamp")
    breaker.add_run().add_break(WD_BREAK.PAGE)
    para(doc, "{%p endif %}")
    para(doc, "{%p endfor %}")
    para(doc, "", "YtStamp")
    return doc


def _stamp_borders(table) -> None:
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        line = OxmlElement(f"w:{side}")
        for key, value in (("val", "single"), ("sz", "8"), ("space", "0"), ("color", STAMP_COLOR)):
            line.set(qn(f"w:{key}"), value)
        borders.append(line)
    table._tbl.tblPr.append(borders)
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        m = OxmlElement(f"w:{side}")
        m.set(qn("w:w"), "0")
        m.set(qn("w:type"), "dxa")
        margins.append(m)
    table._tbl.tblPr.append(margins)


# --- 案卷目录 / 归档文件目录 (DA/T 22-2015 5.5, A4 landscape) and the 移交清单 ----------------------------

# Column order: DA/T 22's 归档文件目录 (序号, 档号, 文号, 责任者, 题名, 日期, 页数, 备注) with the 案卷目录's
# 起止日期 and 保管期限 (GB/T 9705).
CATALOGUE_COLUMNS = [("序号", 11), ("档号", 52), ("文号", 38), ("责任者", 34), ("题名", 52), ("起止日期", 24),
                     ("页数", 12), ("保管期限", 14), ("备注", 20)]


def landscape_document() -> Document:
    doc = new_document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    section.top_margin, section.bottom_margin = Mm(20), Mm(18)
    section.left_margin, section.right_margin = Mm(20), Mm(20)
    section.header_distance, section.footer_distance = Mm(10), Mm(10)
    return doc


def catalogue_template() -> Document:
    doc = landscape_document()
    para(doc, "{{ title }}", "YtTitle", space_after=Pt(6))
    para(doc, "全宗号：{{ fonds_code }}　　全宗名称：{{ fonds_name }}　　年度：{{ year }}　　"
              "共{{ count }}卷（件），{{ pages }}页", "YtDigest", alignment=WD_ALIGN_PARAGRAPH.CENTER,
         space_after=Pt(6))
    table = doc.add_table(rows=4, cols=len(CATALOGUE_COLUMNS))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    header, loop_start, item, loop_end = table.rows
    keys = ["seq", "archival_code", "number", "responsible", "title", "period", "pages", "retention", "note"]
    for i, (label, width) in enumerate(CATALOGUE_COLUMNS):
        for row in table.rows:
            row.cells[i].width = Mm(width)
            row.cells[i].paragraphs[0].style = doc.styles[style_name("YtTable")]
        header.cells[i].paragraphs[0].add_run(label).bold = True
        item.cells[i].paragraphs[0].add_run("{{ r.%s }}" % keys[i])
    repeat_header(header)
    loop_start.cells[0].paragraphs[0].add_run("{%tr for r in rows %}")
    loop_end.cells[0].paragraphs[0].add_run("{%tr endfor %}")
    fix_widths(table, [width for _, width in CATALOGUE_COLUMNS])
    return doc


def repeat_header(row) -> None:
    put(row._tr.get_or_add_trPr(), "w:tblHeader", ("w:tblHeader",), val="true")


def handover_template() -> Document:
    """移交清单 after GB/T 18894's 电子档案移交与接收登记表: the transfer, its checks, each dossier's digest, and
    a column for each side to sign."""
    doc = new_document()
    para(doc, "{{ title }}", "YtTitle")
    para(doc, "{{ subtitle }}", "YtNumber")
    table = doc.add_table(rows=0, cols=2)
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for label, value in [("交接工作名称", "{{ name }}"), ("内容描述", "{{ description }}"),
                         ("移交电子档案数量", "{{ quantity }}"), ("移交数据量", "{{ volume }}"),
                         ("移交载体", "{{ carrier }}"), ("台账末条", "{{ ledger_head }}"),
                         ("准确性检验", "{{ accuracy }}"), ("完整性检验", "{{ integrity }}"),
                         ("可用性检验", "{{ usability }}"), ("安全性检验", "{{ security }}")]:
        cells = table.add_row().cells
        for cell, text in zip(cells, (label, value)):
            cell.paragraphs[0].style = doc.styles[style_name("YtTable")]
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.LEFT
            cell.paragraphs[0].add_run(text)
    fix_widths(table, [36, 120])
    para(doc, "数字摘要（SHA-256，每卷案卷文件）", "YtTable", space_before=Pt(8), space_after=Pt(4))
    digests = doc.add_table(rows=4, cols=4)
    digests.style = doc.styles["Table Grid"]
    digests.alignment = WD_TABLE_ALIGNMENT.CENTER
    header, loop_start, item, loop_end = digests.rows
    for i, (label, key) in enumerate([("档号", "archival_code"), ("页数", "pages"), ("字节数", "size"),
                                      ("SHA-256", "sha256")]):
        for row in digests.rows:
            row.cells[i].paragraphs[0].style = doc.styles[style_name("YtTable")]
        header.cells[i].paragraphs[0].add_run(label).bold = True
        item.cells[i].paragraphs[0].add_run("{{ d.%s }}" % key)
    repeat_header(header)
    loop_start.cells[0].paragraphs[0].add_run("{%tr for d in digests %}")
    loop_end.cells[0].paragraphs[0].add_run("{%tr endfor %}")
    fix_widths(digests, [46, 12, 18, 80])
    para(doc, "", "YtTable")
    signatures = doc.add_table(rows=0, cols=3)
    signatures.style = doc.styles["Table Grid"]
    signatures.alignment = WD_TABLE_ALIGNMENT.CENTER
    for label, left, right in [("", "移交单位", "接收单位"), ("单位名称", "{{ from_unit }}", "{{ to_unit }}"),
                               ("填表人（签名）", "", ""), ("审核人（签名）", "", ""), ("单位（印章）", "", ""),
                               ("日期", "　　年　　月　　日", "　　年　　月　　日")]:
        row = signatures.add_row()
        row.height = Mm(12)
        for cell, text in zip(row.cells, (label, left, right)):
            cell.paragraphs[0].style = doc.styles[style_name("YtTable")]
            cell.paragraphs[0].add_run(text)
    fix_widths(signatures, [36, 60, 60])
    return doc


TEMPLATES = {
    "约谈通知书.docx": notice_template,
    "约谈记录.docx": record_template,
    "案卷封面.docx": cover_template,
    "卷内文件目录.docx": file_list_template,
    "备考表.docx": remarks_template,
    "备考表续页.docx": remarks_continued_template,
    "归档章.docx": stamp_template,
    "案卷目录.docx": catalogue_template,
    "移交清单.docx": handover_template,
}


_STYLE_REFERENCES = ("w:pStyle", "w:rStyle", "w:tblStyle", "w:numStyleLink", "w:styleLink")
_STYLE_CHAINS = ("w:basedOn", "w:link", "w:next")


def keep_used_styles(doc: Document) -> None:
    """Only the styles the template uses (with what they are based on, linked to and followed by, and the
    defaults), no latent-style list and no Word 2010 copy of the styles (stylesWithEffects.xml).

    python-docx's blank document brings 173 styles in 354 KB and a 438 KB copy of them: docxtpl read, re-fonted and
    wrote all of it for every document, and LibreOffice read it again to convert it (together 0.4 core-seconds a
    case). Word and WPS still offer their built-in styles to whoever edits the template."""
    parts = [doc.part.element, *(rel.target_part.element for rel in doc.part.rels.values()
                                 if rel.reltype.endswith(("/header", "/footer", "/numbering")))]
    used = {ref.get(qn("w:val")) for part in parts for tag in _STYLE_REFERENCES for ref in part.iter(qn(tag))}
    styles = doc.styles.element
    by_id = {style.get(qn("w:styleId")): style for style in styles.iterchildren(qn("w:style"))}
    keep = used | {sid for sid, style in by_id.items() if style.get(qn("w:default")) in ("1", "true")}
    pending = list(keep)
    while pending:
        style = by_id.get(pending.pop())
        for tag in _STYLE_CHAINS:
            ref = style.find(qn(tag)) if style is not None else None
            if ref is not None and ref.get(qn("w:val")) not in keep:
                keep.add(ref.get(qn("w:val")))
                pending.append(ref.get(qn("w:val")))
    for sid, style in by_id.items():
        if sid not in keep:
            styles.remove(style)
    for latent in styles.findall(qn("w:latentStyles")):
        styles.remove(latent)
    for rid, rel in list(doc.part.rels.items()):
        if rel.reltype.endswith("/stylesWithEffects"):
            doc.part.drop_rel(rid)


def main(out_dir: Path = HERE) -> None:
    for name, make in TEMPLATES.items():
        dest = out_dir / name
        tmp = dest.with_suffix(".docx.tmp")
        doc = make()
        keep_used_styles(doc)
        props = doc.core_properties
        props.author = props.last_modified_by = "yuetan"
        props.title = Path(name).stem
        props.created = props.modified = FIXED_TIME      # the same content on every run
        props.revision = 1
        doc.save(tmp)
        os.replace(tmp, dest)
        print(dest)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
