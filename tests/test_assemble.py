"""Assembling normalised uploads into one PDF/A-3b: order, bookmarks, labels, XMP, associated files."""
from __future__ import annotations

import hashlib
import re
import subprocess
from datetime import datetime, timedelta, timezone

import pikepdf
import pytest

from pipeline.pdf.assemble import (
    DossierMetadata,
    DossierPart,
    EmbeddedFile,
    assemble_dossier,
    numbered_ranges,
)
from pipeline.pdf.manifest import (
    Component,
    build_manifest,
    canonical_json,
    manifest_sha256,
)
from pipeline.pdf.normalise import normalise_upload
from pipeline.pdf.pdfa import check_pdfa

from .conftest import EXAMPLES

CASE = EXAMPLES / "institution-onsite"


@pytest.fixture(scope="module")
def assembled(tmp_path_factory):
    work = tmp_path_factory.mktemp("assemble")
    uploads = [normalise_upload(CASE / name, work / f"{i}.pdf")
               for i, name in enumerate(["整改方案.pdf", "整改报告.pdf", "现场复查记录.jpg"])]
    parts = [DossierPart("cover", "案卷封面", uploads[0].pdf, numbered=False, label="封面"),
             DossierPart("attachments[0]", "整改方案", uploads[0].pdf),
             DossierPart("attachments[1]", "整改报告", uploads[1].pdf),
             DossierPart("attachments[2]", "现场复查记录（扫描件）", uploads[2].pdf),
             DossierPart("remarks", "备考表", uploads[1].pdf, numbered=False, label="备考表")]
    case_json = (CASE / "case.json").read_bytes()
    components = [Component.of_bytes(case_json, role="case_json", name="case.json", media_type="application/json")]
    components += [Component.of_file(u.pdf, role="upload_pdf", media_type="application/pdf") for u in uploads]
    manifest = build_manifest(case_id="JX-RZ-2025-017", notice_number="赣市监检约〔2025〕3号", components=components)
    digest = manifest_sha256(manifest)
    embedded = [EmbeddedFile("case.json", case_json, "application/json", "Source", "案件数据"),
                EmbeddedFile("manifest.json", canonical_json(manifest), "application/json", "Data", "清单"),
                EmbeddedFile("现场复查记录.jpg", (CASE / "现场复查记录.jpg").read_bytes(), "image/jpeg", "Source", "原件")]
    meta = DossierMetadata(title="江西赣信检测技术有限公司约谈案卷", organizer="江西省市场监督管理局",
                           created=datetime(2025, 9, 2, 10, 0, tzinfo=timezone(timedelta(hours=8))),
                           case_id="JX-RZ-2025-017", notice_number="赣市监检约〔2025〕3号",
                           target="江西赣信检测技术有限公司 & <分公司>", credit_code="91360100MA35K2Q74M",
                           closed_on="2025-09-01", manifest_sha256=digest)
    dest = assemble_dossier(parts, embedded, meta, work / "dossier.pdf")
    return dest, parts, digest, uploads


def test_dossier_is_pdfa_3b(assembled):
    dest, *_ = assembled
    assert check_pdfa(dest, expect_part=3) == []


def test_xmp_carries_the_case_keys_and_manifest_hash(assembled):
    dest, _, digest, _ = assembled
    with pikepdf.open(dest) as pdf:
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "3" and meta["pdfaid:conformance"] == "B"
        assert meta["dc:title"] == "江西赣信检测技术有限公司约谈案卷"
        xmp = pdf.Root.Metadata.read_bytes().decode()
        assert f"<yuetan:manifestSha256>{digest}</yuetan:manifestSha256>" in xmp
        assert "赣市监检约〔2025〕3号" in xmp and "&amp; &lt;分公司&gt;" in xmp
        assert str(pdf.Root.Lang) == "zh-CN" and "/OutputIntents" in pdf.Root


def test_associated_files_with_relationship_and_mime(assembled):
    dest, *_ = assembled
    with pikepdf.open(dest) as pdf:
        relations = {str(spec.UF): str(spec.AFRelationship) for spec in pdf.Root.AF}
        assert relations == {"case.json": "/Source", "manifest.json": "/Data", "现场复查记录.jpg": "/Source"}
        data = pdf.attachments["现场复查记录.jpg"].get_file()
        assert str(data.mime_type) == "image/jpeg"
        assert hashlib.sha256(data.read_bytes()).hexdigest() == \
            hashlib.sha256((CASE / "现场复查记录.jpg").read_bytes()).hexdigest()


def test_bookmarks_and_page_labels_follow_the_parts(assembled):
    dest, parts, _, _ = assembled
    ranges = numbered_ranges(parts)
    assert ranges["attachments[0]"][0] == 1
    with pikepdf.open(dest) as pdf:
        with pdf.open_outline() as outline:
            assert [item.title for item in outline.root] == [p.title for p in parts]
        labels = [str(pdf.Root.PageLabels.Nums[i + 1].get("/P", "")) for i in range(0, len(pdf.Root.PageLabels.Nums), 2)]
        assert labels[0] == "封面" and labels[-1] == "备考表"


def test_scan_words_are_searchable_in_the_dossier(assembled):
    dest, *_ = assembled
    text = re.sub(r"\s+", "", subprocess.run(["pdftotext", str(dest), "-"], capture_output=True,
                                             check=True).stdout.decode())
    assert "现场复查" in text and "整改到位" in text
