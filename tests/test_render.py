"""The official documents: DOCX templates rendered with docxtpl, then read back from the produced files.

The notice's expected text is built from the form of the Measures' attachment (tests/data/notice-form.txt,
copied verbatim from the seed) with the case's values put in, and compared whole, white space removed.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import zipfile
from datetime import date, datetime
from pathlib import Path

import pikepdf
import pytest
from click.testing import CliRunner
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Length

from archive_store.home import open_home
from pipeline.case.findings import Finding, Severity, assess_procedure
from pipeline.case.intake import open_case
from pipeline.cli import main
from pipeline.documents import render
from pipeline.external.poppler import pdf_text
from pipeline.pdf.pdfa import check_pdfa
from pipeline.records.setup import init_home

from .conftest import EXAMPLE_NAMES, EXAMPLES, ROOT, load_example, tree_snapshot

FORM = (Path(__file__).parent / "data" / "notice-form.txt").read_text(encoding="utf-8")
DEFAULT_FONTS = render.DocumentFonts(title="Noto Serif CJK SC", body="Noto Serif CJK SC", heading="Noto Sans CJK SC")
BUREAU_FONTS = render.DocumentFonts(title="方正小标宋简体", body="仿宋_GB2312", heading="黑体")
DOCUMENTS = ["约谈通知书", "约谈记录", "案卷封面", "卷内文件目录", "备考表"]
SIX_STEPS = ["一、说明约谈目的及依据", "二、通报存在问题及证据材料", "三、约谈对象陈述意见",
             "四、提出处理意见，明确整改要求及期限", "五、约谈对象承诺表态", "六、形成约谈记录并签字确认"]
# Per example: the number the notice carries (bureau-video has none: the registry's first), and the
# interview time written out by hand.
EXPECTED = {
    "institution-onsite": ("赣市监检约〔2025〕3号", "2025年7月15日上午9时30分"),
    "bureau-video": ("赣市监检约〔2025〕1号", "2025年8月12日下午3时"),
    "refused-to-sign": ("赣市监检约〔2025〕12号", "2025年10月9日上午9时"),
}
SOURCE_WORDS = {"supervision_inspection": "监督检查", "complaint": "投诉举报", "special_sampling": "专项抽查",
                "proficiency_testing": "能力验证", "other": "其他监管工作"}
MM = 72 / 25.4


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --- the form, with the case's values --------------------------------------------------------------

def form_line(start: str) -> str:
    """The form's line that starts (after its indentation) with `start`."""
    lines = [line.strip() for line in FORM.splitlines() if line.strip().startswith(start)]
    assert len(lines) == 1, f"the form has {len(lines)} lines starting with {start!r}"
    return lines[0]


def filled(line: str, placeholder: str, value: str) -> str:
    assert placeholder in line, f"{placeholder!r} not in the form's line {line!r}"
    return line.replace(placeholder, value)


def without_guidance(line: str, pattern: str) -> str:
    """The form's bracketed hints to the drafter (“（针对XX…）”, “（简要列明，…）”) are not printed."""
    stripped = re.sub(pattern, "", line, count=1)
    assert stripped != line, f"{pattern!r} not in {line!r}"
    return stripped


def expected_notice(case: dict, number: str, when: str) -> str:
    target, notice, interview = case["target"], case["notice"], case["interview"]
    institution = target["kind"] == "institution"
    facts = [fact for ground in case["grounds"] for fact in ground["facts"]]
    parts = [
        form_line("约谈通知书"),
        filled(form_line("赣市监检约"), "赣市监检约〔20XX〕XX号", number),
        filled(form_line("约谈对象："), "XX检验检测机构/XX市场监督管理局", target["name"]),
        filled(form_line("约谈对象负责人："), "XXX", target["principal"]["name"]),
        filled(form_line("联系电话：XXXXXXXXXXX"), "XXXXXXXXXXX", target["principal"]["phone"]),
        form_line("为加强对检验检测机构的监督管理"),
        form_line("一、约谈事由"),
    ]
    if institution:
        line = without_guidance(form_line("(针对XX检验检测机构)经查"), r"^\(针对XX检验检测机构\)")
        line = without_guidance(line, r"（简要列明[^）]*）")
        parts.append(filled(line, "XX检验检测活动", f"{case['activity']}活动"))
    else:
        line = without_guidance(form_line("（针对XX市场监管局）根据"), r"^（针对XX市场监管局）")
        line = without_guidance(line, r"（如[^）]*）等情况")
        parts.append(filled(line, "监督检查/投诉举报/专项抽查", SOURCE_WORDS[case["finding_source"]]))
    parts += [f"{i}.{fact}。" for i, fact in enumerate(facts, start=1)]
    assert re.fullmatch(r"XXXX年XX月XX日上午/下午XX时", form_line("XXXX年"))
    place = interview["venue"] + (f"（地址：{interview['address']}）" if interview.get("address") else "")
    assert "（地址：" in form_line("XX市场监督管理局XX楼")
    if institution:
        requirement = without_guidance(form_line("(针对XX检验检测机构)请你单位"), r"^\(针对XX检验检测机构\)")
    else:
        requirement = without_guidance(form_line("（针对XX市场监管局）请你单位"), r"^（针对XX市场监管局）")
    issued = date.fromisoformat(notice["issued_on"])
    parts += [form_line("二、约谈时间"), when, form_line("三、约谈地点"), place, form_line("四、约谈要求"), requirement,
              form_line("五、其他事项"), form_line("如对本次约谈安排有疑问"), form_line("特此通知。"),
              filled(form_line("XX市场监管局（盖章）"), "XX市场监管局（盖章）", case["organizer"]["name"]),
              filled(form_line("20XX年XX月XX日"), "20XX年XX月XX日", f"{issued.year}年{issued.month}月{issued.day}日"),
              filled(form_line("联系人："), "XXX", case["organizer"]["contact"]["name"]),
              filled(form_line("联系电话：XXXX-"), "XXXX-XXXXXXXX", case["organizer"]["contact"]["phone"])]
    if notice.get("cc"):
        parts.append(f"抄送：{'，'.join(notice['cc'])}。")
    return squeeze("".join(parts))


def docx_text(path: Path) -> str:
    doc = Document(path)
    texts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            texts += [cell.text for cell in row.cells]
    return "\n".join(texts)


def render_example(name: str, work: Path, *, fonts=DEFAULT_FONTS, change=None) -> dict[str, Path]:
    data = load_example(name)
    if change:
        change(data)
    folder = work.parent / f"{work.name}-case"
    shutil.copytree(EXAMPLES / name, folder)
    (folder / "case.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    number = EXPECTED[name][0]
    with open_case(folder) as bundle:
        case = bundle.case
        return all_documents(case, number, work, fonts)


ARCHIVAL_CODE = "J036-WS·2025-D6-JCK-0007"


def footer_lines(path: Path) -> list[str]:
    return [p.text for p in Document(path).sections[0].footer.paragraphs]


def all_documents(case, number: str, work: Path, fonts) -> dict[str, Path]:
    work.mkdir(parents=True, exist_ok=True)
    entries = [render.FileListEntry(1, case.organizer.name, number, "约谈通知书", case.notice.issued_on, 1, 3, ""),
               render.FileListEntry(2, case.organizer.name, "", "约谈记录", case.interview_date, 4, 4, ""),
               render.FileListEntry(3, case.target.name, "", "整改方案 & 附件 <一>", None, 5, 9, "整改方案")]
    return {
        "约谈通知书": render.render_notice(case, number, work, fonts=fonts),
        "约谈记录": render.render_record(case, number, work, fonts=fonts),
        "案卷封面": render.render_cover(case, number, work, archived_on=date(2025, 12, 1), retention_years=6,
                                    fonts=fonts, archival_code=ARCHIVAL_CODE, document_count=3, page_count=9),
        "卷内文件目录": render.render_file_list(case, number, entries, work, fonts=fonts,
                                          archival_code=ARCHIVAL_CODE),
        "备考表": render.render_remarks(case, assess_procedure(case), work, page_count=9,
                                     manifest_sha256=hashlib.sha256(case.case_id.encode()).hexdigest(),
                                     notes=["整改方案.pdf：已删除 JavaScript 动作"], filed_by="王档案",
                                     checked_by="李检查", filed_on=date(2025, 12, 1), fonts=fonts,
                                     archival_code=ARCHIVAL_CODE, document_count=3),
    }


# --- wording helpers ------------------------------------------------------------------------------

@pytest.mark.parametrize("moment, text", [
    ("2025-07-15T09:30:00+08:00", "2025年7月15日上午9时30分"),
    ("2025-07-15T09:00:00+08:00", "2025年7月15日上午9时"),
    ("2025-08-12T15:00:00+08:00", "2025年8月12日下午3时"),
    ("2025-08-12T12:00:00+08:00", "2025年8月12日下午12时"),
    ("2025-08-12T11:59:00+08:00", "2025年8月12日上午11时59分"),
    ("2025-10-09T01:05:00+00:00", "2025年10月9日上午9时5分"),      # UTC, written in China time
    ("2025-12-31T16:30:00+00:00", "2026年1月1日上午0时30分"),
])
def test_interview_time_is_written_as_the_form_has_it(moment, text):
    assert render.chinese_datetime(datetime.fromisoformat(moment)) == text


def test_dates_use_arabic_numerals_without_leading_zeros():
    assert render.chinese_date(date(2025, 7, 7)) == "2025年7月7日"
    assert render.page_range(1, 3) == "1-3" and render.page_range(4, 4) == "4"


# --- the templates --------------------------------------------------------------------------------

def test_templates_are_reproduced_by_their_script(tmp_path):
    """The committed templates are what templates/make_templates.py makes (content, not zip times)."""
    subprocess.run([str(ROOT / ".venv/bin/python"), str(ROOT / "templates/make_templates.py"), str(tmp_path)],
                   check=True, capture_output=True)
    for name in DOCUMENTS:
        with zipfile.ZipFile(ROOT / "templates" / f"{name}.docx") as committed, \
                zipfile.ZipFile(tmp_path / f"{name}.docx") as made:
            for part in ("word/document.xml", "word/styles.xml"):
                assert committed.read(part) == made.read(part), f"{name}.docx {part} differs: rerun the script"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_templates_are_plain_paragraphs_and_tags_without_text_boxes(name):
    with zipfile.ZipFile(ROOT / "templates" / f"{name}.docx") as docx:
        xml = docx.read("word/document.xml").decode("utf-8")
    assert "txbxContent" not in xml and "<w:pict" not in xml and "<w:drawing" not in xml
    assert "{{" in xml


# --- DOCX level ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def docx_examples(tmp_path_factory) -> dict[str, dict[str, Path]]:
    root = tmp_path_factory.mktemp("docx")
    return {name: render_example(name, root / name) for name in EXAMPLE_NAMES}


@pytest.mark.parametrize("document", DOCUMENTS)
def test_page_is_a4_with_gbt9704_margins_and_grid(docx_examples, document):
    doc = Document(docx_examples["institution-onsite"][document])
    section = doc.sections[0]
    assert (round(section.page_width.mm, 1), round(section.page_height.mm, 1)) == (210.0, 297.0)
    margins = [section.top_margin, section.bottom_margin, section.left_margin, section.right_margin]
    text_width = Length(section.page_width - section.left_margin - section.right_margin)
    if document == "备考表":   # the signature block is the footer, inside GB/T 9704's 225 mm text height
        assert [round(m.mm, 1) for m in margins] == [37.0, 62.0, 28.0, 26.0]
        assert round(section.footer_distance.mm, 1) == 37.0
    else:
        assert [round(m.mm, 1) for m in margins] == [37.0, 35.0, 28.0, 26.0]
        text_height = Length(section.page_height - section.top_margin - section.bottom_margin)
        assert round(text_height.mm, 1) == 225.0
    assert round(text_width.mm, 1) == 156.0
    grid = section._sectPr.find(qn("w:docGrid"))
    assert grid.get(qn("w:linePitch")) == "579"          # 225 mm / 22 lines = 28.95 pt
    normal = doc.styles["Normal"]
    assert normal.font.size.pt == 16
    assert normal.paragraph_format.line_spacing.pt == pytest.approx(28.95, abs=0.05)
    spacing = normal.element.rPr.find(qn("w:spacing"))
    per_char = 16 + int(spacing.get(qn("w:val"))) / 20
    assert int(text_width.pt // per_char) == 28          # 28 characters a line


def test_title_is_2hao_bold_centred_and_body_3hao(docx_examples):
    doc = Document(docx_examples["institution-onsite"]["约谈通知书"])
    title = doc.paragraphs[0]
    assert title.text == "约谈通知书"
    assert title.style.font.size.pt == 22 and title.style.font.bold
    assert title.style.paragraph_format.alignment == 1   # centre
    body = next(p for p in doc.paragraphs if p.text.startswith("为加强"))
    assert body.style.name == "Normal" and body.style.font.size.pt == 16


def _run_fonts(path: Path) -> list[tuple[str, str, dict]]:
    doc = Document(path)
    found = []
    for p in doc.element.body.iter(qn("w:p")):
        ppr = p.find(qn("w:pPr"))
        style = ppr.find(qn("w:pStyle")).get(qn("w:val")) if ppr is not None and ppr.find(qn("w:pStyle")) \
            is not None else "Normal"
        for r in p.iter(qn("w:r")):
            text = "".join(t.text or "" for t in r.iter(qn("w:t")))
            fonts = r.find(qn("w:rPr")).find(qn("w:rFonts"))
            found.append((style, text, dict(fonts.attrib)))
    return found


@pytest.mark.parametrize("document", DOCUMENTS)
def test_fonts_from_the_settings_are_set_on_every_run_and_style(tmp_path, document):
    made = render_example("refused-to-sign", tmp_path, fonts=BUREAU_FONTS)[document]
    runs = _run_fonts(made)
    assert runs
    for style, text, fonts in runs:
        want = {"YtTitle": "方正小标宋简体", "YtHeading1": "黑体"}.get(style, "仿宋_GB2312")
        for attr in ("ascii", "hAnsi", "eastAsia"):
            assert fonts.get(qn(f"w:{attr}")) == want, (style, text, attr)
        assert not any(key.endswith("Theme") or key.endswith("theme") for key in fonts), (style, text)
    assert any(style == "YtTitle" for style, _, _ in runs)
    with zipfile.ZipFile(made) as docx:
        styles = docx.read("word/styles.xml").decode("utf-8")
    assert "Theme=" not in styles and "theme=" not in styles
    assert 'w:eastAsia="仿宋_GB2312"' in styles and 'w:eastAsia="方正小标宋简体"' in styles


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_notice_docx_is_the_form_with_the_case_values(docx_examples, name):
    number, when = EXPECTED[name]
    assert squeeze(docx_text(docx_examples[name]["约谈通知书"])) == expected_notice(load_example(name), number, when)


def test_notice_prints_only_the_variant_for_the_target(docx_examples):
    institution = docx_text(docx_examples["institution-onsite"]["约谈通知书"])
    bureau = docx_text(docx_examples["bureau-video"]["约谈通知书"])
    for text in (institution, bureau):
        assert "针对" not in text and "XX" not in text and "盖章" not in text and "{" not in text
    assert "你局在履行检验检测机构监管职责中" not in institution and "授权签字人" in institution
    assert "经查，你单位在" not in bureau and "主要领导或分管领导" in bureau
    assert "地址" not in bureau.split("三、约谈地点")[1].split("四、")[0]   # video: the meeting system only


def test_notice_materials_replace_the_bracketed_list(tmp_path):
    def change(case):
        case["notice"]["materials"] = ["检验报告原件", "原始记录", "整改措施说明"]
    text = docx_text(render_example("institution-onsite", tmp_path, change=change)["约谈通知书"])
    assert "并携带相关资料（检验报告原件、原始记录、整改措施说明），以便能准确说明情况" in text
    assert "包括但不限于" not in text


def test_notice_without_cc_has_no_copy_line(tmp_path):
    def change(case):
        case["notice"]["cc"] = []
    text = docx_text(render_example("refused-to-sign", tmp_path, change=change)["约谈通知书"])
    assert "抄送" not in text and squeeze(text).endswith("联系电话：0797-8128866")


def test_values_with_markup_characters_are_kept(tmp_path):
    def change(case):
        case["grounds"][0]["facts"][0] = "报告A&B <C> 与“原始记录”不符"
        case["target"]["name"] = "赣州宏达&检测<有限>公司"
    text = docx_text(render_example("refused-to-sign", tmp_path, change=change)["约谈通知书"])
    assert "1.报告A&B <C> 与“原始记录”不符。" in text
    assert "约谈对象：赣州宏达&检测<有限>公司" in text


def test_collective_interview_without_grounds_names_the_campaign(tmp_path):
    def change(case):
        case["collective"] = {"campaign": "2025年机动车检验机构专项整治"}
        case["grounds"] = []
    text = docx_text(render_example("refused-to-sign", tmp_path, change=change)["约谈通知书"])
    reason = text.split("一、约谈事由")[1].split("二、约谈时间")[0].strip()
    assert reason == ("根据2025年机动车检验机构专项整治工作部署，依据《江西省检验检测领域监督检查工作约谈实施办法（试行）》"
                      "第六条第二款，现对你单位进行集体约谈。")


def test_record_docx_has_participants_and_the_six_steps_in_order(docx_examples):
    text = docx_text(docx_examples["institution-onsite"]["约谈记录"])
    lines = text.splitlines()
    assert "约谈时间：2025年7月15日上午9时30分" in lines
    assert "约谈地点：江西省市场监督管理局3楼第二会议室（地址：南昌市红谷滩区卧龙路999号）" in lines
    assert "约谈形式：现场约谈" in lines
    assert "主持人：刘志强（认证认可监督管理处处长）" in lines
    assert "记录人：陈静（一级主任科员）" in lines
    assert ("约谈对象参加人员：张建国（法定代表人，总经理）；赵丽（技术负责人）；孙伟（质量负责人）；"
            "钱进（授权签字人）") in lines
    assert "属地市场监管部门参加人员：吴涛（南昌市市场监督管理局认证认可科科长）" in lines
    assert "邀请参加人员：黄振华（江西省建筑材料工业科学研究设计院，专家）" in lines
    assert "回避情况：无" in lines
    positions = [lines.index(step) for step in SIX_STEPS]
    assert positions == sorted(positions)
    assert lines[positions[0] + 1].startswith("依据《检验检测机构监督管理办法》")
    assert ["整改要求：", "1.5个工作日内提交整改方案。", "2.全面梳理资质认定能力附表，完善业务受理能力核查程序。",
            "3.对2025年以来出具的混凝土、钢筋类报告逐份核对原始记录。", "整改期限：2025年8月15日前"] == \
        lines[lines.index("整改要求："):lines.index("整改要求：") + 5]
    assert "约谈对象拒绝签字" not in text
    assert lines[-3:] == ["约谈组织方签字：", "约谈对象签字：", "日期：2025年7月15日"]


def test_record_of_a_bureau_lists_its_roles_and_video(docx_examples):
    lines = docx_text(docx_examples["bureau-video"]["约谈记录"]).splitlines()
    assert "约谈形式：视频会议" in lines
    assert "约谈对象参加人员：郑海（分管领导，副局长）；冯丹（科（股）室主要负责人，认证认可监督管理科科长）；" \
           "何亮（具体业务经办人，科员）" in lines
    assert not any(line.startswith("属地市场监管部门参加人员") for line in lines)


def test_record_of_refused_signature_says_so(docx_examples):
    lines = docx_text(docx_examples["refused-to-sign"]["约谈记录"]).splitlines()
    step_six = lines[lines.index(SIX_STEPS[5]) + 1]
    assert step_six.startswith("约谈对象拒绝签字。") and "第十四条第（六）项" in step_six
    assert "约谈对象签字：（约谈对象拒绝签字）" in lines
    assert "回避情况：钟立（与约谈对象法定代表人系近亲属）" in lines


def test_record_of_an_absent_target_says_so(tmp_path):
    def change(case):
        case["interview"]["record_signature"] = "absent"
    lines = docx_text(render_example("refused-to-sign", tmp_path, change=change)["约谈记录"]).splitlines()
    step_six = lines[lines.index(SIX_STEPS[5]) + 1]
    assert step_six.startswith("约谈对象无正当理由未参加约谈。") and "第十五条" in step_six
    assert "约谈对象拒绝签字" not in "".join(lines)


def test_cover_file_list_and_remarks_docx(docx_examples):
    cover = docx_text(docx_examples["institution-onsite"]["案卷封面"]).splitlines()
    assert cover[1] == "江西赣信检测技术有限公司约谈案卷"
    for pair in (["全宗名称", "江西省市场监督管理局"], ["档号", ARCHIVAL_CODE], ["约谈通知书文号", "赣市监检约〔2025〕3号"],
                 ["起止日期", "2025年7月7日至2025年9月1日"], ["保管期限", "6年"], ["件数、页数", "3件，9页"],
                 ["归档日期", "2025年12月1日"], ["案件编号", "JX-RZ-2025-017"]):
        assert "\n".join(pair) in "\n".join(cover)
    file_list = Document(docx_examples["institution-onsite"]["卷内文件目录"])
    assert f"档号：{ARCHIVAL_CODE}" in [p.text for p in file_list.paragraphs]
    rows = [[cell.text for cell in row.cells] for row in file_list.tables[0].rows]
    # GB/T 9705-2008 4.3: 序号、文号、责任者、题名、日期、页号、备注
    assert rows == [["序号", "文号", "责任者", "题名", "日期", "页号", "备注"],
                    ["1", "赣市监检约〔2025〕3号", "江西省市场监督管理局", "约谈通知书", "2025年7月7日", "1-3", ""],
                    ["2", "", "江西省市场监督管理局", "约谈记录", "2025年7月15日", "4", ""],
                    ["3", "", "江西赣信检测技术有限公司", "整改方案 & 附件 <一>", "", "5-9", "整改方案"]]
    remarks = docx_text(docx_examples["refused-to-sign"]["备考表"]).splitlines()
    assert f"档号：{ARCHIVAL_CODE}" in remarks
    assert "本卷共3件，9页。" in remarks
    assert any(line.startswith("3.［违反程序］第十三条：通知书于 2025-09-29 送达") for line in remarks)
    assert "1.整改方案.pdf：已删除 JavaScript 动作。" in remarks
    assert hashlib.sha256(b"GZ-RZ-2025-004").hexdigest() in remarks
    assert footer_lines(docx_examples["refused-to-sign"]["备考表"]) == [
        "立卷人：王档案", "检查人：李检查", "立卷日期：2025年12月1日"]


def test_remarks_without_findings_or_notes(tmp_path):
    with open_case(EXAMPLES / "institution-onsite") as bundle:
        made = render.render_remarks(bundle.case, [], tmp_path, page_count=14, manifest_sha256="0" * 64, notes=[],
                                     filed_by="王档案", checked_by="", filed_on=date(2025, 9, 2), fonts=DEFAULT_FONTS)
    lines = docx_text(made).splitlines()
    assert lines[lines.index("一、程序核查情况") + 1] == "未发现程序问题。"
    assert lines[lines.index("二、说明") + 1] == "无。"


def test_remarks_number_each_finding_with_severity_and_article(tmp_path):
    findings = [Finding("x", "第十三条", Severity.violation, "送达过晚"), Finding("y", "第十五条", Severity.info, "重点监管。")]
    with open_case(EXAMPLES / "refused-to-sign") as bundle:
        made = render.render_remarks(bundle.case, findings, tmp_path, page_count=1, manifest_sha256="f" * 64,
                                     notes=[], filed_by="a", checked_by="b", filed_on=date(2025, 9, 2),
                                     fonts=DEFAULT_FONTS)
    lines = docx_text(made).splitlines()
    assert lines[lines.index("一、程序核查情况") + 1:][:2] == ["1.［违反程序］第十三条：送达过晚。", "2.［记录］第十五条：重点监管。"]


def test_render_writes_through_a_temporary_name(tmp_path):
    made = render_example("bureau-video", tmp_path / "w")
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == sorted(
        [f"{d}.docx" for d in DOCUMENTS])
    assert set(made) == set(DOCUMENTS)


# --- PDF level (the real LibreOffice) -------------------------------------------------------------

@pytest.fixture(scope="module")
def pdf_examples(docx_examples, converter, tmp_path_factory) -> dict[str, dict[str, Path]]:
    out = tmp_path_factory.mktemp("pdf")
    pdfs = {}
    for name, documents in docx_examples.items():
        pdfs[name] = {}
        for document, docx in documents.items():
            dest = out / name / f"{document}.pdf"
            dest.parent.mkdir(exist_ok=True)
            converter.convert_to_pdfa(docx, dest)
            pdfs[name][document] = dest
    return pdfs


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_notice_pdf_text_is_the_form_with_the_case_values(pdf_examples, name):
    number, when = EXPECTED[name]
    case = load_example(name)
    text = pdf_text(pdf_examples[name]["约谈通知书"], layout=True)
    assert squeeze(text) == expected_notice(case, number, when)
    assert number in squeeze(text) and "〔" in number and "〕" in number
    for fact in (fact for ground in case["grounds"] for fact in ground["facts"]):
        assert squeeze(fact) in squeeze(text)


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_record_pdf_shows_the_six_steps_in_order(pdf_examples, name):
    text = squeeze(pdf_text(pdf_examples[name]["约谈记录"], layout=True))
    positions = [text.find(step) for step in SIX_STEPS]
    assert -1 not in positions and positions == sorted(positions)
    assert ("约谈对象拒绝签字" in text) == (name == "refused-to-sign")


def test_remarks_pdf_text_gives_back_the_manifest_hash(pdf_examples):
    for name in EXAMPLE_NAMES:
        digest = hashlib.sha256(load_example(name)["case_id"].encode()).hexdigest()
        assert digest in squeeze(pdf_text(pdf_examples[name]["备考表"]))


def test_file_list_and_cover_pdf_text(pdf_examples):
    file_list = squeeze(pdf_text(pdf_examples["institution-onsite"]["卷内文件目录"], layout=True))
    for value in ("卷内文件目录", "1-3", "5-9", "赣市监检约〔2025〕3号", "整改方案&附件<一>"):
        assert value in file_list
    cover = squeeze(pdf_text(pdf_examples["bureau-video"]["案卷封面"]))
    assert "九江市市场监督管理局约谈案卷" in cover and "6年" in cover and "2025年8月5日至2025年10月20日" in cover


def _fonts(pdf: Path) -> list[list[str]]:
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    return [line.split() for line in out.splitlines()[2:] if line.strip()]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_pdfs_embed_every_font_and_say_pdfa(pdf_examples, document):
    for name in EXAMPLE_NAMES:
        pdf = pdf_examples[name][document]
        fonts = _fonts(pdf)
        assert fonts, pdf
        for row in fonts:
            assert row[-5] == "yes", f"{pdf.name}: font {row[0]} not embedded"
        with pikepdf.open(pdf) as opened:
            meta = opened.open_metadata()
            assert meta.get("pdfaid:part") == "2" and meta.get("pdfaid:conformance") == "B"
        assert check_pdfa(pdf, expect_part=2) == []


def _words(pdf: Path) -> list[tuple[int, float, float, float, float, str]]:
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    words, page = [], 0
    for line in html.splitlines():
        if "<page " in line:
            page += 1
            size = re.search(r'width="([\d.]+)" height="([\d.]+)"', line)
            assert (float(size[1]), float(size[2])) == pytest.approx((595.3, 841.9), abs=0.5)   # A4
        m = re.search(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*)</word>', line)
        if m:
            words.append((page, *(float(m[i]) for i in range(1, 5)), m[5]))
    return words


@pytest.mark.parametrize("document", DOCUMENTS)
def test_pdf_pages_are_a4_and_text_stays_inside_the_margins(pdf_examples, document):
    for name in EXAMPLE_NAMES:
        pdf = pdf_examples[name][document]
        with pikepdf.open(pdf) as opened:
            for page in opened.pages:
                box = [float(v) for v in page.mediabox]
                assert box == pytest.approx([0, 0, 595.28, 841.89], abs=0.5)
        words = _words(pdf)
        assert words
        for page, x0, y0, x1, y1, word in words:
            assert x0 >= 28 * MM - 0.5 and x1 <= (210 - 26) * MM + 0.5, (pdf.name, page, word, x0, x1)
            assert y0 >= 37 * MM - 0.5 and y1 <= (297 - 35) * MM + 0.5, (pdf.name, page, word, y0, y1)


def test_fonts_of_the_settings_reach_the_pdf(converter, tmp_path):
    sans = render.DocumentFonts(title="Noto Sans CJK SC", body="Noto Sans CJK SC", heading="Noto Sans CJK SC")
    docx = render_example("institution-onsite", tmp_path, fonts=sans)["约谈通知书"]
    pdf = converter.convert_to_pdfa(docx, tmp_path / "sans.pdf")
    names = [row[0] for row in _fonts(pdf)]
    assert names and all("Sans" in n for n in names), names
    serif = _fonts(converter.convert_to_pdfa(render_example("institution-onsite", tmp_path / "s")["约谈通知书"],
                                             tmp_path / "serif.pdf"))
    assert any("Serif" in row[0] for row in serif)


# --- `yuetan render` ------------------------------------------------------------------------------

@pytest.fixture
def home(prepare_home, tmp_path):
    made, _ = init_home(prepare_home(tmp_path / "home"))
    return made


def test_render_command_writes_docx_and_pdf_and_says_where(home, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["--home", str(home.path), "render", str(EXAMPLES / "bureau-video"),
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    names = ["约谈通知书.docx", "约谈通知书.pdf", "约谈记录.docx", "约谈记录.pdf"]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    for name in names:
        assert str(out / name) in result.output
    text = squeeze(pdf_text(out / "约谈通知书.pdf", layout=True))
    # the case has no number: the registry's first for 赣市监检约 and 2025
    assert text == expected_notice(load_example("bureau-video"), "赣市监检约〔2025〕1号", "2025年8月12日下午3时")
    assert check_pdfa(out / "约谈通知书.pdf", expect_part=2) == []
    assert SIX_STEPS[5] in squeeze(pdf_text(out / "约谈记录.pdf", layout=True))
    again = CliRunner().invoke(main, ["--home", str(home.path), "render", str(EXAMPLES / "bureau-video"),
                                      "-o", str(tmp_path / "again")])
    assert again.exit_code == 0, again.output
    assert "赣市监检约〔2025〕1号" in squeeze(pdf_text(tmp_path / "again" / "约谈通知书.pdf"))


def test_render_keeps_the_case_number_and_registers_it(home, tmp_path, converter):
    from pipeline.dossier import render_case_documents

    class Counting:
        def __init__(self, inner):
            self.inner, self.calls = inner, 0

        def convert_to_pdfa(self, src, dest, *, timeout=None):
            self.calls += 1
            return self.inner.convert_to_pdfa(src, dest, timeout=timeout)

    counting = Counting(converter)
    made = render_case_documents(EXAMPLES / "refused-to-sign", tmp_path / "o", home=open_home(home.path),
                                 converter=counting)
    assert counting.calls == 2 and len(made) == 4
    assert "赣市监检约〔2025〕12号" in squeeze(pdf_text(tmp_path / "o" / "约谈通知书.pdf"))
    with home.numbers() as registry:
        assert registry.register("赣市监检约〔2025〕12号", "GZ-RZ-2025-004") == "赣市监检约〔2025〕12号"


def test_render_refuses_a_bad_case_and_writes_nothing(home, make_case, tmp_path):
    bad = make_case("institution-onsite", lambda c: c["target"].update(credit_code="91360100MA35K2Q74X"))
    before = tree_snapshot(home.path)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["--home", str(home.path), "render", str(bad), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "target.credit_code" in result.output
    assert not out.exists()
    assert tree_snapshot(home.path) == before
