"""Building the sealed dossier, top-down: check → normalise → render → convert → assemble → seal.

Reading `build_dossier` tells the whole job. Everything is made in a private work folder; only the
sealed dossier is put at `dest`, by rename, so a failure leaves nothing half-written.
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from archive_store import clock
from archive_store.arrangement import RegisteredCode, archival_code_for
from archive_store.durable import atomic_path
from archive_store.home import ArchiveHome, ArrangementSettings
from pipeline.case.contract import ATTACHMENT_ROLE_LABELS, AttachmentRole, Case
from pipeline.case.findings import Finding, assess_procedure
from pipeline.case.intake import AttachmentFile, CaseBundle, open_case
from pipeline.case.media import DOCX, PDF
from pipeline.documents import render
from pipeline.pdf.assemble import (
    DossierMetadata,
    DossierPart,
    EmbeddedFile,
    assemble_dossier,
    numbered_ranges,
)
from pipeline.pdf.assemble import page_count as page_count_of
from pipeline.pdf.manifest import (
    MANIFEST_NAME,
    Component,
    build_manifest,
    canonical_json,
    manifest_sha256,
)
from pipeline.pdf.normalise import NormalisedUpload, normalise_upload
from pipeline.pdf.seal import seal_pdf
from pipeline.pdf.stamp import stamp_first_page

log = logging.getLogger(__name__)
ROLE_ORDER = [AttachmentRole.rectification_plan, AttachmentRole.rectification_report,
              AttachmentRole.followup_record, AttachmentRole.statement, AttachmentRole.evidence,
              AttachmentRole.other]
POSITION_LABELS = {"top-right": "右上", "top-centre": "上端居中", "top-left": "左上"}
TARGET_AUTHORED = {AttachmentRole.rectification_plan, AttachmentRole.rectification_report,
                   AttachmentRole.statement}


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


def build_dossier(source: Path, dest: Path, *, home: ArchiveHome, converter, filed_by: str,
                  archived_on: date | None = None) -> BuiltDossier:
    """Build the sealed dossier of the case at `source` (folder, zip or case.json) into `dest`."""
    home.output_file(dest, make_folder=False)       # made when the sealed dossier is written
    with open_case(source) as bundle, tempfile.TemporaryDirectory(prefix="yuetan-build-") as tmp:
        return build_from_bundle(bundle, dest, work=Path(tmp), home=home, converter=converter,
                                 filed_by=filed_by, archived_on=archived_on)


def build_from_bundle(bundle: CaseBundle, dest: Path, *, work: Path, home: ArchiveHome, converter,
                      filed_by: str, archived_on: date | None = None,
                      on_stage: Callable[[str], None] | None = None) -> BuiltDossier:
    """The whole job for an opened case; every component stays in `work` (the caller owns it).
    `on_stage(name)` hears each stage as it starts: normalise, render, convert, assemble, seal."""
    stage = on_stage or (lambda name: None)
    archived_on = archived_on or clock.today()
    case = bundle.case
    findings = assess_procedure(case)
    # The uploads first: one that cannot be archived refuses the case before it takes a notice number or 档号.
    attachments = ordered_attachments(bundle.attachments)
    stage("normalise")
    uploads = []
    for a in attachments:
        with clock.timed(log, "案件 %s：规范化上传材料 %s", case.case_id, a.attachment.file):
            uploads.append(normalise_upload(a.path, work / f"upload-{a.index}.pdf", converter=converter))
    with clock.timed(log, "案件 %s：文号与档号", case.case_id):
        number = notice_number_for(case, home)
        code = archival_code_for_case(case, home)
    arrangement = home.settings.arrangement
    fonts = home.settings.fonts
    stage("render")
    with clock.timed(log, "案件 %s：生成并转换约谈通知书、约谈记录", case.case_id):
        rendered = render_official_documents(case, number, work, fonts)
        stage("convert")
        pdfs = {key: convert(converter, docx) for key, docx in rendered.items()}
    stage("assemble")
    with clock.timed(log, "案件 %s：加盖归档章", case.case_id):
        parts, stamp_notes = stamp_documents(document_parts(case, pdfs, attachments, uploads), code, work,
                                             converter=converter, fonts=fonts, settings=arrangement)
    ranges = numbered_ranges(parts)
    page_total = max((last for _, last in ranges.values()), default=0)
    cover_docx = render.render_cover(case, number, work, archived_on=archived_on,
                                     retention_years=home.settings.retention_years, fonts=fonts,
                                     archival_code=code.code, fonds_name=arrangement.fonds_name,
                                     document_count=len(parts), page_count=page_total)
    cover = DossierPart("cover", "案卷封面", convert(converter, cover_docx), numbered=False, label="封面")
    file_list_docx = render.render_file_list(case, number, file_list_entries(case, number, parts), work,
                                             fonts=fonts, archival_code=code.code)
    file_list = DossierPart("file_list", "卷内文件目录", convert(converter, file_list_docx),
                            numbered=False, label="目录")
    removed = [f"{a.attachment.title}：{note}" for a, u in zip(attachments, uploads) for note in u.removed]
    conversions = [f"{a.attachment.title}：{u.remark()}" for a, u in zip(attachments, uploads)]
    all_docx = {**rendered, "cover": cover_docx, "file_list": file_list_docx}
    all_pdfs = {**pdfs, "cover": cover.pdf, "file_list": file_list.pdf}
    components = manifest_components(bundle.case_json, all_docx, all_pdfs, attachments, uploads)
    manifest = build_manifest(case_id=case.case_id, notice_number=number, components=components,
                              removed_content=removed, normalisation=normalisation_entries(attachments, uploads))
    digest = manifest_sha256(manifest)
    remarks_parts, remarks_docxs = remarks_sheets(
        case, findings, work, converter=converter, fonts=fonts, page_count=page_total, document_count=len(parts),
        manifest_sha256=digest, notes=removed + stamp_notes, conversions=conversions, filed_by=filed_by,
        filed_on=archived_on, archival_code=code.code)
    embedded = embedded_files(bundle.case_json, manifest, rendered, attachments, file_list_docx,
                              cover_docx, *remarks_docxs)
    unsealed = work / "dossier-unsealed.pdf"
    with clock.timed(log, "案件 %s：合并案卷", case.case_id):
        assemble_dossier([cover, file_list, *parts, *remarks_parts], embedded,
                         dossier_metadata(case, number, digest), unsealed)
    stage("seal")
    with clock.timed(log, "案件 %s：加盖电子印章", case.case_id):
        seal_pdf(unsealed, dest, p12_path=home.seal_pkcs12, passphrase=home.seal_passphrase(),
                 location=case.organizer.name)
    component_files = {c.sha256: path for c, path in zip(
        components, component_paths(work, bundle.case_json, all_docx, all_pdfs, attachments, uploads))}
    documents = [(p.key, p.title, p.pdf) for p in [cover, file_list, *parts, *remarks_parts]]
    return BuiltDossier(path=dest, case_id=case.case_id, notice_number=number, archival_code=code.code,
                        manifest=manifest,
                        manifest_sha256=digest, dossier_sha256=hashlib.sha256(dest.read_bytes()).hexdigest(),
                        page_count=page_total, findings=findings, removed_content=removed, case=case,
                        component_files=component_files, documents=documents, uploads=uploads)


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
                    settings: ArrangementSettings) -> tuple[list[DossierPart], list[str]]:
    """Each document's first page with its 归档章 (all stamps drawn in one LibreOffice conversion); notes for the
    备考表 where no blank place was found at the top of the page."""
    stamps = [render.ArchiveStamp(
        fonds=settings.fonds_code, year=f"{code.year}", number=settings.format_number(code.seq),
        organization=settings.organization_code if settings.stamp_organization else "",
        retention=settings.retention_code, pages=str(page_count_of(p.pdf)) if settings.stamp_pages else "")
        for p in parts]
    stamp_pdf = convert(converter, render.render_stamps(stamps, work, fonts=fonts))
    stamped, notes = [], []
    for i, part in enumerate(parts):
        dest = work / f"stamped-{i}.pdf"
        placement = stamp_first_page(part.pdf, stamp_pdf, i, dest, position=settings.stamp_position)
        if not placement.on_blank:
            notes.append(f"{part.title}首页上端没有空白处，归档章盖在其{POSITION_LABELS[placement.position]}，"
                         "压及原有内容（原件见嵌入文件）")
        stamped.append(replace(part, pdf=dest))
    return stamped, notes


def remarks_sheets(case: Case, findings: list[Finding], work: Path, *, converter, fonts, page_count: int,
                   document_count: int, manifest_sha256: str, notes: list[str], conversions: list[str],
                   filed_by: str, filed_on: date, archival_code: str) -> tuple[list[DossierPart], list[Path]]:
    """The 备考表 on one page; when its account does not fit, the findings, notes and conversions are counted on it
    and set out in full on a 备考表（续页） right after it."""
    common = dict(page_count=page_count, document_count=document_count, manifest_sha256=manifest_sha256,
                  notes=notes, conversions=conversions, filed_by=filed_by, checked_by="", filed_on=filed_on,
                  fonts=fonts, archival_code=archival_code)
    docx = render.render_remarks(case, findings, work, **common)
    pdf = convert(converter, docx)
    if page_count_of(pdf) == 1:
        return [DossierPart("remarks", "备考表", pdf, numbered=False, label="备考表")], [docx]
    docx = render.render_remarks(case, findings, work, condensed=True, **common)
    continued = render.render_remarks_continued(case, findings, work, notes=notes, conversions=conversions,
                                                fonts=fonts, archival_code=archival_code)
    return ([DossierPart("remarks", "备考表", convert(converter, docx), numbered=False, label="备考表"),
             DossierPart("remarks_continued", "备考表（续页）", convert(converter, continued), numbered=False,
                         label="备考表续页")], [docx, continued])


def render_official_documents(case: Case, number: str, work: Path, fonts) -> dict[str, Path]:
    return {"notice": render.render_notice(case, number, work, fonts=fonts),
            "record": render.render_record(case, number, work, fonts=fonts)}


def convert(converter, docx: Path) -> Path:
    pdf = docx.with_suffix(".pdf")
    converter.convert_to_pdfa(docx, pdf)
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
