"""Normalise: every accepted upload becomes one searchable PDF/A-2b file, without active content.

An upload is first read and refused only if nothing can read it: not a PDF, DOCX, JPEG or PNG; an
encrypted PDF; a dynamic XFA form with no static pages; a PDF damaged beyond qpdf's repair; an image
that does not decode. PDFs are then repaired where qpdf can and stripped of active content. What is
left climbs the ladder of `pipeline.pdf.ladder`, most faithful rung first (OCRmyPDF as is; colour
and image fixes; Ghostscript; every page rasterised and OCRed); each candidate is stripped again,
written as PDF/A-2b under a temporary name beside `dest` and checked in full (`assess_pdfa`), and
the first that passes is renamed into place. Every rung tried is recorded with its outcome, its
Chinese reasons and its seconds. Word documents go through the LibreOffice converter handed in by
the caller. The original upload is only read.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf
import pikepdf.pdfa as pdfa_writer
from pikepdf import Array, Dictionary, Name, String
from pikepdf.sanitize import remove_attachments
from PIL import Image

from archive_store.durable import atomic_path
from archive_store.errors import (
    CaseProblem,
    ConversionFailed,
    InvalidArgument,
    InvalidCase,
    YuetanError,
    machine_fault,
)
from pipeline.case.media import (
    DOCX,
    MEDIA_TYPE_LABELS,
    PDF,
    expected_media_type,
    sniff_media_type,
)
from pipeline.external.ocrmypdf import DEFAULT_TIMEOUT
from pipeline.external.process import brief
from pipeline.pdf.ladder import (
    IMAGE_RUNGS,
    PDF_RUNGS,
    RUNG_LABELS,
    RUNG_SHORT_LABELS,
    RungAttempt,
    RungInput,
    RungSkipped,
)
from pipeline.pdf.pdfa import (
    FORBIDDEN_ACTIONS,
    action_name,
    assess_pdfa,
    is_forbidden_action,
)

__all__ = ["NormalisedUpload", "normalise_upload", "sniff_media_type", "strip_active_content"]

# The ladder's own version, part of the normalisation cache's key: raise it whenever a change here or in
# pipeline/pdf/ladder.py can change the PDF an upload becomes or how its normalisation is described.
LADDER_VERSION = "4"   # 4: the OCR text layer in a glyphless font; 3: candidates checked by libqpdf in process
LANGUAGE = "zh-CN"
DEFAULT_IMAGE_DPI = 150       # screenshots carry no DPI; 150 gives an A4-ish page for 1280 px
MIN_PLAUSIBLE_DPI = 30        # below this a claimed DPI is a placeholder (0, 1, 2 ...)
# Actions stripped besides those PDF/A forbids: they reach the network, other files or the form.
STRIPPED_ACTIONS = FORBIDDEN_ACTIONS | {"/URI", "/SubmitForm", "/GoToR", "/GoToE"}
MEDIA_ANNOTATIONS = {"/Movie", "/Sound", "/Screen", "/RichMedia", "/3D"}
_MAX_CHAIN = 50
ENCRYPTED = "PDF 已加密，无法归档：请上传未加密的版本"
DYNAMIC_XFA = ("是动态 XFA 表单（NeedsRendering）：页面只能由 Adobe 阅读器按表单数据临时生成，文件中没有可归档的"
               "静态页面。请在 Adobe 阅读器中打开后“打印”为 PDF，再上传打印得到的文件")


@dataclass(frozen=True)
class NormalisedUpload:
    """What became of one upload: where the PDF/A is, which rung made it and what was changed on the way."""

    source: Path
    pdf: Path
    media_type: str
    removed: list[str] = field(default_factory=list)    # active content removed (Chinese notes)
    repaired: list[str] = field(default_factory=list)   # qpdf's warnings and other repairs of a damaged PDF
    ocr_pages: int | None = None                        # pages OCRed; None when no OCR ran (DOCX)
    page_count: int = 0
    rung: str = ""                                      # the rung whose output was kept (ladder.RUNG_LABELS)
    attempts: list[RungAttempt] = field(default_factory=list)   # every rung tried, in order, with seconds
    cached: bool = False                                # served from the normalisation cache (upload_cache)

    @property
    def rung_label(self) -> str:
        return RUNG_LABELS.get(self.rung, self.rung)

    @property
    def changes(self) -> list[str]:
        """What the kept rung changed besides the usual conversion (Chinese)."""
        kept = [a for a in self.attempts if a.outcome == "kept"]
        return list(kept[-1].reasons) if kept else []

    @property
    def rung_seconds(self) -> dict[str, float]:
        """Seconds spent per rung, for the ingest's stage table."""
        return {a.rung: a.seconds for a in self.attempts}

    def manifest_entry(self) -> dict:
        """The manifest's record of how this upload was normalised (no timings: manifests are reproducible)."""
        return {"rung": self.rung, "attempts": [a.as_manifest() for a in self.attempts]}

    def remark(self) -> str:
        """The 备考表 line for this upload: which rung made its PDF/A-2b and, below the first rung,
        what the rungs before it ran into (Chinese)."""
        kept = f"“{self.source.name}”经{RUNG_SHORT_LABELS.get(self.rung, self.rung)}转为 PDF/A-2b"
        before = [a for a in self.attempts if a.outcome != "kept"]
        if not any(a.outcome != "skipped" for a in before):
            return kept
        changes = "、".join(self.changes)
        return (kept + (f"（{changes}）" if changes else "") + "；此前：" + "；".join(a.remark() for a in before)
                + "；原件已原样嵌入案卷，可供比对")


@dataclass
class _Finished:
    page_count: int
    removed: list[str]


class _Rejected(Exception):
    """A rung's candidate did not pass the check: outcome "violated" or "unconfirmed", with reasons."""

    def __init__(self, outcome: str, reasons: list[str]):
        super().__init__(outcome)
        self.outcome, self.reasons = outcome, reasons


def normalise_upload(src: Path, dest: Path, *, converter=None, timeout: float = DEFAULT_TIMEOUT,
                     converted: Path | None = None) -> NormalisedUpload:
    """Turn the upload `src` into a PDF/A-2b at `dest`; refuse (InvalidCase) what cannot be read at all.

    `converter` is an open `LibreOfficeConverter`, needed for DOCX only, unless the DOCX was `converted` already
    (`convert_docx_upload`, in the process that holds the converter; the rest may then run in a job). `timeout`
    bounds each rung of the ladder (and the LibreOffice conversion) in seconds. ConversionFailed when no rung's
    output passes the check, naming the file and each rung's reason.
    """
    src, dest = Path(src), Path(dest)
    if dest.absolute() == src.absolute():
        raise InvalidArgument(f"“{src.name}”的输出路径与原件相同：原件不得改动，请另选输出位置")
    media_type = _accepted_media_type(src)
    with tempfile.TemporaryDirectory(prefix="yuetan-normalise-") as tmp:
        work = Path(tmp)
        if media_type == DOCX:
            started = time.monotonic()
            if converted is None:
                converted = convert_docx_upload(src, work, converter, timeout)
            return _from_converted_docx(src, converted, dest, started)
        if media_type == PDF:
            start = work / "sanitised.pdf"
            removed, repaired = _sanitised_copy(src, start)
            rungs, image_dpi = PDF_RUNGS, None
        else:
            start, removed, repaired, rungs, image_dpi = src, [], [], IMAGE_RUNGS, _checked_image_dpi(src)
        kept, finished, ocr_pages, attempts = _climb(rungs, start, dest, src.name, work, timeout, image_dpi)
    return NormalisedUpload(src, dest, media_type, removed + finished.removed, repaired, ocr_pages,
                            finished.page_count, kept, attempts)


def _climb(rungs, start: Path, dest: Path, name: str, work: Path, timeout: float, image_dpi: int | None):
    """Try each rung in order; keep the first candidate that passes the check. Each rung has `timeout` s."""
    attempts: list[RungAttempt] = []
    for rung, make in rungs:
        folder = work / f"rung-{rung}"
        folder.mkdir()
        started = time.monotonic()
        inp = RungInput(start, name, folder, started + timeout, timeout, image_dpi, tuple(attempts))
        try:
            candidate = make(inp)
            finished = _finish(candidate.pdf, dest, name)
        except RungSkipped as skipped:
            attempts.append(RungAttempt(rung, "skipped", [str(skipped)], _since(started)))
        except _Rejected as rejected:
            attempts.append(RungAttempt(rung, rejected.outcome, rejected.reasons, _since(started)))
        except ConversionFailed as exc:
            late = time.monotonic() >= inp.deadline
            reason = f"本级超过 {timeout:g} 秒时限仍未完成，已中止" if late else exc.message
            attempts.append(RungAttempt(rung, "failed", [reason], _since(started)))
        except YuetanError:
            raise   # a missing program or a broken installation is not this file's fault
        except Exception as exc:  # noqa: BLE001 - whatever a rung trips on, the next rung is tried
            if (fault := machine_fault(exc)) is not None:
                raise fault from exc     # a full disk fails every rung alike, and is not the upload's fault
            attempts.append(RungAttempt(rung, "failed", [f"{type(exc).__name__}: {brief(exc)}"], _since(started)))
        else:
            attempts.append(RungAttempt(rung, "kept", candidate.changes, _since(started)))
            return rung, finished, candidate.ocr_pages, attempts
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    tried = "；".join(a.remark() for a in attempts)
    raise ConversionFailed(f"“{name}”未能转换为可确认的 PDF/A-2b，各级转换均未通过：{tried}。"
                           "请检查文件能否正常打开，必要时重新导出或扫描后上传")


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)


def _refuse(name: str, message: str) -> InvalidCase:
    return InvalidCase([CaseProblem(name, message)])


# --- what the upload is ------------------------------------------------------------------------------------

def _accepted_media_type(src: Path) -> str:
    """The media type, if the content is one we accept and matches the extension."""
    name = src.name
    if not src.is_file():
        raise _refuse(name, "文件不存在或不是普通文件：请确认上传的文件")
    if src.stat().st_size == 0:
        raise _refuse(name, "是空文件（0 字节），请重新上传")
    expected = expected_media_type(name)
    if expected is None:
        raise _refuse(name, "类型不受支持：只接受 PDF、DOCX、JPEG、PNG（.pdf .docx .jpg .jpeg .png）")
    actual = sniff_media_type(src)
    if actual != expected:
        shown = MEDIA_TYPE_LABELS.get(actual, "无法识别的内容") if actual else "无法识别的内容"
        raise _refuse(name, f"扩展名表明是{MEDIA_TYPE_LABELS[expected]}，但内容是{shown}，请上传正确的文件")
    return expected


# --- PDF ---------------------------------------------------------------------------------------------------

def _sanitised_copy(src: Path, out: Path) -> tuple[list[str], list[str]]:
    """Open (qpdf repairs what it can), refuse what no rung can read, strip, save to `out`.

    A damaged file is accepted if qpdf can rebuild it (typically when only the cross-reference
    table or the end of the file is lost); the repair warnings are returned. A file cut before its
    trailer cannot be rebuilt and is refused, as are encrypted files and dynamic XFA forms.
    """
    name = src.name
    try:
        with pikepdf.open(src) as pdf:
            if pdf.is_encrypted:
                raise _refuse(name, ENCRYPTED)
            if len(pdf.pages) == 0:
                raise _refuse(name, "PDF 中没有任何页面：请检查文件后重新上传")
            if _dynamic_xfa(pdf):
                raise _refuse(name, DYNAMIC_XFA)
            repaired = _fix_docinfo_keys(pdf)
            removed = strip_active_content(pdf)
            _drop_doc_checksum(pdf)
            pdf.save(out)
            return removed, _repair_notes(pdf.get_warnings(), src) + repaired
    except pikepdf.PasswordError:
        raise _refuse(name, ENCRYPTED) from None
    except pikepdf.PdfError as exc:
        reason = brief(str(exc).replace(f"{src}: ", "").replace(str(src), name))
        raise _refuse(name, f"PDF 已损坏或不完整，无法修复（{reason}）：请重新导出完整的 PDF 后上传") from None
    except (YuetanError, InvalidCase):
        raise
    except Exception as exc:  # noqa: BLE001 - a structure qpdf reads but nothing can walk safely
        raise _refuse(name, f"PDF 的内部结构异常，无法安全处理（{type(exc).__name__}: {brief(exc)}）："
                            "请重新导出后上传") from None


def _dynamic_xfa(pdf: pikepdf.Pdf) -> bool:
    """A dynamic XFA form: the catalog asks the reader to render the pages from the XFA data, and
    the pages in the file are only a "please wait" placeholder."""
    form = pdf.Root.get("/AcroForm")
    return isinstance(form, Dictionary) and "/XFA" in form and bool(pdf.Root.get("/NeedsRendering"))


def _fix_docinfo_keys(pdf: pikepdf.Pdf) -> list[str]:
    """DocInfo keys that are not UTF-8 (Latin-1 names such as /Verfasser#E4) are read as Latin-1 and
    written as UTF-8, so every later tool can read them; the values are kept."""
    info = pdf.trailer.get("/Info")
    if not isinstance(info, Dictionary):
        return []
    items = list(info.items())
    bad = [key for key, _ in items if _not_utf8(key)]
    if not bad:
        return []
    fixed = Dictionary()
    for key, value in items:
        fixed[_latin1_name(key) if key in bad else key] = value
    pdf.trailer.Info = pdf.make_indirect(fixed)
    shown = "、".join(_latin1_name(k)[1:] for k in bad)
    return [f"文档信息（DocInfo）中有 {len(bad)} 个键名不是 UTF-8 编码，已按 Latin-1 读取后改写为 UTF-8（{shown}）"]


def _not_utf8(key: str) -> bool:
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _latin1_name(key: str) -> str:
    return key.encode("utf-8", "surrogateescape").decode("latin-1")


def _repair_notes(warnings: list[str], src: Path) -> list[str]:
    """qpdf's warnings without the path it puts in front of each."""
    prefixes = (f"{src}: ", f"{src.name}: ")
    return _unique(next((w[len(p):] for p in prefixes if w.startswith(p)), w) for w in warnings)


def _drop_doc_checksum(pdf: pikepdf.Pdf) -> None:
    """LibreOffice's /DocChecksum is stale once rewritten and makes pikepdf's PDF/A validator
    (and so OCRmyPDF) fall back to Ghostscript."""
    if "/DocChecksum" in pdf.trailer:
        del pdf.trailer["/DocChecksum"]


def strip_active_content(pdf: pikepdf.Pdf) -> list[str]:
    """Remove scripts, outward actions, multimedia, embedded files and forms; return what went.

    Forms: the fields' printed appearance is burned into the page (qpdf flattens every printable
    annotation on that pass) and the AcroForm, with any XFA, is dropped, so what was filled in is
    kept but nothing stays interactive. Signature fields go too; the original keeps them.
    The catalog /OpenAction is always dropped: when it is only "open at page 1" it is not
    recorded, since pikepdf's PDF/A validator does not accept it and it carries no content.
    """
    removed: list[str] = []
    _strip_names(pdf, removed)
    _strip_open_action(pdf, removed)
    _strip_aa(pdf.Root, "文档", removed)
    for number, page in enumerate(pdf.pages, 1):
        _strip_aa(page.obj, f"第 {number} 页", removed)
        _strip_annotations(page.obj, number, removed)
    _strip_outlines(pdf, removed)
    _strip_form(pdf, removed)
    _strip_attachments(pdf, removed)
    names = pdf.Root.get("/Names")
    if isinstance(names, Dictionary) and not names.keys():
        del pdf.Root["/Names"]
    return removed


def _strip_names(pdf: pikepdf.Pdf, removed: list[str]) -> None:
    names = pdf.Root.get("/Names")
    if not isinstance(names, Dictionary):
        return
    if "/JavaScript" in names:
        del names["/JavaScript"]
        removed.append("已移除文档级 JavaScript（Names/JavaScript）")
    if "/Renditions" in names:
        del names["/Renditions"]
        removed.append("已移除多媒体资源（Names/Renditions）")


def _strip_open_action(pdf: pikepdf.Pdf, removed: list[str]) -> None:
    if "/OpenAction" in pdf.Root:
        _note(_bad_actions(pdf.Root.get("/OpenAction")), "OpenAction", removed)
        del pdf.Root["/OpenAction"]


def _strip_aa(holder, where: str, removed: list[str]) -> None:
    """Additional actions run by themselves (on open, page turn, mouse-over): always dropped."""
    aa = holder.get("/AA")
    if aa is None:
        return
    bad = [t for action in _values(aa) for t in _bad_actions(action)]
    if bad:
        _note(bad, f"{where}的附加动作 AA", removed)
    else:
        removed.append(f"已移除附加动作（{where}，AA）")
    del holder["/AA"]


def _strip_slot(holder, key: str, where: str, removed: list[str]) -> None:
    """Drop holder[key] (an action) if its chain holds a stripped action."""
    bad = _bad_actions(holder.get(key))
    if bad:
        _note(bad, where, removed)
        del holder[key]


def _strip_annotations(page: Dictionary, number: int, removed: list[str]) -> None:
    """Drop multimedia, attachment and outward link annotations; defuse the others' actions."""
    annots = page.get("/Annots")
    if not isinstance(annots, Array):
        return
    keep = []
    for annot in annots:
        if isinstance(annot, Dictionary) and not _drop_annotation(annot, number, removed):
            _strip_slot(annot, "/A", f"第 {number} 页的注释", removed)
            _strip_aa(annot, f"第 {number} 页的注释", removed)
            keep.append(annot)
    if len(keep) != len(annots):
        page.Annots = Array(keep)


def _drop_annotation(annot: Dictionary, number: int, removed: list[str]) -> bool:
    subtype = str(annot.get("/Subtype"))
    if subtype in MEDIA_ANNOTATIONS:
        removed.append(f"已移除多媒体注释（第 {number} 页，{subtype[1:]}）")
        return True
    if subtype == "/FileAttachment":
        removed.append(f"已移除附件注释（第 {number} 页，FileAttachment）")
        return True
    bad = _bad_actions(annot.get("/A"))
    if subtype == "/Link" and bad:
        removed.extend(f"已移除 {action_name(t)}及其链接注释（第 {number} 页）" for t in _unique(bad))
        return True
    return False


def _strip_outlines(pdf: pikepdf.Pdf, removed: list[str]) -> None:
    outlines = pdf.Root.get("/Outlines")
    stack = [outlines.get("/First")] if isinstance(outlines, Dictionary) else []
    seen: set = set()
    while stack:
        item = stack.pop()
        if not isinstance(item, Dictionary) or (item.is_indirect and item.objgen in seen):
            continue
        if item.is_indirect:
            seen.add(item.objgen)
        _strip_slot(item, "/A", f"书签“{item.get('/Title', '')}”", removed)
        stack += [item.get("/Next"), item.get("/First")]


def _strip_form(pdf: pikepdf.Pdf, removed: list[str]) -> None:
    """Flatten the form into the pages and drop the AcroForm (see `strip_active_content`)."""
    form = pdf.Root.get("/AcroForm")
    if not isinstance(form, Dictionary):
        return
    fields = _field_nodes(form)
    for node in fields:
        where = f"表单字段“{node.get('/T', '')}”"
        _strip_slot(node, "/A", where, removed)
        _strip_aa(node, where, removed)
    if "/XFA" in form:
        del form["/XFA"]
        removed.append("已移除 XFA 表单（AcroForm/XFA）")
    signed = any(node.get("/FT") == Name.Sig for node in fields)
    pdf.generate_appearance_streams()
    pdf.flatten_annotations("print")
    if "/AcroForm" in pdf.Root:  # qpdf drops it itself once every field is flattened
        del pdf.Root["/AcroForm"]
    _drop_widgets(pdf)
    removed.append(f"已将表单（{len(fields)} 个字段）的打印外观固化为页面内容，并移除交互式表单（AcroForm）")
    if signed or "/Perms" in pdf.Root:
        if "/Perms" in pdf.Root:
            del pdf.Root["/Perms"]
        removed.append("已移除数字签名域：归档副本经过重写，其中的原签名不再有效（原件保持不变）")


def _field_nodes(form: Dictionary) -> list[Dictionary]:
    nodes, seen, stack = [], set(), list(_values(form.get("/Fields")))
    while stack:
        node = stack.pop()
        if not isinstance(node, Dictionary) or (node.is_indirect and node.objgen in seen):
            continue
        if node.is_indirect:
            seen.add(node.objgen)
        nodes.append(node)
        stack += _values(node.get("/Kids"))
    return nodes


def _drop_widgets(pdf: pikepdf.Pdf) -> None:
    """Widgets flattening left behind (hidden or not printed) would be orphans without the form."""
    for page in pdf.pages:
        annots = page.obj.get("/Annots")
        if isinstance(annots, Array):
            keep = [a for a in annots if not (isinstance(a, Dictionary) and a.get("/Subtype") == Name.Widget)]
            if len(keep) != len(annots):
                page.obj.Annots = Array(keep)


def _strip_attachments(pdf: pikepdf.Pdf, removed: list[str]) -> None:
    names = pdf.Root.get("/Names")
    try:
        attached = list(pdf.attachments.keys())
    except pikepdf.PdfError:
        attached = []
    if attached or (isinstance(names, Dictionary) and "/EmbeddedFiles" in names):
        remove_attachments(pdf)
        removed.extend(f"已移除嵌入文件“{n}”（EmbeddedFiles）" for n in attached)
        if not attached:
            removed.append("已移除嵌入文件目录（EmbeddedFiles）")
    if "/Collection" in pdf.Root:
        del pdf.Root["/Collection"]
        removed.append("已移除文件包视图（Collection）")


def _bad_actions(action, depth: int = 0) -> list[str]:
    """Stripped action types (/S) in `action` and its /Next chain."""
    if not isinstance(action, Dictionary) or depth > _MAX_CHAIN:
        return []
    kind = str(action.get("/S"))
    bad = [kind] if kind in STRIPPED_ACTIONS or is_forbidden_action(action) else []
    nxt = action.get("/Next")
    for follower in (nxt if isinstance(nxt, Array) else [nxt]):
        bad += _bad_actions(follower, depth + 1)
    return bad


def _note(bad: list[str], where: str, removed: list[str]) -> None:
    removed.extend(f"已移除 {action_name(t)}（{where}）" for t in _unique(bad))


# --- DOCX --------------------------------------------------------------------------------------------------

def convert_docx_upload(src: Path, work: Path, converter, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """A DOCX upload converted by LibreOffice into `work` (not checked yet: `normalise_upload` does that).
    LibreOffice converts a private copy, so lock or temporary files never land beside the original."""
    src = Path(src)
    if _accepted_media_type(src) != DOCX:
        raise InvalidArgument(f"“{src.name}”不是 Word 文档（.docx）")
    if converter is None:
        raise ConversionFailed(
            f"“{src.name}”是 Word 文档，需要 LibreOffice 转换器才能转为 PDF/A：请在 "
            "with LibreOfficeConverter() as converter: 中调用，并传入 converter=converter")
    copy = work / "upload" / src.name
    copy.parent.mkdir(parents=True)
    shutil.copyfile(src, copy)
    out = work / "converted.pdf"
    try:
        converter.convert_to_pdfa(copy, out, timeout=timeout, checked=False)   # `_finish` checks it
    except YuetanError:
        raise
    except Exception as exc:  # noqa: BLE001 - any converter failure is this file's conversion failing
        if (fault := machine_fault(exc)) is not None:
            raise fault from exc
        raise ConversionFailed(f"“{src.name}”转换为 PDF/A 失败（{type(exc).__name__}: {brief(exc)}）："
                               "请在 Word 中检查文件能否正常打开，另存后重新上传") from exc
    if not out.is_file() or out.stat().st_size == 0:
        raise ConversionFailed(f"“{src.name}”转换为 PDF/A 后没有得到输出文件：请检查文件能否在 Word 中正常打开")
    return out


def _from_converted_docx(src: Path, out: Path, dest: Path, started: float) -> NormalisedUpload:
    try:
        finished = _finish(out, dest, src.name, repair=False)   # LibreOffice's own PDF/A is checked, not repaired
    except _Rejected as rejected:
        raise ConversionFailed(f"“{src.name}”转换后的文件不符合 PDF/A-2b：" + "；".join(rejected.reasons)
                               + "。请检查原文件（如字体、加密、表单），必要时重新导出后上传") from None
    attempt = RungAttempt("libreoffice", "kept", [], _since(started))
    return NormalisedUpload(src, dest, DOCX, finished.removed, [], None, finished.page_count, "libreoffice",
                            [attempt])


# --- JPEG, PNG ---------------------------------------------------------------------------------------------

def _checked_image_dpi(src: Path) -> int:
    """The image's DPI, once it has decoded completely (img2pdf would embed a truncated JPEG as is)."""
    try:
        with Image.open(src) as image:
            image.load()
            return _dpi(image)
    except Image.DecompressionBombError:
        raise _refuse(src.name, f"图像像素过多（超过 {(Image.MAX_IMAGE_PIXELS or 0) * 2:,} 像素），无法安全解码："
                                "请降低分辨率（如 300 dpi）后重新扫描或导出") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise _refuse(src.name, f"图像已损坏或不完整（{brief(exc)}）：请重新拍摄、扫描或导出后上传") from None


def _dpi(image: Image.Image) -> int:
    """The claimed resolution, or DEFAULT_IMAGE_DPI when there is none worth believing."""
    claimed = image.info.get("dpi")
    try:
        value = round(min(float(claimed[0]), float(claimed[1])))
    except (TypeError, ValueError, IndexError):
        return DEFAULT_IMAGE_DPI
    return value if value >= MIN_PLAUSIBLE_DPI else DEFAULT_IMAGE_DPI


# --- output ------------------------------------------------------------------------------------------------

def _finish(converted: Path, dest: Path, name: str, *, repair: bool = True) -> _Finished:
    """Strip (what LibreOffice exported: hyperlinks, form fields; a no-op after OCRmyPDF), set
    /Lang, write PDF/A-2b under a temporary name beside `dest`, check it in full, then rename.
    The check is pikepdf's validator on the bytes written (once, in the save) and the rest of `assess_pdfa`, whose
    file-level check (what `qpdf --check` finds) is done by pikepdf's libqpdf in this process: the dossier's own
    check runs the qpdf program over every page kept.
    `repair` lets pikepdf declare PDF/A-2b (a rung's plain PDF); without it the file must conform as it is.
    _Rejected when the check finds a violation or something it cannot confirm."""
    try:
        with atomic_path(dest) as part:
            with pikepdf.open(converted) as pdf:
                page_count = len(pdf.pages)
                removed = strip_active_content(pdf)
                _drop_doc_checksum(pdf)
                if "/Lang" not in pdf.Root:
                    pdf.Root.Lang = String(LANGUAGE)
                removed += _save_pdfa(pdf, part, repair=repair)
            verdict = assess_pdfa(part, expect_part=2, validator=False, syntax="pikepdf")
            if verdict.violations:
                raise _Rejected("violated", verdict.violations[:5])
            if verdict.unconfirmed:
                raise _Rejected("unconfirmed", verdict.unconfirmed[:5])
        return _Finished(page_count, removed)
    except pikepdf.PdfError as exc:
        raise ConversionFailed(f"“{name}”转换后的 PDF 无法读取（{brief(exc)}）") from None


def _save_pdfa(pdf: pikepdf.Pdf, path: Path, *, repair: bool = True) -> list[str]:
    """pikepdf's PDF/A save: declares PDF/A-2b (XMP, an sRGB output intent, the repairs it makes, as OCRmyPDF's
    own PDF/A conversion did), writes and validates the bytes written. Returns what it removed (Chinese)."""
    try:
        report = pdfa_writer.save(pdf, path, "2b", output_intent="sRGB", repair=repair)
    except pdfa_writer.PdfaError as exc:
        findings = exc.report.findings
        violations = [f"PDF/A-2b 不符合（{f.rule}）：{f.message}" for f in findings if f.kind == "violation"]
        unsure = [f"无法确认是否符合 PDF/A-2b（{f.rule}）：{f.message}" for f in findings if f.kind != "violation"]
        raise _Rejected("violated" if violations else "unconfirmed", _unique(violations or unsure)[:5]) from None
    prepared = report.prepared
    if prepared is None or not prepared.annotations_removed:
        return []
    kinds = "、".join(f"{kind} {count} 个" for kind, count in sorted(prepared.annotations_removed.items()))
    pages = "、".join(map(str, sorted(prepared.annotations_removed_pages)))
    return [f"已移除隐藏或不可见的注释（{kinds}，第 {pages} 页）：PDF/A 不允许"]


# --- helpers -----------------------------------------------------------------------------------------------

def _values(obj) -> list:
    if isinstance(obj, Dictionary):
        return [obj.get(k) for k in obj.keys()]
    if isinstance(obj, Array):
        return list(obj)
    return []


def _unique(items) -> list:
    return list(dict.fromkeys(items))
