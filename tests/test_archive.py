"""The archive (issue 6): ingest, search, show/open, reindex and audit, on a real store, SQLite and Whoosh."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from archive_store import ledger
from pipeline.pdf.verify import verify_dossier
from pipeline.records.audit import audit_archive
from pipeline.search.index import search

from .conftest import EXAMPLES, ROOT, load_example

pytestmark = pytest.mark.catalog     # runs on PostgreSQL too (make test: --catalog postgresql -m catalog)

YUETAN = ROOT / ".venv" / "bin" / "yuetan"
INSTITUTION, BUREAU, REFUSED = "JX-RZ-2025-017", "JX-RZ-2025-021", "GZ-RZ-2025-004"


def yuetan(home, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(YUETAN), "--home", str(home.path), *args], capture_output=True, text=True, **kwargs)


def found(home, query: str = "", **filters) -> list[str]:
    return [hit.case_id for hit in search(home.index_dir, query, **filters).hits]


# --- search -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, expected", [
    ("数据失实", [INSTITUTION]),                         # a fact's sub-phrase
    ("超范围", [INSTITUTION]),                           # an archivists' abbreviation of 第六条第（三）项
    ("合同评审", [INSTITUTION]),                         # a word only in the OCR'd follow-up scan
    ("复查结论", [INSTITUTION]),
    ("赣市监检约〔2025〕12号", [REFUSED]),                 # its notice number
    ("91360100MA35K2Q74M", [INSTITUTION]),               # its credit code
    ("张建国", [INSTITUTION]),                           # a person's name
    ("九江市市场监督管理局", [BUREAU]),
])
def test_search_finds_the_case(example_archive, query, expected):
    assert found(example_archive, query)[:len(expected)] == expected
    assert set(found(example_archive, query)) >= set(expected)


def test_search_word_in_the_scan_is_not_in_the_case_data():
    case_text = json.dumps(load_example("institution-onsite"), ensure_ascii=False)
    assert "合同评审" not in case_text and "复查结论" not in case_text


def test_filters_narrow(example_archive):
    everyone = {INSTITUTION, BUREAU, REFUSED}
    assert set(found(example_archive)) == everyone
    assert found(example_archive, kind="bureau") == [BUREAU]
    assert set(found(example_archive, kind="institution")) == {INSTITUTION, REFUSED}
    assert found(example_archive, "整改", kind="bureau") == [BUREAU]
    assert INSTITUTION in found(example_archive, ground="6.3")
    assert BUREAU not in found(example_archive, ground="6.3")
    assert found(example_archive, ground="7.2") == [BUREAU]
    assert found(example_archive, outcome="circulated_criticism") == [BUREAU]
    assert set(found(example_archive, date_from="2025-08-01", date_to="2025-12-31")) == {BUREAU, REFUSED}
    assert found(example_archive, date_to="2025-07-31") == [INSTITUTION]
    assert found(example_archive, "数据失实", kind="bureau") == []


def test_search_command_json(example_archive):
    result = yuetan(example_archive, "search", "超范围", "--kind", "institution", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["total"] >= 1
    hit = data["hits"][0]
    assert hit["case_id"] == INSTITUTION and hit["notice_number"] == "赣市监检约〔2025〕3号"
    assert hit["target"] == "江西赣信检测技术有限公司" and hit["score"] > 0
    assert any("【" in s for s in hit["snippets"])
    assert data["facets"]["kind"] == {"institution": data["total"]}
    assert sum(data["facets"]["outcome"].values()) == data["total"]


# --- ingest -------------------------------------------------------------------------------------------------

def test_ingest_records_everything_it_promises(example_archive):
    with example_archive.catalog() as catalog:
        record = catalog.current(INSTITUTION)
        documents = catalog.documents(INSTITUTION, record.version)
        entries = ledger.entries(catalog, INSTITUTION)
    blobs = example_archive.blobs()
    assert record.notice_number == "赣市监检约〔2025〕3号" and record.grounds == ["6.2", "6.3"]
    assert record.indexed_at is not None and record.page_count >= 5
    for sha in [d.sha256 for d in documents] + sorted(record.blob_shas()):
        assert blobs.verify(sha)
    assert {d.role for d in documents} == {"case_json", "rendered_docx", "rendered_pdf", "upload_original",
                                           "upload_pdf"}
    assert [e.action for e in entries] == ["ingest"]
    assert entries[0].actor == "测试档案员"
    assert entries[0].details["dossier_sha256"] == record.dossier_sha256
    assert not any(example_archive.staging_dir.iterdir())


def test_same_case_again_is_a_no_op(archive_copy):
    result = yuetan(archive_copy, "ingest", "--json", str(EXAMPLES / "refused-to-sign"))
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout)
    assert line["status"] == "unchanged" and line["case_id"] == REFUSED
    assert set(line) >= {"case_id", "status", "notice_number", "dossier_sha256", "manifest_sha256", "findings"}
    assert any(f["code"] for f in line["findings"])
    with archive_copy.catalog() as catalog:
        assert len(catalog.versions(REFUSED)) == 1
        assert len(ledger.entries(catalog)) == 3


def test_changed_case_is_refused_unless_superseded(archive_copy, make_case):
    folder = make_case("bureau-video", change=lambda c: c["interview"]["proceedings"].update(
        commitment="郑海代表九江市局承诺建立辖区机构季度巡查台账。"))
    refused = yuetan(archive_copy, "ingest", str(folder))
    assert refused.returncode == 4 and "--supersede" in refused.stdout
    with archive_copy.catalog() as catalog:
        assert len(catalog.versions(BUREAU)) == 1
    superseded = yuetan(archive_copy, "ingest", "--supersede", "--json", "-v", str(folder))
    assert superseded.returncode == 0, superseded.stdout + superseded.stderr
    assert json.loads(superseded.stdout)["status"] == "superseded"
    for stage in ("合并案卷", "加盖电子印章", "生成案卷", "存储与登记", "编入索引"):   # -v: each stage, timed
        assert re.search(rf"{BUREAU}：{stage}：\d+\.\d\d 秒", superseded.stderr), stage
    with archive_copy.catalog() as catalog:
        versions = catalog.versions(BUREAU)
        assert [(v.version, v.status) for v in versions] == [(1, "superseded"), (2, "current")]
        assert versions[1].supersedes == 1 and versions[1].notice_number == versions[0].notice_number
    assert found(archive_copy, "季度巡查台账") == [BUREAU]
    assert audit_archive(archive_copy).ok


def test_one_bad_case_is_reported_and_the_rest_go_on_in_parallel(archive_copy, make_case, tmp_path):
    batch = tmp_path / "batch"
    batch.mkdir()
    shutil.move(make_case(change=lambda c: (c.update(case_id="JX-RZ-2025-099"), c["notice"].pop("number"))),
                batch / "good")
    shutil.move(make_case(raw=b'{"schema_version": 1, "case_id": '), batch / "broken")
    result = yuetan(archive_copy, "ingest", "-j", "2", "--json", str(batch))
    assert result.returncode == 2
    lines = {Path(r["source"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert lines["broken"]["status"] == "refused" and lines["broken"]["problems"]
    assert lines["good"]["status"] == "ingested" and lines["good"]["case_id"] == "JX-RZ-2025-099"
    assert lines["good"]["notice_number"] == "赣市监检约〔2025〕13号"   # the next after 3, 4 and 12
    with archive_copy.catalog() as catalog:
        assert catalog.current("JX-RZ-2025-099") is not None
        assert [r.case_id for r in catalog.all_cases()].count("JX-RZ-2025-099") == 1


# --- show, open ---------------------------------------------------------------------------------------------

def test_show_and_open(example_archive, tmp_path):
    shown = yuetan(example_archive, "show", "--json", "赣市监检约〔2025〕12号")
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert info["record"]["case_id"] == REFUSED
    assert {f["code"] for f in info["findings"]} >= {"record_signature_refused", "notice_served_late"}
    dest = tmp_path / "out.pdf"
    opened = yuetan(example_archive, "open", REFUSED, "-o", str(dest))
    assert opened.returncode == 0, opened.stderr
    assert verify_dossier(dest).ok
    missing = yuetan(example_archive, "show", "赣市监检约〔2025〕999号")
    assert missing.returncode == 2 and "没有文号、档号或案件编号" in missing.stderr


# --- keeping it true ----------------------------------------------------------------------------------------

def test_audit_of_a_sound_archive_is_clean(example_archive):
    report = audit_archive(example_archive)
    assert report.ok, report.problems
    assert report.pending == [] and report.cases == 3 and report.blobs_checked > 20


def test_flipped_byte_in_a_stored_blob_is_named_by_audit(archive_copy):
    with archive_copy.catalog() as catalog:
        sha = catalog.current(BUREAU).dossier_sha256
    blob = archive_copy.path / "blobs" / sha[:2] / sha[2:4] / sha
    os.chmod(blob, 0o644)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.write_bytes(data)
    result = yuetan(archive_copy, "audit", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert any(sha in p and BUREAU in p for p in report["problems"])


def test_edited_ledger_entry_is_named_by_audit(archive_copy):
    with archive_copy.catalog() as catalog, catalog.transaction() as tx:     # what someone with the database can do
        on = "" if catalog.dialect == "sqlite" else " ON ledger"
        for name in ("ledger_no_update", "ledger_no_delete"):
            tx.conn.exec_driver_sql(f"DROP TRIGGER {name}{on}")
        tx.conn.exec_driver_sql("UPDATE ledger SET actor = '冒名者' WHERE seq = 2")
    result = yuetan(archive_copy, "audit")
    assert result.returncode == 1
    assert "第 2 条账目" in result.stdout and "被改动" in result.stdout
    verify = yuetan(archive_copy, "ledger", "verify", "--json")
    assert verify.returncode == 1 and json.loads(verify.stdout)["ok"] is False


def test_reindex_rebuilds_the_index_from_the_store_alone(archive_copy):
    shutil.rmtree(archive_copy.index_dir)
    report = audit_archive(archive_copy)
    assert not report.ok and len([p for p in report.problems if "不在检索索引中" in p]) == 3
    result = yuetan(archive_copy, "reindex", "--actor", "测试")
    assert result.returncode == 0, result.stderr
    assert found(archive_copy, "合同评审") == [INSTITUTION]
    assert audit_archive(archive_copy).ok
    with archive_copy.catalog() as catalog:
        assert ledger.entries(catalog)[-1].action == "reindex"


def test_reindex_switches_the_engine_the_settings_name(archive_copy):
    from pipeline.search.index import index_engine
    settings = archive_copy.path / "yuetan.toml"
    assert index_engine(archive_copy.index_dir) == "whoosh"
    before = yuetan(archive_copy, "search", "超范围", "--json")
    settings.write_text(settings.read_text(encoding="utf-8").replace('engine = "whoosh"', 'engine = "tantivy"'),
                        encoding="utf-8")
    result = yuetan(archive_copy, "reindex", "--actor", "测试")
    assert result.returncode == 0, result.stderr
    assert index_engine(archive_copy.index_dir) == "tantivy"
    after = yuetan(archive_copy, "search", "超范围", "--json")
    assert json.loads(after.stdout) == json.loads(before.stdout)          # same hits, points and facets
    assert audit_archive(archive_copy).ok
    settings.write_text(settings.read_text(encoding="utf-8").replace('engine = "tantivy"', 'engine = "lucene"'),
                        encoding="utf-8")
    bad = yuetan(archive_copy, "reindex", "--actor", "测试")
    assert bad.returncode != 0 and "index.engine" in bad.stderr and index_engine(archive_copy.index_dir) == "tantivy"


def test_case_missing_from_the_index_is_named_by_audit(archive_copy):
    from pipeline.search.index import remove_case
    remove_case(archive_copy.index_dir, BUREAU)
    report = audit_archive(archive_copy)
    assert any(BUREAU in p for p in report.problems)


def test_bad_references_and_filters_are_refused_in_chinese(example_archive, tmp_path):
    bad_date = yuetan(example_archive, "export", "--from", "2025-13-01", "-o", str(tmp_path / "x.zip"))
    assert bad_date.returncode == 2 and "--from" in bad_date.stderr and "不是有效日期" in bad_date.stderr
    assert not (tmp_path / "x.zip").exists()
    bad_search = yuetan(example_archive, "search", "整改", "--to", "昨天")
    assert bad_search.returncode == 2 and "--to" in bad_search.stderr
    dest = tmp_path / "out.pdf"
    unknown = yuetan(example_archive, "open", "赣市监检约〔2025〕999号", "-o", str(dest))
    assert unknown.returncode == 2 and "赣市监检约〔2025〕999号" in unknown.stderr and not dest.exists()
    not_pdf = tmp_path / "案卷.pdf"
    not_pdf.write_text("不是 PDF", encoding="utf-8")
    verify = subprocess.run([str(YUETAN), "verify", "--json", str(not_pdf)], capture_output=True, text=True)
    report = json.loads(verify.stdout)
    assert verify.returncode == 1 and report["ok"] is False
    assert any("无法解析" in c["message"] for c in report["checks"] if not c["ok"])
