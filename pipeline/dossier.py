"""Building the sealed dossier, top-down: check → normalise (with render, convert) → assemble → seal → check.

Reading `build_dossier` tells the whole job. Everything is made in a private work folder; only the
sealed dossier is put at `dest`, by rename, so a failure leaves nothing half-written.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from archive_store import clock
from archive_store.arrangement import RegisteredCode, archival_code_for
from archive_store.durable import atomic_path, sha256_file
from archive_store.errors import ConversionFailed
from archive_store.home import ArchiveHome, ArrangementSettings
from pipeline.case.contract import ATTACHMENT_ROLE_LABELS, AttachmentRole, Case
from pipeline.case.findings import Finding, assess_procedure
from pipeline.case.intake import AttachmentFile, CaseBundle, open_case
from pipeline.case.media import DOCX, PDF
from pipeline.documents import render
from pipeline.external import process
from pipeline.external.ocrmypdf import DEFAULT_TIMEOUT as RUNG_TIMEOUT
from pipeline.external.ocrmypdf import PRELOAD as OCRMYPDF_PRELOAD
from pipeline.pdf.assemble import (
    DossierMetadata,
    DossierPart,
    EmbeddedFile,
    assemble_dossier,
    numbered_ranges,
)
from pipeline.pdf.assemble import page_count as page_count_of
from pipeline.pdf.ladder import PDF_RUNGS
from pipeline.pdf.manifest import (
    MANIFEST_NAME,
    Component,
    build_manifest,
    canonical_json,
    manifest_sha256,
)
from pipeline.pdf.normalise import (
    NormalisedUpload,
    convert_docx_upload,
    normalise_upload,
)
from pipeline.pdf import type1
from pipeline.pdf.pdfa import assess_pdfa
from pipeline.pdf.seal import seal_pdf
from pipeline.pdf.stamp import probe_first_pages, stamp_first_page
from pipeline.pdf.upload_cache import UploadCache

log = logging.getLogger(__name__)
ROLE_ORDER = [AttachmentRole.rectification_plan, AttachmentRole.rectification_report,
              AttachmentRole.followup_record, AttachmentRole.statement, AttachmentRole.evidence,
              AttachmentRole.other]
POSITION_LABELS = {"top-right": "右上", "top-centre": "上端居中", "top-left": "左上"}
TARGET_AUTHORED = {AttachmentRole.rectification_plan, AttachmentRole.rectification_report,
                   AttachmentRole.statement}
UPLOAD_TIMEOUT = len(PDF_RUNGS) * RUNG_TIMEOUT + 120   # a job's whole ladder: each rung has its own time-out


@dataclass(frozen=True)
class BuiltDossier:
    path: Path
    case_id: str
    notice_number: str
    manifest: dict
    manifest_sha256: str
    dossier_sha256: str
    page_count: int
    findings: list[Finding] = field(default_factory=list)
    removed_content: list[str] = field(default_factory=list)
    case: Case | None = None
    component_files: dict[str, Path] = field(default_factory=dict)   # sha256 → file, while `work` exists
    documents: list[tuple[str, str, Path]] = field(default_factory=list)  # (key, title, pdf) in dossier order
    uploads: list[NormalisedUpload] = field(default_factory=list)   # in archival order: rungs and their seconds
    archival_code: str = ""                                              # 档号
    normalised: list[dict] = field(default_factory=list)   # cache entries of the uploads normalised now (not hits)


def build_dossier(source: Path, dest: Path, *, home: ArchiveHome, converter, filed_by: str,
                  archived_on: date | None = None, times: clock.StageTimes | None = None) -> BuiltDossier:
    """Build the sealed dossier of the case at `source` (folder, zip or case.json) into `dest`."""
    home.output_file(dest, make_folder=False)       # made when the sealed dossier is written
    times = times or clock.StageTimes()
    warm_up()
    with contextlib.ExitStack() as stack:
        with times.timed("intake"):
            bundle = stack.enter_context(open_case(source))
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="yuetan-build-")))
        built = build_from_bundle(bundle, dest, work=work, home=home, converter=converter,
                                  filed_by=filed_by, archived_on=archived_on, times=times)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("各阶段耗时（秒；阶段可重叠，合计可超过全程）：\n%s",
                  "\n".join(clock.stage_table([(built.case_id, times.finish())])))
    return built


def warm_up() -> None:
    """Start the fork server the build's jobs come from (normalising uploads, the dossier's check) with what they
    need imported, so its start overlaps the build's first steps."""
    process.warm_up(JOB_PRELOAD)


def build_from_bundle(bundle: CaseBundle, dest: Path, *, work: Path, home: ArchiveHome, converter,
                      filed_by: str, archived_on: date | None = None,
                      on_stage: Callable[[str], None] | None = None, times: clock.StageTimes | None = None,
                      uploads_cache: UploadCache | None = None) -> BuiltDossier:
    """The whole job for an opened case; every component stays in `work` (the caller owns it).

    `on_stage(name)` hears each stage as it starts: normalise, render, convert, assemble, seal. The uploads are
    normalised in jobs (other processes) while LibreOffice makes the case's documents here, when the case brings
    its own notice number; a case that takes the next number from the register takes it only once every upload
    is archivable, so a refused case takes none. `times` collects seconds per stage; `uploads_cache` serves
    uploads normalised before (see `pipeline.pdf.upload_cache`)."""
    stage = on_stage or (lambda name: None)
    times = times or clock.StageTimes()
    archived_on = archived_on or clock.today()
    case = bundle.case
    fonts = home.settings.fonts
    findings = assess_procedure(case)
    # The uploads first: one that cannot be archived refuses the case before it takes a notice number or 档号.
    attachments = ordered_attachments(bundle.attachments)
    stage("normalise")
    pending = normalise_uploads(attachments, work, converter=converter, times=times, cache=uploads_cache)
    pdfs = rendered = None
    try:
        if case.notice.number:      # its own number: its documents are made while the uploads are normalised
            rendered, pdfs = official_documents(case, case.notice.number, work, converter, fonts, times, stage)
        uploads = pending.result()
    finally:
        pending.cancel()
    with clock.timed(log, "案件 %s：文号与档号", case.case_id), times.timed("intake"):
        number = notice_number_for(case, home)
        code = archival_code_for_case(case, home)
    if rendered is None:
        rendered, pdfs = official_documents(case, number, work, converter, fonts, times, stage)
    arrangement = home.settings.arrangement
    stage("assemble")
    with clock.timed(log, "案件 %s：加盖归档章", case.case_id):
        parts, stamp_notes = stamp_documents(document_parts(case, pdfs, attachments, uploads), code, work,
                                             converter=converter, fonts=fonts, settings=arrangement, times=times)
    ranges = numbered_ranges(parts)
    page_total = max((last for _, last in ranges.values()), default=0)
    with times.timed("render"):
        cover_docx = render.render_cover(case, number, work, archived_on=archived_on,
                                         retention_years=home.settings.retention_years, fonts=fonts,
                                         archival_code=code.code, fonds_name=arrangement.fonds_name,
                                         document_count=len(parts), page_count=page_total)
        file_list_docx = render.render_file_list(case, number, file_list_entries(case, number, parts), work,
                                                 fonts=fonts, archival_code=code.code)
    cover = DossierPart("cover", "案卷封面", convert(converter, cover_docx, times), numbered=False, label="封面")
    file_list = DossierPart("file_list", "卷内文件目录", convert(converter, file_list_docx, times),
                            numbered=False, label="目录")
    removed = [f"{a.attachment.title}：{note}" for a, u in zip(attachments, uploads) for note in u.removed]
    conversions = [f"{a.attachment.title}：{u.remark()}" for a, u in zip(attachments, uploads)]
    all_docx = {**rendered, "cover": cover_docx, "file_list": file_list_docx}
    all_pdfs = {**pdfs, "cover": cover.pdf, "file_list": file_list.pdf}
    with times.timed("assemble"):
        components = manifest_components(bundle.case_json, all_docx, all_pdfs, attachments, uploads)
        manifest = build_manifest(case_id=case.case_id, notice_number=number, components=components,
                                  removed_content=removed,
                                  normalisation=normalisation_entries(attachments, uploads))
        digest = manifest_sha256(manifest)
    remarks_parts, remarks_docxs = remarks_sheets(
        case, findings, work, converter=converter, fonts=fonts, page_count=page_total, document_count=len(parts),
        manifest_sha256=digest, notes=removed + stamp_notes, conversions=conversions, filed_by=filed_by,
        filed_on=archived_on, archival_code=code.code, times=times)
    unsealed = work / "dossier-unsealed.pdf"
    with clock.timed(log, "案件 %s：合并案卷", case.case_id), times.timed("assemble"):
        embedded = embedded_files(bundle.case_json, manifest, rendered, attachments, file_list_docx,
                                  cover_docx, *remarks_docxs)
        assemble_dossier([cover, file_list, *parts, *remarks_parts], embedded,
                         dossier_metadata(case, number, digest), unsealed)
    stage("seal")
    sealed = work / "dossier-sealed.pdf"
    with clock.timed(log, "案件 %s：加盖电子印章", case.case_id), times.timed("seal"):
        seal_pdf(unsealed, sealed, p12_path=home.seal_pkcs12, passphrase=home.seal_passphrase(),
                 location=case.organizer.name)
    with clock.timed(log, "案件 %s：案卷 PDF/A-3b 检查", case.case_id), times.timed("check"):
        check_dossier_in_job(sealed, case.case_id)
    with atomic_path(dest) as staged:
        shutil.copyfile(sealed, staged)
    component_files = {c.sha256: path for c, path in zip(
        components, component_paths(work, bundle.case_json, all_docx, all_pdfs, attachments, uploads))}
    documents = [(p.key, p.title, p.pdf) for p in [cover, file_list, *parts, *remarks_parts]]
    return BuiltDossier(path=dest, case_id=case.case_id, notice_number=number, archival_code=code.code,
                        manifest=manifest,
                        manifest_sha256=digest, dossier_sha256=hashlib.sha256(dest.read_bytes()).hexdigest(),
                        page_count=page_total, findings=findings, removed_content=removed, case=case,
                        component_files=component_files, documents=documents, uploads=uploads,
                        normalised=[UploadCache.entry_of(sha256_file(a.path), a.attachment.file, u)
                                    for a, u in zip(attachments, uploads) if not u.cached])


def official_documents(case: Case, number: str, work: Path, converter, fonts, times: clock.StageTimes,
                       stage: Callable[[str], None]) -> tuple[dict[str, Path], dict[str, Path]]:
    """约谈通知书 and 约谈记录 as DOCX and PDF."""
    stage("render")
    with clock.timed(log, "案件 %s：生成并转换约谈通知书、约谈记录", case.case_id):
        with times.timed("render"):
            rendered = render_official_documents(case, number, work, fonts)
        stage("convert")
        return rendered, {key: convert(converter, docx, times) for key, docx in rendered.items()}


# --- the dossier's check ----------------------------------------------------------------------------------------

CHECK_TIMEOUT = 600


def dossier_problems(path: Path) -> list[str]:
    """The full PDF/A-3b and safety check of a dossier (what `yuetan verify` checks as PDF/A), its file-level
    syntax checked by pikepdf's libqpdf in the job (the checks `qpdf --check` makes): the qpdf program also
    compresses again every image it decodes, only to discard it, 0.13 of its 0.15 s on a dossier with a scan."""
    return assess_pdfa(path, expect_part=3, syntax="pikepdf").problems


def check_dossier_in_job(path: Path, case_id: str) -> None:
    """The dossier is checked in full, once, as it will be stored: in a job, so the check's Python work does not
    hold up the other cases of an ingest. Its documents were only checked for what assembling needs."""
    problems, read = process.run_job(type1.with_shared_widths, dossier_problems, type1.shared_widths(), Path(path),
                                     what=f"检查案件 {case_id} 的案卷", timeout=CHECK_TIMEOUT)
    type1.learn_widths(read)
    if problems:
        raise ConversionFailed(f"案件 {case_id} 的案卷不符合 PDF/A-3b，未封存入库：" + "；".join(problems[:5])
                               + "。请把此信息报告给维护人员")


# --- uploads ----------------------------------------------------------------------------------------------------

# What the build's jobs import once in the fork server (process.warm_up).
JOB_PRELOAD = ("pipeline.pdf.normalise", "pipeline.pdf.pdfa", "pipeline.dossier", *OCRMYPDF_PRELOAD)
_waiters_lock = threading.Lock()
_waiters: ThreadPoolExecutor | None = None


def job_waiters() -> ThreadPoolExecutor:
    """Threads that each wait for one job: as many as the machine has cores, so that many jobs run at a time
    whatever the number of cases in flight."""
    global _waiters
    with _waiters_lock:
        if _waiters is None:
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
            _waiters = ThreadPoolExecutor(max_workers=max(2, cores), thread_name_prefix="yuetan-job")
        return _waiters


@dataclass
class PendingUploads:
    """The uploads of one case being normalised; `result()` gives them in archival order or raises the first
    upload's error (the others are waited for, so nothing is left running)."""

    futures: list[Future]

    def result(self) -> list[NormalisedUpload]:
        wait(self.futures)
        for future in self.futures:
            error = future.exception()
            if error is not None:
                raise error
        return [f.result() for f in self.futures]

    def cancel(self) -> None:
        for future in self.futures:
            future.cancel()
        wait(self.futures)


class UploadsAhead:
    """The upload cache of one ingest run, and the uploads of the cases to come normalised ahead of them.

    While a case's documents are converted by LibreOffice and its dossier is checked, one core is mostly idle: the
    next case's uploads (PDFs and images; a DOCX needs the LibreOffice the current case is using) are normalised
    then, in jobs queued behind the current case's own, into `folder`. When that case's turn comes,
    `normalise_uploads` takes each one whose content (sha256) and name match instead of starting it again; a job
    still running is waited for. Uploads the cache holds are not normalised ahead. Everything else is the cache's
    (`put` once a case is stored, `hits`), so this stands wherever an `UploadCache` is expected."""

    def __init__(self, cache: UploadCache | None, folder: Path):
        self.cache = cache
        self.folder = Path(folder)
        self._pending: dict[tuple[str, str], Future] = {}
        self._lock = threading.Lock()
        self.taken = 0

    def __getattr__(self, name):
        return getattr(self.cache, name)

    def get(self, original: Path, original_sha256: str, name: str, dest: Path) -> NormalisedUpload | None:
        return self.cache.get(original, original_sha256, name, dest) if self.cache is not None else None

    def start(self, attachments: list[AttachmentFile]) -> None:
        """Queue the normalisation of these uploads (of a case not yet begun)."""
        for a in attachments:
            if a.media_type == DOCX:
                continue
            key = (sha256_file(a.path), a.attachment.file)
            if self.cache is not None and self.cache.holds(key[0]):
                continue
            with self._lock:
                if key in self._pending:
                    continue
                self.folder.mkdir(parents=True, exist_ok=True)
                dest = self.folder / f"{uuid.uuid4().hex}.pdf"
                self._pending[key] = job_waiters().submit(_normalise_in_job, a, dest, None, clock.StageTimes())

    def take(self, original_sha256: str, name: str, dest: Path, times: clock.StageTimes) -> Future | None:
        """The upload normalised ahead, delivered at `dest` when done; None if it was not started. The case's
        normalise stage counts the time from now until it is done (none if it is done already)."""
        with self._lock:
            ahead = self._pending.pop((original_sha256, name), None)
            if ahead is None:
                return None
            self.taken += 1          # cases under -j 2 take theirs at the same time
        delivered: Future = Future()
        taken_at = time.perf_counter()

        def deliver(done: Future) -> None:
            times.add("normalise", time.perf_counter() - taken_at)
            try:
                upload = done.result()
                shutil.move(upload.pdf, dest)
                delivered.set_result(replace(upload, pdf=Path(dest)))
            except BaseException as exc:  # noqa: BLE001 - the case's own build raises it, as if it had run there
                if not delivered.cancelled():
                    delivered.set_exception(exc)
        ahead.add_done_callback(deliver)
        return delivered

    def close(self) -> None:
        """Cancel what was not started, wait for what runs, and remove what nobody took."""
        with self._lock:
            pending, self._pending = list(self._pending.values()), {}
        for future in pending:
            future.cancel()
        wait(pending)
        shutil.rmtree(self.folder, ignore_errors=True)


def normalise_uploads(attachments: list[AttachmentFile], work: Path, *, converter, times: clock.StageTimes,
                      cache: UploadCache | None = None) -> PendingUploads:
    """Start normalising every upload: each in a job of its own (`normalise_upload`), at most one per core at a
    time; a DOCX is first converted here, by this thread's LibreOffice. Uploads normalised before come from
    `cache`; what is normalised now goes there once the case is stored (`BuiltDossier.normalised`)."""
    futures: list[Future] = []
    for a in attachments:
        dest = work / f"upload-{a.index}.pdf"
        original_sha = sha256_file(a.path) if cache is not None else ""
        hit = cache.get(a.path, original_sha, a.attachment.file, dest) if cache is not None else None
        ahead = (cache.take(original_sha, a.attachment.file, dest, times)
                 if hit is None and isinstance(cache, UploadsAhead) else None)
        if ahead is not None:
            futures.append(ahead)
            continue
        if hit is not None:
            done: Future = Future()
            done.set_result(hit)
            futures.append(done)
            continue
        converted = None
        if a.media_type == DOCX:
            with clock.timed(log, "规范化上传材料 %s：LibreOffice 转换", a.attachment.file), times.timed("normalise"):
                folder = work / f"upload-{a.index}-docx"
                folder.mkdir()
                converted = convert_docx_upload(a.path, folder, converter)
        futures.append(job_waiters().submit(_normalise_in_job, a, dest, converted, times))
    return PendingUploads(futures)


def _normalise_in_job(a: AttachmentFile, dest: Path, converted: Path | None,
                      times: clock.StageTimes) -> NormalisedUpload:
    with clock.timed(log, "规范化上传材料 %s", a.attachment.file), times.timed("normalise"):
        upload, read = process.run_job(type1.with_shared_widths, normalise_upload, type1.shared_widths(), a.path,
                                       dest, converted=converted, what=f"规范化上传材料“{a.attachment.file}”",
                                       timeout=UPLOAD_TIMEOUT)
    type1.learn_widths(read)
    return upload


def notice_number_for(case: Case, home: ArchiveHome) -> str:
    """The case's own number, registered; or the next one for the organizer's prefix and year."""
    with home.numbers() as registry:
        if case.notice.number:
            return registry.register(case.notice.number, case.case_id)
        return registry.allocate(case.organizer.notice_prefix, case.notice.issued_on.year, case_id=case.case_id)


def archival_code_for_case(case: Case, home: ArchiveHome) -> RegisteredCode:
    """The case's 档号 from the register: the one it holds (a rerun, a new version), else the next of its group;
    the year is the closing year (DA/T 22: the year the matter was concluded)."""
    with home.catalog() as catalog:
        return archival_code_for(catalog, case.case_id, year=case.closed_on.year, settings=home.settings.arrangement)


def stamp_documents(parts: list[DossierPart], code: RegisteredCode, work: Path, *, converter, fonts,
                    settings: ArrangementSettings, times: clock.StageTimes | None = None
                    ) -> tuple[list[DossierPart], list[str]]:
    """Each document's first page with its 归档章 (all stamps drawn in one LibreOffice conversion); notes for the
    备考表 where no blank place was found at the top of the page."""
    times = times or clock.StageTimes()
    # The first pages are drawn (pdftoppm, to find their blank tops) while LibreOffice draws the stamps.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="yuetan-probe") as probes:
        drawn = probes.submit(probe_first_pages, [p.pdf for p in parts], work) if parts else None
        stamps = [render.ArchiveStamp(
            fonds=settings.fonds_code, year=f"{code.year}", number=settings.format_number(code.seq),
            organization=settings.organization_code if settings.stamp_organization else "",
            retention=settings.retention_code, pages=str(page_count_of(p.pdf)) if settings.stamp_pages else "")
            for p in parts]
        with times.timed("render"):
            stamps_docx = render.render_stamps(stamps, work, fonts=fonts)
        stamp_pdf = convert(converter, stamps_docx, times)
        with times.timed("assemble"):
            first_pages = drawn.result() if drawn is not None else []
    stamped, notes = [], []
    for i, part in enumerate(parts):
        dest = work / f"stamped-{i}.pdf"
        with times.timed("assemble"):
            placement = stamp_first_page(part.pdf, stamp_pdf, i, dest, position=settings.stamp_position,
                                         probe=first_pages[i])
        if not placement.on_blank:
            notes.append(f"{part.title}首页上端没有空白处，归档章盖在其{POSITION_LABELS[placement.position]}，"
                         "压及原有内容（原件见嵌入文件）")
        stamped.append(replace(part, pdf=dest))
    return stamped, notes


def remarks_sheets(case: Case, findings: list[Finding], work: Path, *, converter, fonts, page_count: int,
                   document_count: int, manifest_sha256: str, notes: list[str], conversions: list[str],
                   filed_by: str, filed_on: date, archival_code: str, times: clock.StageTimes | None = None
                   ) -> tuple[list[DossierPart], list[Path]]:
    """The 备考表 on one page; when its account does not fit, the findings, notes and conversions are counted on it
    and set out in full on a 备考表（续页） right after it."""
    times = times or clock.StageTimes()
    common = dict(page_count=page_count, document_count=document_count, manifest_sha256=manifest_sha256,
                  notes=notes, conversions=conversions, filed_by=filed_by, checked_by="", filed_on=filed_on,
                  fonts=fonts, archival_code=archival_code)
    with times.timed("render"):
        docx = render.render_remarks(case, findings, work, **common)
    pdf = convert(converter, docx, times)
    if page_count_of(pdf) == 1:
        return [DossierPart("remarks", "备考表", pdf, numbered=False, label="备考表")], [docx]
    with times.timed("render"):
        docx = render.render_remarks(case, findings, work, condensed=True, **common)
        continued = render.render_remarks_continued(case, findings, work, notes=notes, conversions=conversions,
                                                    fonts=fonts, archival_code=archival_code)
    return ([DossierPart("remarks", "备考表", convert(converter, docx, times), numbered=False, label="备考表"),
             DossierPart("remarks_continued", "备考表（续页）", convert(converter, continued, times), numbered=False,
                         label="备考表续页")], [docx, continued])


def render_official_documents(case: Case, number: str, work: Path, fonts) -> dict[str, Path]:
    return {"notice": render.render_notice(case, number, work, fonts=fonts),
            "record": render.render_record(case, number, work, fonts=fonts)}


def convert(converter, docx: Path, times: clock.StageTimes | None = None) -> Path:
    """A document of the dossier as PDF/A-2b; it is checked in the dossier (`check_dossier_in_job`), so the
    converter only makes sure it reads."""
    pdf = docx.with_suffix(".pdf")
    with (times or clock.StageTimes()).timed("convert"):
        converter.convert_to_pdfa(docx, pdf, checked=False)
    return pdf


def ordered_attachments(attachments: list[AttachmentFile]) -> list[AttachmentFile]:
    """Archival order: plan, report, follow-up records, statements, evidence, other; by date within a role."""
    return sorted(attachments, key=lambda a: (ROLE_ORDER.index(a.attachment.role),
                                              a.attachment.submitted_on or date.max, a.index))


def document_parts(case: Case, pdfs: dict[str, Path], attachments: list[AttachmentFile],
                   uploads: list[NormalisedUpload]) -> list[DossierPart]:
    parts = [DossierPart("notice", "约谈通知书", pdfs["notice"]), DossierPart("record", "约谈记录", pdfs["record"])]
    parts += [DossierPart(f"attachments[{a.index}]", a.attachment.title, u.pdf)
              for a, u in zip(attachments, uploads)]
    return parts


def file_list_entries(case: Case, number: str, parts: list[DossierPart]) -> list[render.FileListEntry]:
    ranges = numbered_ranges(parts)
    by_key = {f"attachments[{i}]": a for i, a in enumerate(case.attachments)}
    entries = []
    for seq, part in enumerate(parts, start=1):
        first, last = ranges[part.key]
        if part.key in ("notice", "record"):
            responsible, doc_number = case.organizer.name, number if part.key == "notice" else ""
            dated = case.notice.issued_on if part.key == "notice" else case.interview_date
            note = ""
        else:
            att = by_key[part.key]
            responsible = case.target.name if att.role in TARGET_AUTHORED else case.organizer.name
            doc_number, dated, note = "", att.submitted_on, ATTACHMENT_ROLE_LABELS[att.role]
        entries.append(render.FileListEntry(seq=seq, responsible=responsible, number=doc_number, title=part.title,
                                            dated=dated, first_page=first, last_page=last, note=note))
    return entries


def manifest_components(case_json: bytes, rendered: dict[str, Path], pdfs: dict[str, Path],
                        attachments: list[AttachmentFile], uploads: list[NormalisedUpload]) -> list[Component]:
    components = [Component.of_bytes(case_json, role="case_json", name="case.json",
                                      media_type="application/json", document="case")]
    for key, docx in rendered.items():
        components.append(Component.of_file(docx, role="rendered_docx", media_type=DOCX, document=key))
        components.append(Component.of_file(pdfs[key], role="rendered_pdf", media_type=PDF, document=key))
    for a, u in zip(attachments, uploads):
        key = f"attachments[{a.index}]"
        components.append(Component.of_file(a.path, role="upload_original", media_type=a.media_type,
                                            name=a.attachment.file, document=key))
        components.append(Component.of_file(u.pdf, role="upload_pdf", media_type=PDF,
                                            name=f"{Path(a.attachment.file).stem}.pdfa.pdf", document=key))
    return components


def normalisation_entries(attachments: list[AttachmentFile], uploads: list[NormalisedUpload]) -> list[dict]:
    """Which ladder rung made each upload's PDF/A and why the ones before it failed (for the manifest)."""
    return [{"document": f"attachments[{a.index}]", "name": a.attachment.file, **u.manifest_entry()}
            for a, u in zip(attachments, uploads)]


def component_paths(work: Path, case_json: bytes, rendered: dict[str, Path], pdfs: dict[str, Path],
                    attachments: list[AttachmentFile], uploads: list[NormalisedUpload]) -> list[Path]:
    """The files behind `manifest_components`, in the same order (case.json is written into `work`)."""
    case_file = work / "case.json"
    case_file.write_bytes(case_json)
    paths = [case_file]
    for key, docx in rendered.items():
        paths += [docx, pdfs[key]]
    for a, u in zip(attachments, uploads):
        paths += [a.path, u.pdf]
    return paths


def embedded_files(case_json: bytes, manifest: dict, rendered: dict[str, Path],
                   attachments: list[AttachmentFile], file_list_docx: Path, cover_docx: Path,
                   *remarks_docxs: Path) -> list[EmbeddedFile]:
    """case.json and manifest.json, every original upload and every rendered DOCX travel inside."""
    files = [EmbeddedFile("case.json", case_json, "application/json", "Source", "案件数据（case.json）"),
             EmbeddedFile(MANIFEST_NAME, canonical_json(manifest), "application/json", "Data",
                          "案卷清单（manifest.json）")]
    for docx in [*rendered.values(), cover_docx, file_list_docx, *remarks_docxs]:
        files.append(EmbeddedFile(docx.name, docx.read_bytes(), DOCX, "Source", f"生成文书原件（{docx.stem}）"))
    for a in attachments:
        files.append(EmbeddedFile(Path(a.attachment.file).name, a.path.read_bytes(), a.media_type, "Source",
                                  f"上传原件：{a.attachment.title}"))
    return files


def dossier_metadata(case: Case, number: str, digest: str) -> DossierMetadata:
    return DossierMetadata(
        title=f"{case.target.name}约谈案卷（{number}）", organizer=case.organizer.name,
        created=clock.in_china(clock.now()), case_id=case.case_id, notice_number=number,
        target=case.target.name, credit_code=case.target.credit_code, closed_on=case.closed_on.isoformat(),
        manifest_sha256=digest)


def manifest_json(manifest: dict) -> str:
    return json.dumps(manifest, ensure_ascii=False, indent=2)


# --- the `yuetan render` stage ------------------------------------------------------------------------

def render_case_documents(source: Path, out_dir: Path, *, home, converter) -> list[Path]:
    """DOCX and PDF of 约谈通知书 and 约谈记录 for the case at `source`, into `out_dir`.

    The case is opened (and refused) before anything is written; the files are made in a private folder
    and moved into `out_dir` only when all are done.
    """
    home.output_folder(out_dir, make=False)          # made once the documents are ready
    fonts = home.settings.fonts
    with open_case(source) as bundle, tempfile.TemporaryDirectory(prefix="yuetan-render-") as tmp:
        case = bundle.case
        work = Path(tmp)
        number = notice_number_for(case, home)
        made = []
        for docx in (render.render_notice(case, number, work, fonts=fonts), render.render_record(case, number, work, fonts=fonts)):
            pdf = docx.with_suffix(".pdf")
            converter.convert_to_pdfa(docx, pdf)
            made += [docx, pdf]
        out_dir = home.output_folder(out_dir)
        placed = []
        for path in made:
            dest = out_dir / path.name
            with atomic_path(dest) as staged:
                shutil.copyfile(path, staged)
            placed.append(dest)
        return placed
