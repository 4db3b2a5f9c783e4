"""Cases put into a real archive home without building dossiers, through ingest's own storage step.

Each stored case gets its 档号 from the archive's register, as a build gives it. Each stored case is a valid
case.json (an example's, with its id, number, target, grounds, dates and outcome changed), a dossier of its own
(the upload's pages under its own title) and the example's rectification plan PDF as its upload (the same bytes in
every case, so its blob is shared). They are staged as a build would stage them and then stored by
`pipeline.records.ingest.store_build` and indexed by `index_stored`, exactly as ingest does (blobs, catalog,
findings, ledger entry, the text blob that reindex reads); only the dossier is not a real one.
"""
from __future__ import annotations

import hashlib
import io
import json
import shutil
import zlib
from datetime import date, timedelta
from pathlib import Path

import pikepdf

from archive_store.arrangement import archival_code_for
from archive_store.catalog import CaseRecord
from archive_store.home import ArchiveHome
from pipeline.case.contract import Case, credit_code_check_digit
from pipeline.case.intake import CaseBundle
from pipeline.pdf.manifest import (
    Component,
    build_manifest,
    canonical_json,
    manifest_sha256,
)
from pipeline.records.ingest import (
    DOSSIER_NAME,
    StagedBuild,
    content_sha256,
    index_stored,
    store_build,
)
from pipeline.records.setup import init_home

from . import backend
from .conftest import EXAMPLES, person
from .synthetic import _shift_dates

SHARED_UPLOAD = EXAMPLES / "institution-onsite" / "整改方案.pdf"


def new_home(path: Path) -> ArchiveHome:
    """A new home on the backend the suite runs on (tests/backend.py). Tests take the `new_home` fixture, which
    marks them `catalog`; this function is for code outside a test (the web tests' session home)."""
    home, _ = init_home(backend.prepare_home(path))
    return home


def credit_code(seed: int) -> str:
    first17 = f"91360100MA35{seed:05d}"[:17]
    return first17 + credit_code_check_digit(first17)


def dossier_of(document: Path, title: str) -> bytes:
    """A stand-in dossier: the pages of its one document (as in a real dossier, whose pages are its documents'
    pages in order, which ingest's store step relies on to read each document's text), under its own title."""
    with pikepdf.open(document) as pdf:
        pdf.docinfo["/Title"] = title
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True)
    return out.getvalue()


def store_case(home: ArchiveHome, case_id: str, closed_on: date, *, credit: str | None = None,
               notice_number: str | None = None, organizer: str = "江西省市场监督管理局", region_code: str = "360000",
               kind: str = "institution", grounds: list[tuple[int, int]] = ((6, 2),), outcome: str = "completed",
               interview_on: date | None = None, findings: list[dict] | None = None,
               actor: str = "档案员", revision: int = 1) -> CaseRecord:
    """Store one case version (ledger action 'ingest'; with `revision` > 1 a corrected version that supersedes
    the current one, action 'supersede')."""
    template = EXAMPLES / ("institution-onsite" if kind == "institution" else "bureau-video") / "case.json"
    case = json.loads(template.read_text(encoding="utf-8"))
    interview_on = interview_on or closed_on - timedelta(days=60)
    held = date.fromisoformat(case["interview"]["held_at"][:10])
    _shift_dates(case, interview_on - held)
    number = notice_number or f"赣市监检约〔{interview_on.year}〕{zlib.crc32(case_id.encode()) % 9000 + 100}号"
    case["case_id"] = case_id
    case["notice"]["number"] = number
    case["target"]["name"] = f"江西{case_id}检测有限公司" if kind == "institution" else f"{case_id}市场监督管理局"
    case["target"]["region_code"] = region_code
    if kind == "institution":
        case["target"]["credit_code"] = credit
    case["grounds"] = [{"article": a, "item": i, "facts": [f"{case_id} 的事实 {a}.{i}：检验报告数据失实"]}
                       for a, i in grounds]
    case["rectification"]["outcome"] = outcome
    case["closed_on"] = closed_on.isoformat()
    if revision > 1:
        case["correction"] = f"第 {revision} 版：更正事实表述"
    case["organizer"]["name"] = organizer
    case["attachments"] = [{"role": "rectification_plan", "file": "整改方案.pdf", "title": "整改方案",
                            "submitted_on": (interview_on + timedelta(days=5)).isoformat()}]
    case_json = json.dumps(case, ensure_ascii=False, indent=1).encode("utf-8")
    bundle = CaseBundle(case=Case.model_validate_json(case_json), case_dir=EXAMPLES, case_json=case_json,
                        attachments=[], source=case_id)
    content = content_sha256(bundle)
    with home.catalog() as catalog:
        code = archival_code_for(catalog, case_id, year=closed_on.year, settings=home.settings.arrangement).code
    staged = _stage(home, case_id, revision, case_json, number, content, findings, code)
    with home.catalog() as catalog:
        previous = catalog.current(case_id)
    record = store_build(staged, bundle, content, home=home, actor=person(actor), previous=previous)
    index_stored(record, home)
    shutil.rmtree(staged.folder)
    with home.catalog() as catalog:
        return catalog.current(case_id)


def _stage(home: ArchiveHome, case_id: str, revision: int, case_json: bytes, number: str, content: str,
           findings: list[dict] | None, archival_code: str | None = None) -> StagedBuild:
    """The staging folder a build leaves: dossier, manifest, originals, and the documents' PDFs."""
    folder = home.staging_dir / content
    (folder / "originals").mkdir(parents=True)
    dossier = dossier_of(SHARED_UPLOAD, f"案卷 {case_id} 第 {revision} 版")
    (folder / DOSSIER_NAME).write_bytes(dossier)
    (folder / "originals" / "case.json").write_bytes(case_json)
    shutil.copyfile(SHARED_UPLOAD, folder / "originals" / "整改方案.pdf")
    components = [
        Component.of_bytes(case_json, role="case_json", name="case.json", media_type="application/json",
                           document="case"),
        Component.of_file(SHARED_UPLOAD, role="upload_original", name="整改方案.pdf", media_type="application/pdf",
                          document="attachments[0]"),
    ]
    manifest = build_manifest(case_id=case_id, notice_number=number, components=components)
    (folder / "manifest.json").write_bytes(canonical_json(manifest))
    findings = findings if findings is not None else [
        {"code": "notice_served_late", "article": "第十三条", "severity": "violation",
         "message": "约谈通知书送达不足3个工作日", "evidence": {"served_on": "2025-09-29"}}]
    return StagedBuild(
        folder=folder, case_id=case_id, notice_number=number, dossier_sha256=hashlib.sha256(dossier).hexdigest(),
        manifest_sha256=manifest_sha256(manifest), page_count=1, archived_on=date.today(), findings=findings,
        files={components[0].sha256: "originals/case.json", components[1].sha256: "originals/整改方案.pdf"},
        documents=[["attachments[0]", "整改方案", "originals/整改方案.pdf"]], archival_code=archival_code)
