"""Cases put straight into a real archive home (blob store, catalog, ledger), without building dossiers.

Each stored case has real files: a one-page PDF of its own as the dossier, the example's rectification plan
PDF as an upload (the same bytes in every case, so its blob is shared), case.json, manifest.json and a text
blob, all in the blob store and listed in the catalog exactly as ingest lists them; and it is in the index.
"""
from __future__ import annotations

import hashlib
import io
import json
import zlib
from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pikepdf

from archive_store import ledger
from archive_store.blobs import FilesystemBlobStore
from archive_store.catalog import CaseRecord, DocumentRow, FindingRow
from archive_store.home import ArchiveHome
from pipeline.case.contract import credit_code_check_digit
from pipeline.pdf.manifest import (
    Component,
    build_manifest,
    canonical_json,
    manifest_sha256,
)
from pipeline.records.setup import init_home
from pipeline.search import index

from .conftest import EXAMPLES, person

SHARED_UPLOAD = EXAMPLES / "institution-onsite" / "整改方案.pdf"


# Set by conftest when the suite runs on PostgreSQL: writes the new home's [catalog] before init.
PREPARE_HOME = None


def new_home(path: Path) -> ArchiveHome:
    home, _ = init_home(PREPARE_HOME(path) if PREPARE_HOME else path)
    return home


def credit_code(seed: int) -> str:
    first17 = f"91360100MA35{seed:05d}"[:17]
    return first17 + credit_code_check_digit(first17)


def one_page_pdf(text: str) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    pdf.docinfo["/Title"] = text
    out = io.BytesIO()
    pdf.save(out, deterministic_id=True)
    return out.getvalue()


def store_case(home: ArchiveHome, case_id: str, closed_on: date, *, credit: str | None = None,
               notice_number: str | None = None, organizer: str = "江西省市场监督管理局", region_code: str = "360000",
               kind: str = "institution", grounds: list[tuple[int, int]] = ((6, 2),), outcome: str = "completed",
               interview_on: date | None = None, findings: list[dict] | None = None,
               actor: str = "档案员", revision: int = 1) -> CaseRecord:
    """Record one case with its blobs, documents, findings and an 'ingest' ledger entry.

    `revision` > 1 stores a corrected version that supersedes the current one (ledger action 'supersede').
    """
    store = FilesystemBlobStore(home.path / "blobs")
    case = json.loads((EXAMPLES / "institution-onsite" / "case.json").read_text(encoding="utf-8"))
    interview_on = interview_on or closed_on - timedelta(days=60)
    number = notice_number or f"赣市监检约〔{interview_on.year}〕{zlib.crc32(case_id.encode()) % 9000 + 100}号"
    case["case_id"] = case_id
    case["notice"]["number"] = number
    case["target"]["kind"] = kind
    case["target"]["name"] = f"江西{case_id}检测有限公司"
    case["target"]["credit_code"] = credit
    case["grounds"] = [{"article": a, "item": i, "facts": [f"{case_id} 的事实 {a}.{i}：检验报告数据失实"]}
                       for a, i in grounds]
    case["rectification"]["outcome"] = outcome
    case["closed_on"] = closed_on.isoformat()
    if revision > 1:
        case["correction"] = f"第 {revision} 版：更正事实表述"
    case["organizer"]["name"] = organizer
    case_json = json.dumps(case, ensure_ascii=False, indent=1).encode("utf-8")
    dossier = one_page_pdf(f"案卷 {case_id} 第 {revision} 版")
    upload = SHARED_UPLOAD.read_bytes()
    components = [
        Component.of_bytes(case_json, role="case_json", name="case.json", media_type="application/json"),
        Component.of_bytes(upload, role="upload_original", name="整改方案.pdf", media_type="application/pdf",
                           document="attachments[0]"),
    ]
    manifest = build_manifest(case_id=case_id, notice_number=number, components=components)
    manifest_bytes = canonical_json(manifest)
    text = canonical_json({"content": f"{case_id} 检验报告数据失实 超出资质认定范围"})
    for data in (case_json, dossier, upload, manifest_bytes, text):
        store.put_bytes(data)
    finding_rows = [FindingRow.of_finding(f) for f in (findings if findings is not None else [
        {"code": "notice_served_late", "article": "第十三条", "severity": "violation",
         "message": "约谈通知书送达不足3个工作日", "evidence": {"served_on": "2025-09-29"}}])]
    record = CaseRecord(
        case_id=case_id, content_sha256=hashlib.sha256(case_json).hexdigest(), notice_number=number,
        title=f"关于约谈江西{case_id}检测有限公司的案卷", target_name=case["target"]["name"], target_kind=kind,
        credit_code=credit, organizer=organizer, organizer_level="province", region_code=region_code,
        grounds=[f"{a}.{i}" for a, i in grounds], outcome=outcome, interview_on=interview_on, closed_on=closed_on,
        archived_at=datetime(closed_on.year, closed_on.month, closed_on.day, 9, tzinfo=timezone.utc),
        dossier_sha256=hashlib.sha256(dossier).hexdigest(), manifest_sha256=manifest_sha256(manifest), page_count=1,
        text_sha256=hashlib.sha256(text).hexdigest(), case_json_sha256=hashlib.sha256(case_json).hexdigest(),
        manifest_json_sha256=hashlib.sha256(manifest_bytes).hexdigest(), supersedes=revision - 1 or None)
    documents = [DocumentRow.of_component(seq, asdict(c)) for seq, c in enumerate(components, start=1)]
    with home.catalog() as catalog:
        with catalog.transaction() as tx:
            version = catalog.record_case(tx, record, documents, finding_rows)
            ledger.append(tx, action="ingest" if revision == 1 else "supersede", actor=person(actor), case_id=case_id,
                          details={"version": version, "manifest_sha256": record.manifest_sha256,
                                   "dossier_sha256": record.dossier_sha256})
        index.index_case(home.path / "index", index.IndexDocument(
            case_id=case_id, version=version, notice_number=number, target=record.target_name, credit_code=credit,
            organizer=organizer, region_code=region_code, organizer_region_code=region_code, target_kind=kind,
            grounds=tuple(record.grounds), grounds_text="\n".join(f for g in case["grounds"] for f in g["facts"]),
            findings="\n".join(f"{f.code} {f.article} {f.message}" for f in finding_rows), outcome=outcome,
            interview_on=interview_on, closed_on=closed_on, people=("张建国",),
            content=json.loads(text)["content"], manifest_sha256=record.manifest_sha256))
        catalog.mark_indexed(None, case_id, version)
        return catalog.current(case_id)
