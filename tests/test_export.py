"""BagIt compliance export: bags that bagit-python validates, and a --verify that finds every change."""
from __future__ import annotations

import csv
import hashlib
import json
import random
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import bagit
import pytest
from openpyxl import load_workbook

from archive_store import ledger
from archive_store.errors import ArchiveConflict, InvalidArgument
from pipeline.pdf.manifest import manifest_sha256
from pipeline.pdf.seal import create_development_seal, sign_detached
from pipeline.records.export import (
    ExportFilters,
    _quiet_bagit,
    _zip_folder,
    export_bag,
    select_cases,
    verify_bag,
    verify_export,
)

from .conftest import person
from .stored_cases import credit_code, store_case


@pytest.fixture(scope="module")
def seal(tmp_path_factory) -> Path:
    """A development seal (PKCS#12 with no passphrase) to sign hand-made bags with."""
    return create_development_seal(tmp_path_factory.mktemp("seal") / "seal.p12", organizer="测试", passphrase=b"pw")


def _hand_made_bag(tmp_path: Path, seal: Path | None = None) -> Path:
    """A small bag as yuetan writes them (with an empty ledger); signed by `seal` when given."""
    folder = tmp_path / "bag-src" / "inspection"
    (folder / "GZ-1").mkdir(parents=True)
    (folder / "GZ-1" / "case.json").write_text('{"case_id": "GZ-1"}', encoding="utf-8")
    (folder / "summary.csv").write_text("文号,约谈对象\r\n赣市监检约〔2025〕1号,某公司\r\n", encoding="utf-8")
    (folder / "ledger.jsonl").write_text("", encoding="utf-8")
    (folder / "ledger-chain.txt").write_text("", encoding="utf-8")
    bagit.make_bag(str(folder), {"Source-Organization": "江西省市场监督管理局", "Yuetan-Ledger-Head": "0"},
                   checksums=["sha256"])
    if seal is not None:
        _sign(folder, seal)
    return folder


def _sign(folder: Path, seal: Path) -> None:
    tags = (folder / "tagmanifest-sha256.txt").read_bytes()
    (folder / "tagmanifest-sha256.txt.p7s").write_bytes(sign_detached(tags, p12_path=seal, passphrase=b"pw"))


def _zip(folder: Path, dest: Path) -> Path:
    _zip_folder(folder, dest)
    return dest


def test_verify_accepts_a_valid_bag(tmp_path, seal, private_tempdir):
    assert verify_bag(_zip(_hand_made_bag(tmp_path, seal), tmp_path / "ok.zip")) == []


def test_an_unsigned_bag_proves_nothing(tmp_path, private_tempdir):
    problems = verify_bag(_zip(_hand_made_bag(tmp_path), tmp_path / "unsigned.zip"))
    assert problems == ["导出包没有电子签名（tagmanifest-sha256.txt.p7s）：无法证明它出自档案库"]


def test_verify_lists_every_problem_in_chinese(tmp_path, seal, private_tempdir):
    folder = _hand_made_bag(tmp_path, seal)
    (folder / "data" / "GZ-1" / "case.json").write_text('{"case_id": "GZ-2"}', encoding="utf-8")  # same size
    (folder / "data" / "summary.csv").unlink()
    (folder / "data" / "extra.txt").write_text("x", encoding="utf-8")
    problems = verify_bag(_zip(folder, tmp_path / "bad.zip"))
    text = "\n".join(problems)
    assert "data/GZ-1/case.json 的 sha256 摘要不符" in text
    assert "data/summary.csv 缺失" in text
    assert "data/extra.txt 不在清单中" in text
    assert "Payload-Oxum" in text


def test_verify_fails_on_every_changed_byte_before_the_central_directory(tmp_path, seal, private_tempdir):
    """Without the archive's ledger, every byte of every member (headers and data) is covered."""
    path = _zip(_hand_made_bag(tmp_path, seal), tmp_path / "b.zip")
    assert verify_bag(path) == []
    original = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        end = archive.start_dir
    missed = []
    for offset in range(end):
        data = bytearray(original)
        data[offset] ^= 0x01
        path.write_bytes(bytes(data))
        if not verify_bag(path):
            missed.append(offset)
    assert missed == []


def test_verify_refuses_unsafe_member_names_and_non_bags(tmp_path, private_tempdir):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../escape.txt", "x")
    problems = verify_bag(evil)
    assert any("路径不安全" in p for p in problems) and any("bagit.txt" in p for p in problems)
    assert not (tmp_path / "escape.txt").exists()
    not_zip = tmp_path / "x.zip"
    not_zip.write_text("hello", encoding="utf-8")
    assert "不是有效的 zip 文件" in verify_bag(not_zip)[0]


# --- exports from a real archive home --------------------------------------------------------------------

@pytest.fixture
def archive(new_home, tmp_path):
    home = new_home(tmp_path / "home")
    store_case(home, "GZ-1", date(2025, 9, 1), credit=credit_code(1), organizer="赣州市市场监督管理局",
               region_code="360700", grounds=[(6, 2), (6, 3)], interview_on=date(2025, 7, 15))
    store_case(home, "GZ-2", date(2025, 11, 1), credit=credit_code(2), organizer="赣州市市场监督管理局",
               region_code="360700", grounds=[(6, 5)], outcome="administrative_penalty",
               interview_on=date(2025, 9, 10), findings=[])
    store_case(home, "JJ-1", date(2024, 5, 1), credit=None, organizer="江西省市场监督管理局", kind="bureau",
               grounds=[(7, 1)], outcome="circulated_criticism", interview_on=date(2024, 3, 2))
    return home


def _unzip(path: Path, dest: Path) -> Path:
    with zipfile.ZipFile(path) as archive:
        archive.extractall(dest)
    (root,) = [p for p in dest.iterdir() if p.is_dir()]
    return root


def test_export_writes_a_valid_bag_with_dossiers_summary_and_ledger(archive, tmp_path, private_tempdir):
    dest = tmp_path / "out" / "赣州2025.zip"
    result = export_bag(archive, ExportFilters(organizer="赣州市"), dest, actor=person("检查组"))
    assert result.case_ids == ["GZ-1", "GZ-2"] and dest.is_file()
    assert [p.name for p in dest.parent.iterdir()] == ["赣州2025.zip"]          # no temp folder left
    root = _unzip(dest, tmp_path / "unzipped")
    bag = bagit.Bag(str(root))
    assert bag.validate() and bag.algorithms == ["sha256"]
    assert "江西省" not in str(bag.info["Source-Organization"]) and "赣州市市场监督管理局" in str(bag.info["Source-Organization"])
    with archive.catalog() as catalog:
        for case_id in result.case_ids:
            record = catalog.current(case_id)
            folder = root / "data" / case_id
            assert hashlib.sha256((folder / "dossier.pdf").read_bytes()).hexdigest() == record.dossier_sha256
            assert json.loads((folder / "case.json").read_text(encoding="utf-8"))["case_id"] == case_id
            assert manifest_sha256(json.loads((folder / "manifest.json").read_bytes())) == record.manifest_sha256
        export_entry = [e for e in ledger.entries(catalog) if e.action == "export"][-1]
    assert export_entry.details["tagmanifest_sha256"] == \
        hashlib.sha256((root / "tagmanifest-sha256.txt").read_bytes()).hexdigest() == result.tagmanifest_sha256
    assert export_entry.details["case_ids"] == ["GZ-1", "GZ-2"] and export_entry.actor == "检查组"
    assert bag.info["Yuetan-Ledger-Head"] == f"{export_entry.seq - 1} {export_entry.prev_hash}"
    with open(root / "data" / "summary.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:8] == ["文号", "约谈对象", "信用代码", "事由", "程序核查发现", "处理结果", "约谈日期", "结案日期"]
    gz1 = next(r for r in rows if r[8] == "GZ-1")
    assert gz1[2] == credit_code(1) and gz1[3] == "第六条第（二）项；第六条第（三）项"
    assert "第十三条" in gz1[4] and gz1[5] == "整改完成" and gz1[6:8] == ["2025-07-15", "2025-09-01"]
    gz2 = next(r for r in rows if r[8] == "GZ-2")
    assert gz2[4] == "未发现问题" and gz2[5] == "行政处罚"
    sheet = load_workbook(root / "data" / "summary.xlsx").active
    assert [c.value for c in sheet[1]][:3] == ["文号", "约谈对象", "信用代码"] and sheet.max_row == 3
    lines = [json.loads(line) for line in (root / "data" / "ledger.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {(e["action"], e["case_id"]) for e in lines} == {("ingest", "GZ-1"), ("ingest", "GZ-2")}
    assert all(len(e["entry_hash"]) == 64 for e in lines)
    assert verify_bag(dest, home=archive) == []
    with pytest.raises(InvalidArgument, match="已存在"):
        export_bag(archive, ExportFilters(organizer="赣州市"), dest, actor=person("检查组"))


@pytest.mark.parametrize("filters, expected", [
    (ExportFilters(), ["JJ-1", "GZ-1", "GZ-2"]),
    (ExportFilters(kind="bureau"), ["JJ-1"]),
    (ExportFilters(ground="6.3"), ["GZ-1"]),
    (ExportFilters(ground="6"), ["GZ-1", "GZ-2"]),
    (ExportFilters(outcome="administrative_penalty"), ["GZ-2"]),
    (ExportFilters(region="3607"), ["GZ-1", "GZ-2"]),
    (ExportFilters(date_from=date(2025, 8, 1)), ["GZ-2"]),
    (ExportFilters(date_to=date(2025, 7, 15)), ["JJ-1", "GZ-1"]),
    (ExportFilters(query=credit_code(2)), ["GZ-2"]),
    (ExportFilters(query="数据失实", organizer="赣州市"), ["GZ-1", "GZ-2"]),
])
def test_export_filters_select_like_search(archive, filters, expected):
    assert [r.case_id for r in select_cases(archive, filters)] == expected


def test_export_is_refused_while_a_case_is_missing_from_the_index(archive, tmp_path):
    with archive.catalog() as catalog, catalog.transaction() as tx:
        tx.conn.exec_driver_sql("UPDATE cases SET indexed_at = NULL WHERE case_id = 'JJ-1'")
    with pytest.raises(ArchiveConflict, match="JJ-1.*yuetan reindex"):
        export_bag(archive, ExportFilters(), tmp_path / "x.zip", actor=person("a"))
    assert not (tmp_path / "x.zip").exists()


def test_export_of_nothing_is_refused_and_writes_nothing(archive, tmp_path):
    with pytest.raises(InvalidArgument, match="没有符合条件的案件"):
        export_bag(archive, ExportFilters(organizer="抚州"), tmp_path / "x.zip", actor=person("a"))
    assert not (tmp_path / "x.zip").exists()


def test_any_changed_byte_of_an_export_fails_verify(archive, tmp_path, private_tempdir):
    dest = tmp_path / "all.zip"
    export_bag(archive, ExportFilters(), dest, actor=person("检查组"))
    original = dest.read_bytes()
    rng = random.Random(20)
    for offset in sorted(rng.sample(range(len(original)), 40)) + [len(original) - 3, 5]:
        data = bytearray(original)
        data[offset] ^= 1 << rng.randrange(8)
        dest.write_bytes(bytes(data))
        assert verify_bag(dest, home=archive) != [], f"byte {offset} changed unnoticed"
    dest.write_bytes(original)
    assert verify_bag(dest, home=archive) == []


def test_export_and_verify_commands(archive, tmp_path):
    dest = tmp_path / "赣州.zip"
    done = _yuetan("--home", str(archive.path), "export", "--organizer", "赣州市", "--from", "2025-01-01",
                   "-o", str(dest), "--json", "--actor", "检查组")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["case_ids"] == ["GZ-1", "GZ-2"]
    ok = _yuetan("--home", str(archive.path), "export", "--verify", str(dest))
    assert ok.returncode == 0 and "完好" in ok.stdout
    folder = _unzip(dest, tmp_path / "u")
    (folder / "data" / "GZ-1" / "case.json").write_text("{}", encoding="utf-8")
    _zip_folder(folder, tmp_path / "tampered.zip")
    bad = _yuetan("export", "--verify", str(tmp_path / "tampered.zip"), "--json")
    report = json.loads(bad.stdout)
    assert bad.returncode == 1 and not report["valid"]
    assert any("data/GZ-1/case.json" in p and "摘要不符" in p for p in report["problems"])
    nothing = _yuetan("--home", str(archive.path), "export", "--kind", "bureau", "--organizer", "赣州市",
                      "-o", str(tmp_path / "none.zip"))
    assert nothing.returncode == 2 and "没有符合条件的案件" in nothing.stderr


def _yuetan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "yuetan"), *args], capture_output=True, text=True,
                          timeout=300)


def test_stored_cases_are_what_ingest_stores_so_reindex_reads_them(archive):
    """The fixture's cases went through ingest's storage step: audit finds nothing, and a rebuilt index holds
    every case with its documents' text (the upload's words, which are in no catalog field)."""
    from pipeline.records.audit import audit_archive
    from pipeline.search import index
    from pipeline.search.reindex import reindex

    before = {h.case_id for h in index.search(archive.index_dir, "合同评审程序", limit=10).hits}
    assert reindex(archive, actor=person("档案员")) == 3
    after = {h.case_id for h in index.search(archive.index_dir, "合同评审程序", limit=10).hits}
    assert before == after == {"GZ-1", "GZ-2", "JJ-1"}
    assert audit_archive(archive).ok, audit_archive(archive).problems
# --- sealed exports: a forged package is found, at the archive and by an inspector with openssl alone ------------

def _forge(dest: Path, tmp_path: Path, change) -> Path:
    """What a forger does: unpack, change files, recompute every manifest as BagIt tools do, zip again."""
    folder = _unzip(dest, tmp_path / f"forge-{change.__name__}")
    change(folder)
    with _quiet_bagit():
        bagit.Bag(str(folder)).save(manifests=True)
    assert bagit.Bag(str(folder)).is_valid()                   # the manifests alone no longer tell
    return _zip(folder, tmp_path / f"{change.__name__}.zip")


def edit_case_json(folder: Path) -> None:
    path = folder / "data" / "GZ-1" / "case.json"
    path.write_text(path.read_text(encoding="utf-8").replace("检验报告数据失实", "检验报告数据属实"), encoding="utf-8")


def edit_summary(folder: Path) -> None:
    path = folder / "data" / "summary.csv"
    path.write_text(path.read_text(encoding="utf-8-sig").replace("行政处罚", "整改完成"), encoding="utf-8-sig")


def edit_ledger(folder: Path) -> None:
    path = folder / "data" / "ledger.jsonl"
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    lines[0]["actor"] = "冒名者"
    lines[0]["entry_hash"] = ledger.entry_hash(**{k: lines[0][k] for k in (
        "seq", "at", "actor", "role", "action", "case_id", "details", "prev_hash")})
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in lines), encoding="utf-8")


def drop_signature(folder: Path) -> None:
    (folder / "tagmanifest-sha256.txt.p7s").unlink()


@pytest.mark.parametrize("change", [edit_case_json, edit_summary, edit_ledger, drop_signature])
def test_a_forged_export_fails_verify_even_at_the_archive_that_wrote_it(archive, tmp_path, change):
    dest = tmp_path / "all.zip"
    export_bag(archive, ExportFilters(), dest, actor=person("检查组"))
    assert verify_export(dest, home=archive).ok
    forged = _forge(dest, tmp_path, change)
    for home in (archive, None):
        report = verify_export(forged, home=home)
        failed = {c.name for c in report.checks if not c.ok}
        assert "signature" in failed and "manifests" not in failed, (home, report.checks)
    if change is edit_ledger:
        assert "ledger_chain" in failed and any("不在 ledger-chain.txt 的哈希链上" in p for p in report.problems)


def test_a_package_signed_by_another_seal_is_not_trusted(archive, tmp_path, seal):
    dest = tmp_path / "all.zip"
    export_bag(archive, ExportFilters(), dest, actor=person("检查组"))
    forged = _forge(dest, tmp_path, edit_case_json)
    folder = _unzip(forged, tmp_path / "resign")
    _sign(folder, seal)                                       # the forger's own seal
    resigned = _zip(folder, tmp_path / "resigned.zip")
    at_archive = verify_export(resigned, home=archive)
    assert not at_archive.ok and any("不是所信任的印章证书" in p for p in at_archive.problems)
    trusted = archive.seal_pkcs12.with_suffix(".crt")
    elsewhere = verify_export(resigned, trust=trusted)
    assert not elsewhere.ok and any("不是所信任的印章证书" in p for p in elsewhere.problems)
    anywhere = verify_export(resigned)                        # no anchor: intact, but only the signer is named
    assert anywhere.ok and anywhere.signer.startswith("测试") and any("未指定 --trust" in n for n in anywhere.notes)
    assert verify_export(dest, trust=trusted).ok


def _inspector_script() -> str:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### 核验导出包（只用 openssl）"):]
    return section[section.index("```sh\n") + 6:section.index("\n```", section.index("```sh\n"))]


def test_an_inspector_verifies_an_export_with_openssl_alone(archive, tmp_path):
    dest = tmp_path / "all.zip"
    export_bag(archive, ExportFilters(), dest, actor=person("检查组"))
    folder = _unzip(dest, tmp_path / "inspector")
    cert = archive.seal_pkcs12.with_suffix(".crt")
    script = _inspector_script()

    def inspect(bag: Path) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin", "BAG": str(bag), "CERT": str(cert)})

    good = inspect(folder)
    assert good.returncode == 0 and "导出包完好" in good.stdout, good.stdout + good.stderr
    edit_case_json(folder)
    assert inspect(folder).returncode != 0
    forged = _unzip(_forge(dest, tmp_path, edit_summary), tmp_path / "inspector-forged")
    assert inspect(forged).returncode != 0 and "Verification failure" in inspect(forged).stderr


def test_seal_signs_and_checks_from_inside_a_running_event_loop(seal):
    """A web worker or a browser driver may already run an event loop in the thread; asyncio.run refuses there,
    and the export's signature must be made and checked all the same."""
    import asyncio

    from pipeline.pdf.seal import verify_detached

    async def inside() -> tuple[bytes, object]:
        signature = sign_detached(b"tags", p12_path=seal, passphrase=b"pw")
        return signature, verify_detached(b"tags", signature)

    signature, status = asyncio.run(inside())
    assert status.ok and status.intact and status.valid
    assert not verify_detached(b"tagz", signature).ok


@pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")      # the duplicate is the point
def test_verify_unpacks_by_the_same_zip_rules_as_intake(tmp_path, seal, private_tempdir):
    """One set of zip rules (pipeline.case.safezip): a bag given back with a link, a name held twice or a member
    that expands out of all proportion is refused member by member, like a case's zip at intake."""
    path = _zip(_hand_made_bag(tmp_path, seal), tmp_path / "b.zip")
    with zipfile.ZipFile(path, "a") as archive:
        link = zipfile.ZipInfo("inspection/data/link.pdf")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
        archive.writestr("inspection/data/summary.csv", "twice")
        archive.writestr("inspection/data/zeros.bin", bytes(8 * 1024 * 1024), compress_type=zipfile.ZIP_DEFLATED)
    text = "\n".join(verify_bag(path))
    assert "link.pdf：路径不安全：是符号链接" in text
    assert "summary.csv：zip 内有 2 个同名文件" in text
    assert "zeros.bin：压缩比异常（疑似 zip 炸弹）" in text
