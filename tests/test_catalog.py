"""The catalog on a real SQLite file or PostgreSQL database (--catalog): versions, queries, holds, tombstones,
plans, atomicity, two processes."""
from __future__ import annotations

import hashlib
import multiprocessing
import time
from dataclasses import asdict, replace
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from archive_store import ledger
from archive_store.blobs import FilesystemBlobStore
from archive_store.catalog import (
    CaseRecord,
    Catalog,
    DestructionPlanRow,
    DocumentRow,
    FindingRow,
    Tombstone,
    check_store,
)
from archive_store.errors import ArchiveConflict, ConfigurationError, InvalidArgument
from archive_store.numbers import NoticeNumberRegistry
from pipeline.case.findings import Finding, Severity
from pipeline.pdf.manifest import Component, build_manifest, canonical_json

from .conftest import person

pytestmark = pytest.mark.catalog     # runs on PostgreSQL too (make test: --catalog postgresql -m catalog)

ARCHIVED = datetime(2026, 3, 2, 8, 30, tzinfo=timezone.utc)


def h(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def make_record(case_id: str, *, number: str = "赣市监检约〔2025〕3号", content: str = "v1", **changes) -> CaseRecord:
    record = CaseRecord(
        case_id=case_id, content_sha256=h(case_id + content), notice_number=number,
        title="关于某检验检测公司出具不实报告的约谈", target_name="江西某检验检测有限公司", target_kind="institution",
        credit_code="91360100MA35XXXX0X", organizer="江西省市场监督管理局", organizer_level="province",
        region_code="360000", grounds=["6.2", "6.3"], outcome="rectified", interview_on=date(2025, 4, 10),
        closed_on=date(2025, 6, 30), archived_at=ARCHIVED, dossier_sha256=h(case_id + content + "dossier"),
        manifest_sha256=h(case_id + content + "manifest"), page_count=23, text_sha256=h(case_id + content + "text"),
        case_json_sha256=h(case_id + content + "case.json"), manifest_json_sha256=h(case_id + content + "manifest"))
    return replace(record, **changes)


def make_documents(case_id: str, *, shared: str | None = None) -> list[DocumentRow]:
    docs = [DocumentRow(seq=1, role="rendered_pdf", name="约谈通知书.pdf", media_type="application/pdf", size=1200,
                        sha256=h(case_id + "notice"), title="约谈通知书", document="notice"),
            DocumentRow.of_component(2, asdict(Component.of_bytes(case_id.encode(), role="upload_original", name="scan.jpg",
                                                           media_type="image/jpeg", document="attachments[0]")),
                                     title="现场检查笔录")]
    if shared:
        docs.append(DocumentRow(seq=3, role="upload_pdf", name="授权书.pdf", media_type="application/pdf", size=9,
                                sha256=shared))
    return docs


FINDINGS = [FindingRow.of_finding(Finding(code="notice-late", article="第十条", severity=Severity.violation,
                                          message="约谈通知书送达晚于约谈前三个工作日",
                                          evidence={"served_on": "2025-04-08", "working_days": 2})),
            FindingRow(code="no-signature", article="第十四条", severity="warning", message="约谈记录无被约谈方签字")]


@pytest.fixture
def catalog(catalog_target):
    with Catalog(catalog_target) as cat:
        yield cat


def store(catalog: Catalog, record: CaseRecord, docs=None, findings=FINDINGS) -> int:
    with catalog.transaction() as tx:
        version = catalog.record_case(tx, record, make_documents(record.case_id) if docs is None else docs, findings)
        ledger.append(tx, action="ingest", actor=person("档案员甲"), case_id=record.case_id,
                      details={"version": version, "dossier_sha256": record.dossier_sha256})
    return version


def test_record_and_query_a_case(catalog):
    record = make_record("JX-2025-001")
    assert store(catalog, record) == 1
    found = catalog.current("JX-2025-001")
    assert found == replace(record, version=1)
    assert isinstance(found.interview_on, date) and found.archived_at == ARCHIVED
    assert found.grounds == ["6.2", "6.3"]
    assert catalog.by_notice_number("赣市监检约〔2025〕3号") == found
    assert catalog.by_notice_number("赣市监检约〔2025〕4号") is None
    assert catalog.by_credit_code("91360100MA35XXXX0X") == [found]
    assert catalog.all_cases("current") == [found] and catalog.all_cases("superseded") == []
    assert catalog.documents("JX-2025-001", 1) == make_documents("JX-2025-001")
    assert catalog.documents("JX-2025-001", 1)[1].document == "attachments[0]"
    assert catalog.findings("JX-2025-001", 1) == FINDINGS
    assert catalog.findings("JX-2025-001", 1)[0].evidence == {"served_on": "2025-04-08", "working_days": 2}
    assert catalog.findings("JX-2025-001", 1)[0].severity == "violation"
    assert catalog.referenced_shas() == record.blob_shas() | {d.sha256 for d in make_documents("JX-2025-001")}
    assert catalog.case_shas("JX-2025-001") == catalog.referenced_shas()
    with pytest.raises(InvalidArgument):
        catalog.all_cases("deleted")


def test_same_case_again_is_refused_without_supersede(catalog):
    store(catalog, make_record("JX-1"))
    with pytest.raises(ArchiveConflict) as err:
        store(catalog, make_record("JX-1", content="v2"))
    assert "JX-1" in err.value.message and "--supersede" in err.value.message
    assert [r.version for r in catalog.versions("JX-1")] == [1]
    assert len(ledger.entries(catalog)) == 1


def test_supersede_keeps_both_versions_linked(catalog):
    store(catalog, make_record("JX-1"))
    v2 = make_record("JX-1", content="v2", supersedes=1, page_count=25)
    assert store(catalog, v2) == 2
    versions = catalog.versions("JX-1")
    assert [(r.version, r.status, r.supersedes) for r in versions] == [(1, "superseded", None), (2, "current", 1)]
    assert catalog.current("JX-1").page_count == 25
    assert catalog.by_notice_number("赣市监检约〔2025〕3号").version == 2
    assert catalog.by_credit_code("91360100MA35XXXX0X") == [catalog.current("JX-1")]
    assert len(catalog.by_credit_code("91360100MA35XXXX0X", include_superseded=True)) == 2
    # the old version's blobs are still needed: it is kept, not purged
    assert make_record("JX-1").dossier_sha256 in catalog.referenced_shas()
    with pytest.raises(ArchiveConflict):
        store(catalog, make_record("JX-1", content="v3", supersedes=1))   # 1 is no longer current


def test_one_current_version_per_case_is_enforced_by_the_database(catalog):
    store(catalog, make_record("JX-1"))
    with pytest.raises(sa.exc.IntegrityError):
        with catalog.transaction() as tx:
            tx.conn.exec_driver_sql("UPDATE cases SET version = 7 WHERE case_id = 'JX-1'")
            tx.conn.exec_driver_sql("INSERT INTO cases SELECT * FROM cases WHERE case_id = 'JX-1'")


def test_a_transaction_that_raises_leaves_nothing(catalog):
    with pytest.raises(RuntimeError, match="conversion broke"):
        with catalog.transaction() as tx:
            catalog.record_case(tx, make_record("JX-9"), make_documents("JX-9"), FINDINGS)
            ledger.append(tx, action="ingest", actor=person("档案员甲"), case_id="JX-9", details={})
            catalog.add_hold(tx, "JX-9", reason="诉讼", held_by="甲")
            raise RuntimeError("conversion broke")
    with catalog.reading() as conn:
        for table in ("cases", "documents", "findings", "holds", "ledger"):
            assert conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar() == 0, table
    assert catalog.current("JX-9") is None
    assert store(catalog, make_record("JX-9")) == 1          # and the retry works


def test_writes_outside_a_transaction_are_refused(catalog):
    with pytest.raises(RuntimeError):
        with catalog.reading() as conn:
            catalog.record_case(conn, make_record("JX-1"), [], [])


def test_holds_active_and_history(catalog):
    store(catalog, make_record("JX-1"))
    at = datetime(2026, 5, 1, tzinfo=timezone.utc)
    with catalog.transaction() as tx:
        hold = catalog.add_hold(tx, "JX-1", reason="行政诉讼中", held_by="法制科乙", held_at=at)
    assert hold.active and hold.held_at == at and hold.reason == "行政诉讼中"
    assert catalog.is_held("JX-1") and catalog.active_holds() == [hold] and catalog.active_holds("JX-1") == [hold]
    with catalog.transaction() as tx:
        released = catalog.release_hold(tx, "JX-1", reason="判决生效", released_by="法制科乙")
    assert [r.id for r in released] == [hold.id]
    assert not released[0].active and released[0].release_reason == "判决生效"
    assert not catalog.is_held("JX-1") and catalog.active_holds() == []
    assert catalog.hold_history("JX-1") == released
    with catalog.transaction() as tx:
        assert catalog.release_hold(tx, "JX-1", reason="再次解除", released_by="乙") == []
    with pytest.raises(InvalidArgument):
        with catalog.transaction() as tx:
            catalog.add_hold(tx, "JX-1", reason="  ", held_by="乙")


def test_purge_keeps_a_tombstone_and_a_blob_another_case_needs(catalog):
    shared = h("shared authorisation letter")
    store(catalog, make_record("JX-A"), docs=make_documents("JX-A", shared=shared))
    store(catalog, make_record("JX-A", content="v2", supersedes=1), docs=make_documents("JX-A", shared=shared))
    store(catalog, make_record("JX-B", number="赣市监检约〔2025〕4号"), docs=make_documents("JX-B", shared=shared))
    a_only = catalog.case_shas("JX-A") - catalog.case_shas("JX-B")
    assert shared in catalog.case_shas("JX-A") and shared not in a_only
    purged_at = datetime(2032, 1, 2, tzinfo=timezone.utc)

    def purge():
        with catalog.transaction() as tx:
            for record in catalog.versions("JX-A"):
                catalog.record_tombstone_and_clear(tx, Tombstone.of_case(
                    record, plan_id="P-2032-01", plan_sha256=h("plan"), approved_by="局长丙、科长丁",
                    purged_at=purged_at))
            ledger.append(tx, action="purge", actor=person("局长丙"), case_id="JX-A", details={"plan_id": "P-2032-01"})

    purge()
    assert catalog.current("JX-A") is None
    assert [r.status for r in catalog.versions("JX-A")] == ["purged", "purged"]
    assert catalog.documents("JX-A", 1) == [] and catalog.findings("JX-A", 2) == []
    assert catalog.by_notice_number("赣市监检约〔2025〕3号") is None
    stone = catalog.tombstone("JX-A")
    assert (stone.version, stone.notice_number, stone.plan_id, stone.purged_at) == (2, "赣市监检约〔2025〕3号",
                                                                                    "P-2032-01", purged_at)
    assert stone.dossier_sha256 == make_record("JX-A", content="v2").dossier_sha256
    assert catalog.tombstone_by_notice_number("赣市监检约〔2025〕3号") == stone
    assert len(catalog.tombstones()) == 2 and catalog.tombstone("JX-B") is None
    referenced = catalog.referenced_shas()
    assert shared in referenced                                  # JX-B still needs it
    assert not (a_only & referenced)                             # everything else of JX-A may go
    assert catalog.case_shas("JX-B") <= referenced
    purge()                                                      # a rerun after a crash changes nothing
    assert len(catalog.tombstones()) == 2
    assert ledger.verify_chain(catalog) == []


def test_a_held_case_cannot_be_purged(catalog):
    store(catalog, make_record("JX-1"))
    with catalog.transaction() as tx:
        catalog.add_hold(tx, "JX-1", reason="纪检调阅", held_by="乙")
    stone = Tombstone.of_case(catalog.current("JX-1"), plan_id="P1", plan_sha256=h("p"), approved_by="丙")
    with pytest.raises(ArchiveConflict) as err:
        with catalog.transaction() as tx:
            catalog.record_tombstone_and_clear(tx, stone)
    assert "JX-1" in err.value.message and "保全" in err.value.message and "纪检调阅" in err.value.message
    assert catalog.current("JX-1") is not None and catalog.tombstones() == []
    assert len(catalog.documents("JX-1", 1)) == 2
    with catalog.transaction() as tx:
        catalog.release_hold(tx, "JX-1", reason="调阅结束", released_by="乙")
        catalog.record_tombstone_and_clear(tx, stone)
    assert catalog.current("JX-1") is None and catalog.tombstone("JX-1") == stone


def test_destruction_plans(catalog):
    plan = DestructionPlanRow(plan_id="P-2032-01", plan_sha256=h("plan"), as_of=date(2032, 1, 1),
                              created_at=datetime(2032, 1, 1, 9, tzinfo=timezone.utc), created_by="档案员甲",
                              plan_json='{"cases":[]}')
    with catalog.transaction() as tx:
        catalog.record_plan(tx, plan)
        catalog.record_plan(tx, plan)                         # the same plan again: no-op
    assert catalog.plan("P-2032-01") == plan and catalog.plans() == [plan]
    with pytest.raises(ArchiveConflict):
        with catalog.transaction() as tx:
            catalog.record_plan(tx, replace(plan, plan_sha256=h("changed")))
    with catalog.transaction() as tx:
        catalog.mark_plan_executed(tx, "P-2032-01", approved_by="局长丙")
    executed = catalog.plan("P-2032-01")
    assert executed.approved_by == "局长丙" and executed.executed_at is not None
    with pytest.raises(InvalidArgument):
        with catalog.transaction() as tx:
            catalog.mark_plan_executed(tx, "P-none", approved_by="x")
    assert catalog.plan("P-none") is None


def test_indexed_at_marks_what_the_index_has(catalog):
    store(catalog, make_record("JX-1"))
    store(catalog, make_record("JX-2"))
    assert [r.case_id for r in catalog.not_indexed()] == ["JX-1", "JX-2"]
    catalog.mark_indexed(None, "JX-1", 1)
    assert [r.case_id for r in catalog.not_indexed()] == ["JX-2"]
    assert catalog.current("JX-1").indexed_at is not None


def test_one_database_shared_with_notice_numbers(catalog_target):
    with NoticeNumberRegistry(catalog_target) as numbers:
        numbers.register("赣市监检约〔2025〕3号", "JX-1")
    with Catalog(catalog_target) as catalog:
        store(catalog, make_record("JX-1"))
        if catalog.dialect == "sqlite":
            with catalog.reading() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    with Catalog(catalog_target) as catalog, NoticeNumberRegistry(catalog_target) as numbers:
        assert catalog.current("JX-1").version == 1
        assert numbers.holder("赣市监检约〔2025〕3号") == "JX-1"


def test_a_newer_sqlite_catalog_is_refused(tmp_path):
    import sqlite3

    from archive_store.db import dispose_all
    from archive_store.migrate import SQLITE_USER_VERSION

    path = tmp_path / "catalog.sqlite"
    Catalog(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SQLITE_USER_VERSION + 1}")
    conn.close()
    dispose_all()
    with pytest.raises(ConfigurationError) as err:
        Catalog(path)
    assert "升级" in err.value.message


def _record_cases(target, prefix: str, count: int, start=None) -> None:
    with Catalog(target) as catalog:
        if start is not None:
            start.wait(60)
        for i in range(count):
            time.sleep(0.005)           # a case's build happens outside the transaction; lets the other one in
            store(catalog, make_record(f"{prefix}-{i:03d}", number=f"赣市监检约〔2025〕{prefix}{i}号"))


def test_two_processes_recording_different_cases_both_land(catalog_target):
    db_path = catalog_target
    Catalog(db_path).close()
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(2)
    workers = [ctx.Process(target=_record_cases, args=(db_path, prefix, 40, start)) for prefix in ("NC", "GZ")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert [w.exitcode for w in workers] == [0, 0]
    with Catalog(db_path) as catalog:
        cases = catalog.all_cases("current")
        assert len(cases) == 80
        assert {c.case_id[:2] for c in cases} == {"NC", "GZ"}
        assert all(len(catalog.documents(c.case_id, 1)) == 2 for c in cases)
        entries = ledger.entries(catalog)
        assert [e.seq for e in entries] == list(range(1, 81))
        owners = [e.case_id[:2] for e in entries]
        assert sum(a != b for a, b in zip(owners, owners[1:])) >= 2, "the two processes never wrote in turn"
        assert ledger.verify_chain(catalog) == []


# --- the catalog against a real blob store -------------------------------------------------------------------

def ingest_into(catalog: Catalog, blobs, case_id: str, *, extra: bytes = b"") -> CaseRecord:
    """Store real bytes for every component and catalog them, as ingest does."""
    files = {"约谈通知书.pdf": f"%PDF notice of {case_id}".encode(), "scan.jpg": b"\xff\xd8 scan " + extra}
    components = [Component.of_bytes(data, role="upload_pdf", name=name, media_type="application/pdf")
                  for name, data in files.items()]
    for data in files.values():
        blobs.put_bytes(data)
    manifest = build_manifest(case_id=case_id, notice_number="赣市监检约〔2025〕3号", components=components)
    manifest_sha = blobs.put_bytes(canonical_json(manifest))
    record = make_record(case_id, dossier_sha256=blobs.put_bytes(f"%PDF dossier {case_id}".encode()),
                         text_sha256=blobs.put_bytes(f'{{"text": "{case_id}"}}'.encode()),
                         case_json_sha256=blobs.put_bytes(f'{{"case_id": "{case_id}"}}'.encode()),
                         manifest_sha256=manifest_sha, manifest_json_sha256=manifest_sha)
    store(catalog, record, docs=[DocumentRow.of_component(i, asdict(c)) for i, c in enumerate(components, 1)])
    return catalog.current(case_id)


@pytest.fixture
def blobs(tmp_path):
    return FilesystemBlobStore(tmp_path / "blobs")


def test_check_store_clean_then_names_damaged_and_missing_blobs(catalog, blobs):
    a = ingest_into(catalog, blobs, "JX-A", extra=b"shared")
    ingest_into(catalog, blobs, "JX-B", extra=b"shared")
    orphan = blobs.put_bytes(b"left by an interrupted ingest")
    check = check_store(catalog, blobs)
    assert check.ok and check.problems == [], check.problems
    assert check.unreferenced == [orphan] and check.blobs_checked == len(list(blobs.iter_shas()))

    path = blobs.root / a.dossier_sha256[:2] / a.dossier_sha256[2:4] / a.dossier_sha256
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:-1] + b"X")
    blobs.delete(a.text_sha256)
    check = check_store(catalog, blobs)
    assert check.damaged == [a.dossier_sha256] and check.missing == [a.text_sha256]
    assert len(check.problems) == 2
    assert any("已损坏" in p and "JX-A" in p and "档案文件" in p for p in check.problems)
    assert any("缺少" in p and "JX-A" in p and "全文" in p for p in check.problems)


def test_check_store_compares_documents_with_the_manifest(catalog, blobs):
    ingest_into(catalog, blobs, "JX-A")
    with catalog.transaction() as tx:
        tx.conn.exec_driver_sql("DELETE FROM documents WHERE case_id = 'JX-A' AND name = 'scan.jpg'")
    check = check_store(catalog, blobs)
    assert len(check.problems) == 1
    assert "JX-A" in check.problems[0] and "manifest" in check.problems[0] and "scan.jpg" in check.problems[0]


def test_check_store_after_purge_reports_leftovers_not_problems(catalog, blobs):
    a = ingest_into(catalog, blobs, "JX-A", extra=b"shared")
    b = ingest_into(catalog, blobs, "JX-B", extra=b"shared")
    doomed = catalog.case_shas("JX-A")
    with catalog.transaction() as tx:
        catalog.record_tombstone_and_clear(tx, Tombstone.of_case(a, plan_id="P1", plan_sha256=h("p"),
                                                                 approved_by="丙"))
    # crash here: catalog cleared, blobs not yet deleted
    check = check_store(catalog, blobs)
    assert check.ok, check.problems
    assert a.dossier_sha256 in check.purge_leftovers
    for sha in doomed - catalog.referenced_shas():
        blobs.delete(sha)
    check = check_store(catalog, blobs)
    assert check.ok and check.purge_leftovers == [] and check.unreferenced == []
    assert catalog.case_shas("JX-B") <= set(blobs.iter_shas())
    assert all(blobs.verify(s) for s in catalog.case_shas("JX-B")) and b.version == 1
