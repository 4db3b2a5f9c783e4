"""PDF/A check for the archive: the clauses that matter, in Chinese, without rewriting the file.

Two layers. Our own checks name the problems an archivist can act on (encryption, fonts, output
intent, XMP identification, active content, embedded files, trailer /ID, header and end-of-file
marker). pikepdf's allow-list validator (`pikepdf.pdfa.validate_written`) then covers the rest;
its findings that repeat ours are left out, the others are passed on with a Chinese lead-in.
The validator trusts file-level syntax, so `qpdf --check` runs as well (for a ladder's candidate, the same
checks by pikepdf's libqpdf in process: `assess_pdfa(syntax="pikepdf")`).

The file is only read, never saved, so a signed PDF with incremental updates keeps its bytes.
pikepdf's validator sees an in-memory copy from which a few constructs it does not know are taken
out and checked here instead (see `_validator_view`: signature fields, /OpenAction); custom XMP
properties declared in a PDF/A extension schema are accepted (`XmpExtensions`).

Two verdicts are kept apart (`assess_pdfa`): a clause violated, and a construct PDF/A-2 allows but the
validator does not check (pattern colour spaces, shadings, Type 3 fonts, JPEG 2000) or a check that
could not run on the file: "cannot confirm". `check_pdfa` counts both as problems; normalisation sends
a file with only the second kind down its ladder to a rung whose output can be confirmed.
"""
from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream

from archive_store.errors import ExternalProgramError, InvalidArgument
from pipeline.external.libreoffice import LibreOfficeConverter
from pipeline.external.qpdf import qpdf_check
from pipeline.pdf import type1

type1.install()      # for every use of the validator in a process that checks: ours and normalisation's

# Action types PDF/A forbids (ISO 19005-2 and -3 6.5.1; -1 6.6.1 forbids a subset).
FORBIDDEN_ACTIONS = frozenset({
    "/Launch", "/Sound", "/Movie", "/ResetForm", "/ImportData", "/JavaScript", "/Hide",
    "/SetOCGState", "/Rendition", "/Trans", "/GoTo3DView", "/RichMediaExecute",
})
ACTION_LABELS = {
    "/JavaScript": "JavaScript", "/Launch": "Launch（启动外部程序）", "/URI": "URI（打开网址）",
    "/SubmitForm": "SubmitForm（提交表单）", "/ImportData": "ImportData（导入数据）",
    "/ResetForm": "ResetForm（重置表单）", "/GoToR": "GoToR（打开其他文件）",
    "/GoToE": "GoToE（打开嵌入文件）", "/Sound": "Sound（播放声音）", "/Movie": "Movie（播放影片）",
    "/Hide": "Hide（隐藏注释）", "/SetOCGState": "SetOCGState（切换图层）",
    "/Rendition": "Rendition（多媒体播放）", "/Trans": "Trans（页面过渡）",
    "/GoTo3DView": "GoTo3DView（3D 视图）", "/RichMediaExecute": "RichMediaExecute（富媒体）",
    "/Named": "Named（非翻页的命名动作）",
}
ALLOWED_NAMED_ACTIONS = frozenset({"/NextPage", "/PrevPage", "/FirstPage", "/LastPage"})
_FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")
_HEADER = re.compile(rb"%PDF-1\.[0-7][\r\n]")

# pikepdf validator rules our own checks already report (ISO 19005-2/-3 and -1 clause ids).
_COVERED_RULES = re.compile(
    r"^ISO_19005_[23]:(6\.1\.2-[12]|6\.1\.3-[123]|6\.2\.11\.4\.1-1|6\.5\.1-[12]|6\.5\.2-\d+"
    r"|6\.6\.2\.1-1|6\.6\.4-[123])$"
    r"|^ISO_19005_1:(6\.1\.2-[12]|6\.1\.3-[123]|6\.3\.4-1|6\.6\.1-[12]|6\.6\.2-\d+|6\.7\.2-1"
    r"|6\.7\.11-[123])$"
    r"|^pikepdf:output-intent$")
_REPORTED_BY_US = {("pikepdf:schema-Action", "unrecognized key(s) /JS are not checked")}


@dataclass(frozen=True)
class PdfaAssessment:
    """What the check found, split by certainty (in Chinese).

    `violations` break a PDF/A clause; `unconfirmed` are constructs PDF/A allows but this check cannot
    confirm (pattern colour spaces, shadings, Type 3 fonts, JPEG 2000: pikepdf's validator does not
    check them), or a check that could not run on this file. Only a file with neither passes."""

    violations: list[str] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations and not self.unconfirmed

    @property
    def problems(self) -> list[str]:
        return self.violations + self.unconfirmed


def check_pdfa(path: Path, *, expect_part: int | None = None) -> list[str]:
    """Problems that keep `path` from being PDF/A (in Chinese); an empty list means it passes.

    `expect_part` (1, 2 or 3) also requires the XMP `pdfaid:part` to be that part. What cannot be
    confirmed counts as a problem here; `assess_pdfa` tells the two apart.
    """
    return assess_pdfa(path, expect_part=expect_part).problems


def assess_pdfa(path: Path, *, expect_part: int | None = None, validator: bool = True,
                syntax: str = "qpdf") -> PdfaAssessment:
    """`check_pdfa` with violations and unconfirmed constructs apart; no construct makes it raise.

    `validator=False` leaves pikepdf's validator out, for a file whose very bytes it has just approved
    (`pikepdf.pdfa.save` validates what it writes): the rest of the check still runs.
    `syntax="pikepdf"` makes the file-level check the one pikepdf's own libqpdf does in this process
    (`Pdf.check_pdf_syntax`, which follows `qpdf --check` step by step), instead of the qpdf program: for a ladder's
    candidate, which reaches the dossier's check, and its `qpdf --check`, if it is kept. On a scan it saves the
    0.13 s the qpdf program spends compressing again each image it has decoded, only to discard it."""
    if syntax not in ("qpdf", "pikepdf"):
        raise InvalidArgument(f"未知的语法检查方式“{syntax}”：只能是 qpdf 或 pikepdf")
    path = Path(path)
    if not path.is_file():
        raise InvalidArgument(f"“{path}”不存在或不是文件：请确认要检查的 PDF 路径")
    problems = _file_layout(path)
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError:
        return PdfaAssessment(problems + ["文件已加密（需要密码才能打开）：PDF/A 不允许加密，请提供未加密的版本"])
    except pikepdf.PdfError as exc:
        return PdfaAssessment(problems + [f"无法解析为 PDF（{exc}）：文件可能已损坏，请重新生成"])
    if syntax == "pikepdf":
        syntax_problems = _syntax_in_process(pdf, path)         # first, as qpdf would see the file: freshly opened
        assessment = _assess_open(pdf, path, problems, expect_part, validator)
    else:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="qpdf-check") as side:
            # qpdf --check is another process: it runs while the Python checks below do (a third of the time before)
            checked = side.submit(qpdf_check, path)
            assessment = _assess_open(pdf, path, problems, expect_part, validator)     # an error waits for qpdf too
            syntax_problems = checked.result()
    return PdfaAssessment(_unique(assessment.violations + [f"qpdf 检查发现问题：{p}" for p in syntax_problems]),
                          assessment.unconfirmed)


def _syntax_in_process(pdf: pikepdf.Pdf, path: Path) -> list[str]:
    """What `qpdf --check` reports on `path`, found by pikepdf's libqpdf on the open `pdf` (streams decoded and
    discarded, page contents parsed), in the form `qpdf_check` gives: no WARNING/ERROR lead, no path."""
    try:
        found = pdf.check_pdf_syntax()
    except pikepdf.PdfError as exc:            # what qpdf --check would report as an error and stop at
        found = [f"ERROR: {exc}"]
    names = {str(path), os.fspath(path.absolute())}
    lines = []
    for line in found:
        line = line.strip().removeprefix("WARNING: ").removeprefix("ERROR: ")
        for name in names:
            if line.startswith((name + ": ", name + " ")):
                line = line[len(name):].lstrip(": ")
        lines.append(line)
    return _unique(lines)


def _assess_open(pdf: pikepdf.Pdf, path: Path, layout: list[str], expect_part: int | None,
                 validator: bool) -> PdfaAssessment:
    """Our clause checks and pikepdf's validator on the opened file (closed here); `layout` found before."""
    problems = list(layout)
    unconfirmed: list[str] = []
    with pdf:
        part = expect_part or declared_part(pdf)
        problems += _guarded(lambda: _document_checks(pdf, part, expect_part) + _signatures(pdf, path),
                             "本系统的条款检查", unconfirmed)
        encrypted = pdf.is_encrypted
        extensions = _xmp_extensions(pdf)
    if validator and not encrypted:  # encrypted: the validator would only repeat it
        violated, unsure = _guarded(lambda: _validator_problems(path, part or 2, extensions),
                                    "pikepdf 的 PDF/A 校验器", unconfirmed) or ([], [])
        problems += violated
        unconfirmed += unsure
    return PdfaAssessment(_unique(problems), _unique(unconfirmed))


def _guarded(check, what: str, unconfirmed: list[str]):
    """Run one layer of the check; a construct it cannot handle makes its verdict unknown, not a crash."""
    try:
        return check()
    except (ExternalProgramError, InvalidArgument):
        raise
    except Exception as exc:  # noqa: BLE001 - any construct a checker trips on is "cannot confirm"
        unconfirmed.append(f"{what}无法处理此文件（{type(exc).__name__}: {' '.join(str(exc).split())[:120]}），"
                           "无法确认是否符合 PDF/A")
        return []


def _document_checks(pdf: pikepdf.Pdf, part: int | None, expect_part: int | None) -> list[str]:
    """Our own clause checks on an open document."""
    return (_encryption(pdf) + _trailer_id(pdf) + _pdf_version(pdf) + _output_intent(pdf)
            + _xmp_identification(pdf, expect_part)
            + _unembedded_fonts(pdf) + active_content(pdf) + _forms(pdf) + _embedded_files(pdf, part))


# --- file layout -----------------------------------------------------------------------------------------

def _file_layout(path: Path) -> list[str]:
    """Header and end-of-file marker (ISO 19005-2 6.1.2, 6.1.3): byte-level, so read the bytes."""
    problems = []
    with open(path, "rb") as f:
        head = f.read(64)
        f.seek(max(0, path.stat().st_size - 32))
        tail = f.read()
    match = _HEADER.match(head)
    if not match:
        problems.append("文件头不是“%PDF-1.0”至“%PDF-1.7”且紧跟换行：不符合 PDF/A 的文件头要求")
    else:
        second = head[match.end():].lstrip(b"\n")
        if not (second.startswith(b"%") and sum(b > 127 for b in second[1:5]) == 4):
            problems.append("文件头第二行不是含 4 个以上二进制字节的注释：不符合 PDF/A 的文件头要求")
    if not re.search(rb"%%EOF(\r\n|\r|\n)?$", tail):
        problems.append("文件末尾的“%%EOF”之后还有数据（或缺少“%%EOF”）：不符合 PDF/A 要求，文件可能被截断或追加了内容")
    return problems


# --- trailer, encryption, output intent, XMP -------------------------------------------------------------

def _encryption(pdf: pikepdf.Pdf) -> list[str]:
    """Encryption is forbidden even without a user password (owner restrictions only)."""
    return ["文件已加密：PDF/A 不允许加密，请提供未加密的版本"] if pdf.is_encrypted else []


def _trailer_id(pdf: pikepdf.Pdf) -> list[str]:
    file_id = pdf.trailer.get("/ID")
    if isinstance(file_id, Array) and len(file_id) == 2:
        return []
    return ["文件尾（trailer）缺少文件标识 /ID：PDF/A 要求必须有 /ID"]


def _pdf_version(pdf: pikepdf.Pdf) -> list[str]:
    """The catalog /Version overrides the header (a signer may raise it), and developer extensions
    must build on PDF 1.7 at most: PDF/A-2 and -3 are based on PDF 1.7 (ISO 19005-2 6.1.2)."""
    problems = []
    version = pdf.Root.get("/Version")
    if version is not None and not re.fullmatch(r"/1\.[0-7]", str(version)):
        problems.append(f"文档目录声明的 PDF 版本为 {str(version)[1:]}：PDF/A-2、PDF/A-3 基于 PDF 1.7，不允许更高版本")
    extensions = pdf.Root.get("/Extensions")
    for prefix, ext in (extensions.items() if isinstance(extensions, Dictionary) else []):
        for entry in ext if isinstance(ext, Array) else [ext]:
            base = str(entry.get("/BaseVersion", "")) if isinstance(entry, Dictionary) else ""
            if base and not re.fullmatch(r"/1\.[0-7]", base):
                problems.append(f"开发者扩展 {prefix[1:]} 基于 PDF {base[1:]}：PDF/A-2、PDF/A-3 基于 PDF 1.7，不允许更高版本")
    return problems


def _output_intent(pdf: pikepdf.Pdf) -> list[str]:
    """An OutputIntent with /S /GTS_PDFA1 and an ICC profile fixes how device colours look."""
    intents = pdf.Root.get("/OutputIntents")
    for intent in intents if isinstance(intents, Array) else []:
        if isinstance(intent, Dictionary) and intent.get("/S") == Name.GTS_PDFA1:
            if isinstance(intent.get("/DestOutputProfile"), Stream):
                return []
            return ["输出意图（OutputIntent /GTS_PDFA1）缺少 ICC 色彩配置文件（DestOutputProfile）"]
    return ["缺少 PDF/A 输出意图（OutputIntent，/S /GTS_PDFA1）：无法确定颜色的呈现方式"]


def declared_part(pdf: pikepdf.Pdf) -> int | None:
    """The PDF/A part the XMP metadata claims, or None."""
    part, _ = _pdfaid(pdf)
    return int(part) if part and part.strip().isdigit() else None


def _pdfaid(pdf: pikepdf.Pdf) -> tuple[str | None, str | None]:
    if "/Metadata" not in pdf.Root:
        return None, None
    try:
        meta = pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False)
        return meta.get("pdfaid:part"), meta.get("pdfaid:conformance")
    except Exception:  # noqa: BLE001 - malformed XMP is reported, not raised
        return None, None


def _xmp_identification(pdf: pikepdf.Pdf, expect_part: int | None) -> list[str]:
    """XMP `pdfaid:part` and `pdfaid:conformance` (ISO 19005-2 6.6.4) say which PDF/A this is."""
    if not isinstance(pdf.Root.get("/Metadata"), Stream):
        return ["缺少 XMP 元数据（/Metadata）：无法声明 PDF/A 标识（pdfaid:part、pdfaid:conformance）"]
    part, conformance = _pdfaid(pdf)
    problems = []
    if not part:
        problems.append("XMP 元数据缺少 pdfaid:part：文件没有声明为 PDF/A")
    elif expect_part is not None and part.strip() != str(expect_part):
        problems.append(f"XMP 声明为 PDF/A-{part}，但要求 PDF/A-{expect_part}")
    if not conformance:
        problems.append("XMP 元数据缺少 pdfaid:conformance（符合性级别，如 B）")
    elif conformance.strip().upper() not in ("A", "B", "U"):
        problems.append(f"XMP 的 pdfaid:conformance 为“{conformance}”，应为 A、B 或 U")
    return problems


# --- fonts -----------------------------------------------------------------------------------------------

def _unembedded_fonts(pdf: pikepdf.Pdf) -> list[str]:
    """Every font a page can use must carry its glyphs (FontFile, FontFile2 or FontFile3)."""
    missing: dict[str, list[int]] = {}
    for number, page in enumerate(pdf.pages, 1):
        for font in _fonts_used(page.obj, set()):
            for name in _unembedded(font):
                pages = missing.setdefault(name, [])
                if number not in pages:
                    pages.append(number)
    return [f"字体“{name}”未嵌入（{_page_list(pages)}）：PDF/A 要求嵌入全部字体，"
            "请在导出 PDF 时选择“嵌入字体”或直接导出为 PDF/A" for name, pages in missing.items()]


def _page_list(pages: list[int], limit: int = 10) -> str:
    shown = f"第 {'、'.join(map(str, pages[:limit]))} 页"
    return shown + (f"等共 {len(pages)} 页" if len(pages) > limit else "")


def _fonts_used(holder, seen: set) -> Iterator[Dictionary]:
    """Fonts in `holder`'s resources, its form XObjects, patterns, Type 3 fonts and annotation
    appearances; `seen` (one per page) keeps shared or cyclic objects from being walked twice."""
    if not _first_visit(holder, seen):
        return
    resources = holder.get("/Resources")
    if isinstance(resources, Dictionary):
        for font in _values(resources.get("/Font")):
            if isinstance(font, Dictionary):
                yield font
                if font.get("/Subtype") == Name.Type3:
                    yield from _fonts_used(font, seen)
        for key in ("/XObject", "/Pattern"):
            for child in _values(resources.get(key)):
                if isinstance(child, (Dictionary, Stream)):
                    yield from _fonts_used(child, seen)
    for annot in _values(holder.get("/Annots")):
        if isinstance(annot, Dictionary):
            for appearance in _appearance_streams(annot):
                yield from _fonts_used(appearance, seen)


def _appearance_streams(annot: Dictionary) -> Iterator[Stream]:
    ap = annot.get("/AP")
    for state in _values(ap):
        if isinstance(state, Stream):
            yield state
        elif isinstance(state, Dictionary):
            yield from (s for s in _values(state) if isinstance(s, Stream))


def _unembedded(font: Dictionary) -> list[str]:
    """Names of the font programs missing for `font` (Type 0: its descendant fonts)."""
    subtype = font.get("/Subtype")
    if subtype == Name.Type3:
        return []
    if subtype == Name.Type0:
        return [name for d in _values(font.get("/DescendantFonts")) if isinstance(d, Dictionary)
                for name in _unembedded(d)]
    descriptor = font.get("/FontDescriptor")
    if isinstance(descriptor, Dictionary) and any(isinstance(descriptor.get(k), Stream) for k in _FONT_FILES):
        return []
    return [str(font.get("/BaseFont", "/（无名字体）"))[1:]]


# --- active content, forms, embedded files ---------------------------------------------------------------

def active_content(pdf: pikepdf.Pdf) -> list[str]:
    """JavaScript, forbidden actions and additional actions (AA) anywhere in the file, reachable
    or not: every object of the cross-reference table and the direct objects inside it."""
    problems = []
    names = pdf.Root.get("/Names")
    if isinstance(names, Dictionary) and "/JavaScript" in names:
        problems.append("含文档级 JavaScript（Names/JavaScript）：PDF/A 不允许")
    for obj in pdf.objects:
        if isinstance(obj, (Dictionary, Stream)):
            where = f"对象 {obj.objgen[0]} {obj.objgen[1]}"
            problems += [f"{where}：{p}" for p in _actions_in(obj)]
    return problems


def _actions_in(obj, depth: int = 0) -> Iterator[str]:
    """Forbidden things in `obj` and in the direct (inline) objects it holds."""
    if isinstance(obj, (Dictionary, Stream)):
        kind = obj.get("/S")
        if is_forbidden_action(obj):
            yield f"含禁止的 {action_name(str(kind))}，PDF/A 不允许"
        elif "/JS" in obj:
            yield "含 JavaScript（/JS），PDF/A 不允许"
        if isinstance(obj.get("/AA"), Dictionary) and len(obj.get("/AA").keys()):
            yield "含附加动作（/AA，打开、翻页或点击时自动执行），PDF/A 不允许"
        children = [value for _, value in obj.items()]   # items(): keys may not be UTF-8
    elif isinstance(obj, Array):
        children = list(obj)
    else:
        return
    for child in children:
        if isinstance(child, (Dictionary, Array)) and not child.is_indirect and depth < 32:
            yield from _actions_in(child, depth + 1)


def action_name(kind: str) -> str:
    """'JavaScript 动作', 'Launch（启动外部程序）动作': the label of an action type for messages."""
    label = ACTION_LABELS.get(kind, kind.lstrip("/"))
    return label + ("动作" if label.endswith("）") else " 动作")


def is_forbidden_action(action) -> bool:
    """True for an action dictionary PDF/A forbids (its type, or a named action beyond paging)."""
    kind = str(action.get("/S"))
    if action.get("/Type", Name.Action) != Name.Action:
        return False
    if kind == "/Named":
        return str(action.get("/N")) not in ALLOWED_NAMED_ACTIONS
    return kind in FORBIDDEN_ACTIONS


def signature_fields_only(pdf: pikepdf.Pdf) -> bool:
    """True if the AcroForm only carries signature fields, as signing a PDF/A adds them."""
    form = pdf.Root.get("/AcroForm")
    fields = form.get("/Fields") if isinstance(form, Dictionary) else None
    if not isinstance(fields, Array):
        return False
    return all(isinstance(f, Dictionary) and f.get("/FT") == Name.Sig for f in fields)


def _forms(pdf: pikepdf.Pdf) -> list[str]:
    """The form clauses (ISO 19005-2 6.4): no XFA, no NeedAppearances, no NeedsRendering."""
    problems = []
    if pdf.Root.get("/NeedsRendering"):
        problems.append("文档目录含 NeedsRendering（要求阅读器动态生成页面）：PDF/A 不允许")
    form = pdf.Root.get("/AcroForm")
    if not isinstance(form, Dictionary):
        return problems
    if "/XFA" in form:
        problems.append("含 XFA 表单（AcroForm/XFA）：PDF/A 不允许")
    if form.get("/NeedAppearances") is True:
        problems.append("表单要求阅读器自行绘制外观（NeedAppearances 为 true）：PDF/A 不允许")
    return problems


def _signatures(pdf: pikepdf.Pdf, path: Path) -> list[str]:
    """Signature fields: widget flags and appearance (6.3.2, 6.3.3), no actions (6.4.1), and a
    signature over its whole revision holding one signer and the signing certificate (6.4.3).
    pikepdf's validator does not know widgets, so these are ours."""
    problems = []
    fields = _signature_fields(pdf)
    eof_ends = _revision_ends(path) if fields else set()
    for signature in fields:
        name = str(signature.get("/T", "（无名）"))
        problems += [f"签名域“{name}”{p}" for w in _widgets(signature) for p in _widget_problems(w)]
        value = signature.get("/V")
        if isinstance(value, Dictionary):
            problems += [f"签名域“{name}”{p}" for p in _signature_value_problems(value, eof_ends)]
    return problems


def _signature_fields(pdf: pikepdf.Pdf) -> list[Dictionary]:
    form = pdf.Root.get("/AcroForm")
    fields = form.get("/Fields") if isinstance(form, Dictionary) else None
    return [f for f in _values(fields) if isinstance(f, Dictionary) and f.get("/FT") == Name.Sig]


def _widgets(form_field: Dictionary) -> list[Dictionary]:
    """A field's widget annotations: its kids, or the field itself when the two are merged."""
    kids = [k for k in _values(form_field.get("/Kids")) if isinstance(k, Dictionary)]
    return kids or [form_field]


def _widget_problems(widget: Dictionary) -> list[str]:
    flags = widget.get("/F")
    problems = []
    if not isinstance(flags, int) or flags & 0b100100011 or not flags & 0b100:
        problems.append("的注释标志 /F 未设“打印”或设了“隐藏/不可见/不显示”：PDF/A 要求可打印、可见")
    if "/A" in widget:
        problems.append("带有动作（/A）：PDF/A 不允许表单域执行动作")
    rect = [float(v) for v in _values(widget.get("/Rect")) if isinstance(v, (int, float, Decimal))]
    zero_size = len(rect) == 4 and rect[0] == rect[2] and rect[1] == rect[3]
    appearance = widget.get("/AP")
    if appearance is None and not zero_size:
        problems.append("缺少外观（/AP）：PDF/A 要求可见的注释有外观流")
    elif isinstance(appearance, Dictionary) and (set(appearance.keys()) != {"/N"}
                                                 or not isinstance(appearance.get("/N"), Stream)):
        problems.append("的外观（/AP）应只有一个外观流 /N")
    return problems


def _signature_value_problems(value: Dictionary, eof_ends: set[int]) -> list[str]:
    problems = []
    byte_range = [v for v in _values(value.get("/ByteRange")) if isinstance(v, int)]
    if len(byte_range) != 4 or byte_range[0] != 0 or byte_range[2] + byte_range[3] not in eof_ends:
        problems.append("的 /ByteRange 没有覆盖其所在版本的整个文件：PDF/A 要求签名摘要覆盖全文件（签名本身除外）")
    contents = value.get("/Contents")
    signers, certificates = _cms_counts(bytes(contents) if isinstance(contents, pikepdf.String) else b"")
    if signers != 1 or certificates < 1:
        problems.append("的签名数据（PKCS#7）应恰好有一个签名者并包含签名证书")
    return problems


def _cms_counts(der: bytes) -> tuple[int, int]:
    """(signers, certificates) in a PKCS#7 signature; (0, 0) if it cannot be read."""
    from asn1crypto import cms

    from pipeline.pdf.seal import der_value

    try:
        signed = cms.ContentInfo.load(der_value(der))["content"]
        certificates = signed["certificates"]
        return len(signed["signer_infos"]), len(certificates) if certificates.native else 0
    except (ValueError, TypeError, KeyError, AttributeError):
        return 0, 0


def _revision_ends(path: Path) -> set[int]:
    """Offsets just past each %%EOF marker (and its end-of-line), where a revision ends."""
    data = path.read_bytes()
    markers = list(re.finditer(rb"%%EOF(\r\n|\r|\n)?", data))
    return {m.end() for m in markers} | {m.start() + 5 for m in markers}


def _embedded_files(pdf: pikepdf.Pdf, part: int | None) -> list[str]:
    """PDF/A-1 forbids embedded files; PDF/A-3 needs each described and listed in the catalog /AF."""
    specs = dict(_embedded_specs(pdf))
    if not specs:
        return []
    if part == 1:
        return [f"嵌入了文件“{name}”：PDF/A-1 不允许嵌入文件" for name in specs]
    if part == 2:
        return [f"嵌入文件“{name}”不是 PDF：PDF/A-2 只允许嵌入符合 PDF/A 的文件"
                for name, spec in specs.items() if not _embedded_bytes(spec).startswith(b"%PDF-")]
    listed = pdf.Root.get("/AF")
    listed_ids = {o.objgen for o in listed if o.is_indirect} if isinstance(listed, Array) else set()
    problems = []
    for name, spec in specs.items():
        if "/AFRelationship" not in spec:
            problems.append(f"嵌入文件“{name}”缺少 /AFRelationship（与文档的关系，如 Source、Data）")
        stream = _embedded_stream(spec)
        if not (isinstance(stream, Stream) and isinstance(stream.get("/Subtype"), Name)):
            problems.append(f"嵌入文件“{name}”缺少 MIME 类型（/Subtype）")
        if not (spec.is_indirect and spec.objgen in listed_ids):
            problems.append(f"嵌入文件“{name}”未列入文档目录的关联文件 /AF")
    return problems


def _embedded_stream(spec: Dictionary) -> Stream | None:
    ef = spec.get("/EF")
    stream = ef.get("/UF", ef.get("/F")) if isinstance(ef, Dictionary) else None
    return stream if isinstance(stream, Stream) else None


def _embedded_bytes(spec: Dictionary) -> bytes:
    stream = _embedded_stream(spec)
    try:
        return stream.read_bytes()[:8] if stream is not None else b""
    except pikepdf.PdfError:
        return b""


def _embedded_specs(pdf: pikepdf.Pdf) -> Iterator[tuple[str, Dictionary]]:
    try:
        for name, attached in pdf.attachments.items():
            yield name, attached.obj
    except pikepdf.PdfError:
        yield "（无法读取的嵌入文件目录）", Dictionary()


# --- pikepdf's validator ---------------------------------------------------------------------------------

def _validator_problems(path: Path, part: int, extensions: XmpExtensions) -> tuple[list[str], list[str]]:
    """pikepdf's allow-list validator on a view of the file, minus what we report ourselves:
    (violations, constructs it cannot confirm)."""
    if part not in (1, 2, 3):
        return [f"无法校验 PDF/A-{part}：本系统只校验 PDF/A-1、PDF/A-2、PDF/A-3"], []
    try:
        import pikepdf.pdfa as pdfa_validator
    except ImportError as exc:
        raise ExternalProgramError(
            f"pikepdf 的 PDF/A 校验模块缺少依赖（{exc}）：请在项目目录执行 make install") from None
    report = pdfa_validator.validate_written(_validator_view(path), f"{part}b")
    problems: tuple[list[str], list[str]] = ([], [])
    for finding in report.findings:
        if (_COVERED_RULES.search(finding.rule) or (finding.rule, finding.message) in _REPORTED_BY_US
                or extensions.declares(finding.message)):
            continue
        violated = finding.kind == "violation"
        verdict = "不符合" if violated else "无法确认是否符合"
        where = re.sub(r"obj \d+ \d+ ?", "", finding.where).strip() or "文档"
        problems[0 if violated else 1].append(
            f"PDF/A-{part}b {verdict}（{finding.rule}，位置 {where}）：{finding.message}")
    return problems


def _validator_view(path: Path) -> io.BytesIO:
    """The file as pikepdf's validator should see it, written to memory with streams untouched.

    The validator stops descending at an object it cannot confirm, so a harmless construct it
    does not know would hide everything below it (a trailer /DocChecksum hides the whole
    document). Taken out of this view are LibreOffice's /DocChecksum and what we check ourselves:
    the /OpenAction (for forbidden actions), and signature fields with their widgets and /Perms.
    """
    with pikepdf.open(path, inherit_page_attributes=False) as view, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pikepdf warns about widgets without a form; intended here
        for key in ("/DocChecksum",):
            if key in view.trailer:
                del view.trailer[key]
        if "/OpenAction" in view.Root:
            del view.Root["/OpenAction"]
        if signature_fields_only(view):
            _hide_signature_fields(view)
        _hide_pades_extension(view)
        buffer = io.BytesIO()
        view.save(buffer, stream_decode_level=pikepdf.StreamDecodeLevel.none, compress_streams=False,
                  fix_metadata_version=False, object_stream_mode=pikepdf.ObjectStreamMode.preserve)
    buffer.seek(0)
    return buffer


def _hide_pades_extension(view: pikepdf.Pdf) -> None:
    """The ESIC developer extension (ETSI EN 319 142-1) declares a PAdES signature in a PDF 1.7 file;
    PDF 1.7 allows developer extensions and `_pdf_version` checks their base version."""
    extensions = view.Root.get("/Extensions")
    if isinstance(extensions, Dictionary) and "/ESIC" in extensions:
        del extensions["/ESIC"]
        if not len(extensions.keys()):
            del view.Root["/Extensions"]


def _hide_signature_fields(view: pikepdf.Pdf) -> None:
    widgets = {w.objgen for f in _signature_fields(view) for w in _widgets(f) if w.is_indirect}
    for page in view.pages:
        annots = page.obj.get("/Annots")
        if isinstance(annots, Array):
            keep = [a for a in annots if not (a.is_indirect and a.objgen in widgets)]
            if len(keep) != len(annots):
                page.obj.Annots = Array(keep)
    del view.Root["/AcroForm"]
    if "/Perms" in view.Root:
        del view.Root["/Perms"]


# --- XMP extension schemas ------------------------------------------------------------------------------

_EXTENSION_NAMESPACES = frozenset({
    "http://www.aiim.org/pdfa/ns/extension/", "http://www.aiim.org/pdfa/ns/schema#",
    "http://www.aiim.org/pdfa/ns/property#", "http://www.aiim.org/pdfa/ns/type#",
    "http://www.aiim.org/pdfa/ns/field#",
})
_RDF_LI = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}li"
_SCHEMA_URI = "{http://www.aiim.org/pdfa/ns/schema#}namespaceURI"
_PROPERTY_NAME = "{http://www.aiim.org/pdfa/ns/property#}name"
_NOT_PERMITTED = re.compile(r"^XMP (namespace (?P<prefix>[\w.-]+)=(?P<uri>\S+)|property (?P<p>[\w.-]+):(?P<name>[\w.-]+)) "
                            r"is not permitted$")


@dataclass(frozen=True)
class XmpExtensions:
    """Custom XMP properties the packet declares in PDF/A extension schemas (ISO 19005-2 6.6.2.3).

    pikepdf's validator only knows the predefined schemas and calls every custom namespace a
    violation; what an extension schema in the same packet declares is legitimate."""

    properties: dict[str, frozenset[str]] = field(default_factory=dict)   # namespace URI -> names
    prefixes: dict[str, str] = field(default_factory=dict)                # prefix -> namespace URI

    def declares(self, message: str) -> bool:
        match = _NOT_PERMITTED.match(message)
        if not match or not self.properties:
            return False
        if match["uri"]:
            return match["uri"] in self.properties or match["uri"] in _EXTENSION_NAMESPACES
        uri = self.prefixes.get(match["p"], "")
        return match["name"] in self.properties.get(uri, ()) or (
            uri == "http://www.aiim.org/pdfa/ns/extension/" and match["name"] == "schemas")


def _xmp_extensions(pdf: pikepdf.Pdf) -> XmpExtensions:
    metadata = pdf.Root.get("/Metadata")
    try:
        text = metadata.read_bytes().decode("utf-8") if isinstance(metadata, Stream) else ""
        root = ElementTree.fromstring(text.strip()) if "pdfaExtension" in text else None
    except (pikepdf.PdfError, UnicodeDecodeError, ElementTree.ParseError):
        return XmpExtensions()
    if root is None:
        return XmpExtensions()
    properties = {}
    for schema in root.iter(_RDF_LI):
        uri = schema.find(_SCHEMA_URI)
        if uri is not None and uri.text:
            properties[uri.text.strip()] = frozenset(
                (n.text or "").strip() for n in schema.iter(_PROPERTY_NAME))
    prefixes = dict(re.findall(r'xmlns:([\w.-]+)\s*=\s*["\']([^"\']+)["\']', text))
    return XmpExtensions(properties, prefixes)


# --- helpers ---------------------------------------------------------------------------------------------

def _values(obj) -> list:
    if isinstance(obj, (Dictionary, Stream)):
        return [value for _, value in obj.items()]   # items(): keys may not be UTF-8 (Latin-1 names)
    if isinstance(obj, Array):
        return list(obj)
    return []


def _first_visit(obj, seen: set) -> bool:
    """False if this indirect object was walked before; direct objects cannot form cycles."""
    if not obj.is_indirect:
        return True
    if obj.objgen in seen:
        return False
    seen.add(obj.objgen)
    return True


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def pdfa_converter(**options) -> LibreOfficeConverter:
    """The LibreOffice converter whose every output is checked as PDF/A-2b before it is kept."""
    return LibreOfficeConverter(check_output=lambda path: check_pdfa(path, expect_part=2), **options)
