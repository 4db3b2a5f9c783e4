"""The electronic seal on a real PDF/A-3b dossier: PAdES signature, PDF/A kept, tampering caught."""
from __future__ import annotations

import hashlib
import io
import random
import stat
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pikepdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from archive_store.errors import ConfigurationError
from pipeline.pdf.assemble import (
    DossierMetadata,
    DossierPart,
    EmbeddedFile,
    assemble_dossier,
)
from pipeline.pdf.manifest import (
    Component,
    build_manifest,
    canonical_json,
    manifest_sha256,
)
from pipeline.pdf.normalise import normalise_upload
from pipeline.pdf.pdfa import check_pdfa
from pipeline.pdf.seal import (
    NO_SEAL,
    create_development_seal,
    load_seal,
    seal_pdf,
    verify_seal,
)
from pipeline.records.setup import init_home

from .conftest import EXAMPLES

CASE = EXAMPLES / "institution-onsite"
ORGANIZER = "江西省市场监督管理局"
PASSPHRASE = b"correct horse battery staple"


@pytest.fixture(scope="module")
def unsealed(tmp_path_factory) -> Path:
    """A one-document PDF/A-3b dossier with case.json and manifest.json as associated files."""
    work = tmp_path_factory.mktemp("unsealed")
    upload = normalise_upload(CASE / "整改方案.pdf", work / "0.pdf")
    case_json = (CASE / "case.json").read_bytes()
    manifest = build_manifest(case_id="JX-RZ-2025-017", notice_number="赣市监检约〔2025〕3号", components=[
        Component.of_bytes(case_json, role="case_json", name="case.json", media_type="application/json"),
        Component.of_file(upload.pdf, role="upload_pdf", media_type="application/pdf")])
    digest = manifest_sha256(manifest)
    embedded = [EmbeddedFile("case.json", case_json, "application/json", "Source", "案件数据"),
                EmbeddedFile("manifest.json", canonical_json(manifest), "application/json", "Data", "清单")]
    meta = DossierMetadata(title="江西赣信检测技术有限公司约谈案卷", organizer=ORGANIZER,
                           created=datetime(2025, 9, 2, 10, 0, tzinfo=timezone(timedelta(hours=8))),
                           case_id="JX-RZ-2025-017", notice_number="赣市监检约〔2025〕3号",
                           target="江西赣信检测技术有限公司", credit_code="91360100MA35K2Q74M",
                           closed_on="2025-09-01", manifest_sha256=digest)
    return assemble_dossier([DossierPart("attachments[0]", "整改方案", upload.pdf)], embedded, meta,
                            work / "dossier.pdf")


@pytest.fixture(scope="module")
def seal_file(tmp_path_factory) -> Path:
    return create_development_seal(tmp_path_factory.mktemp("seal") / "dev.p12", organizer=ORGANIZER,
                                   passphrase=PASSPHRASE)


@pytest.fixture(scope="module")
def sealed(unsealed, seal_file, tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("sealed") / "案卷.pdf"
    return seal_pdf(unsealed, dest, p12_path=seal_file, passphrase=PASSPHRASE, location=ORGANIZER)


def signed_ranges(data: bytes) -> list[tuple[int, int]]:
    (sig,) = PdfFileReader(io.BytesIO(data)).embedded_signatures
    a, b, c, d = sig.sig_object["/ByteRange"]
    return [(a, a + b), (c, c + d)]


def write(tmp_path: Path, data: bytes, name: str = "x.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- sealing -----------------------------------------------------------------------------------------------

def test_sealed_dossier_verifies_and_names_the_development_seal(sealed, seal_file):
    status = verify_seal(sealed, trust_p12_or_cert=seal_file.with_suffix(".crt"))
    assert status.ok, status.problems
    assert status.present and status.intact and status.valid and status.covers_whole_file and status.trusted
    assert ORGANIZER in status.signer and "开发测试用印章" in status.signer and status.development
    assert abs(status.signed_at - datetime.now(timezone.utc)) < timedelta(minutes=10)
    with pikepdf.open(sealed) as pdf:
        value = pdf.Root.AcroForm.Fields[0].V
        assert "开发测试用印章" in str(value.Name) and "开发测试用印章" in str(value.Reason)
        assert str(value.Reason).startswith("约谈案卷归档封存") and str(value.Location) == ORGANIZER


def test_without_trust_the_signer_is_named_and_integrity_checked(sealed):
    status = verify_seal(sealed)
    assert status.ok and status.trusted is None and ORGANIZER in status.signer


def test_trust_in_another_seal_fails(sealed, tmp_path):
    other = create_development_seal(tmp_path / "other.p12", organizer="别的单位", passphrase=b"x")
    status = verify_seal(sealed, trust_p12_or_cert=other.with_suffix(".crt"))
    assert status.intact and not status.valid and status.trusted is False and not status.ok
    assert any("不是所信任的印章证书" in p for p in status.problems)


def test_trust_from_the_pkcs12_itself(sealed, seal_file, monkeypatch):
    assert verify_seal(sealed, trust_p12_or_cert=seal_file, trust_passphrase=PASSPHRASE).trusted is True
    monkeypatch.setenv("YUETAN_SEAL_PASSPHRASE", PASSPHRASE.decode())
    assert verify_seal(sealed, trust_p12_or_cert=seal_file).trusted is True
    monkeypatch.delenv("YUETAN_SEAL_PASSPHRASE")
    status = verify_seal(sealed, trust_p12_or_cert=seal_file)
    assert not status.ok and "无法从" in status.problems[0] and str(seal_file) in status.problems[0]


def test_signature_is_pades_baseline(sealed):
    (sig,) = PdfFileReader(io.BytesIO(sealed.read_bytes())).embedded_signatures
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    signed = sig.signed_data
    attrs = {a["type"].native for a in signed["signer_infos"][0]["signed_attrs"]}
    assert {"signing_certificate_v2", "message_digest", "content_type"} <= attrs
    assert "signing_time" not in attrs  # PAdES B-B: the time is /M in the signature dictionary


def test_seal_is_an_incremental_update_and_src_is_untouched(unsealed, sealed, seal_file, tmp_path):
    before = hashlib.sha256(unsealed.read_bytes()).hexdigest()
    dest = seal_pdf(unsealed, tmp_path / "again.pdf", p12_path=seal_file, passphrase=PASSPHRASE, location=ORGANIZER)
    assert hashlib.sha256(unsealed.read_bytes()).hexdigest() == before
    assert dest.read_bytes().startswith(unsealed.read_bytes())
    assert sealed.read_bytes().startswith(unsealed.read_bytes())
    assert [p.name for p in tmp_path.iterdir()] == ["again.pdf"]  # no temporary file left


def test_sealed_dossier_stays_pdfa_3b(unsealed, sealed):
    assert check_pdfa(unsealed, expect_part=3) == []
    assert check_pdfa(sealed, expect_part=3) == []
    result = subprocess.run(["qpdf", "--check", str(sealed)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    with pikepdf.open(sealed) as pdf:
        widget = pdf.Root.AcroForm.Fields[0]
        assert int(widget.F) & 4 and not int(widget.F) & 0b100100011  # printed, not hidden
        assert [float(v) for v in widget.Rect] == [0, 0, 0, 0] and "/AP" not in widget
        assert str(pdf.Root.get("/Version", "/1.7")) <= "/1.7"
        assert pdf.open_metadata()["pdfaid:part"] == "3"


def test_sealing_keeps_the_xmp_and_info_as_assembled(unsealed, sealed):
    with pikepdf.open(unsealed) as a, pikepdf.open(sealed) as b:
        assert a.Root.Metadata.read_bytes() == b.Root.Metadata.read_bytes()
        assert dict(a.docinfo.items()) == dict(b.docinfo.items())


# --- tampering ---------------------------------------------------------------------------------------------

def test_any_changed_byte_in_the_signed_ranges_fails(sealed, tmp_path):
    data = sealed.read_bytes()
    ranges = signed_ranges(data)
    rng = random.Random(20251125)
    positions = [rng.randrange(*ranges[rng.random() < 0.2]) for _ in range(200)]
    target = write(tmp_path, data, "tampered.pdf")
    assert verify_seal(target).ok  # the copy itself verifies: each failure below is the changed byte
    for position in positions:
        changed = bytearray(data)
        changed[position] ^= rng.randrange(1, 256)
        target.write_bytes(changed)
        status = verify_seal(target)
        assert not (status.present and status.intact and status.valid and status.covers_whole_file), position
        assert status.problems, position


def test_appended_bytes_leave_the_seal_short_of_the_file(sealed, tmp_path):
    status = verify_seal(write(tmp_path, sealed.read_bytes() + b"\n% appended after sealing\n"))
    assert status.intact and not status.covers_whole_file and not status.ok
    assert any("没有覆盖整个文件" in p for p in status.problems)


def test_a_later_incremental_update_is_caught(sealed, tmp_path):
    data = sealed.read_bytes()
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    writer.root["/Lang"] = generic.TextStringObject("en")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    assert len(out.getvalue()) > len(data)
    status = verify_seal(write(tmp_path, out.getvalue()))
    assert status.intact and not status.covers_whole_file and not status.ok


def test_unsealed_pdf_has_no_seal(unsealed):
    status = verify_seal(unsealed)
    assert not status.present and status.problems == [NO_SEAL] and not status.ok


@pytest.mark.parametrize("damage", ["truncated", "text", "empty"])
def test_damaged_file_is_a_problem_not_a_crash(sealed, tmp_path, damage):
    data = {"truncated": sealed.read_bytes()[:len(sealed.read_bytes()) // 2],
            "text": "这不是 PDF".encode(), "empty": b""}[damage]
    status = verify_seal(write(tmp_path, data))
    assert not status.ok and status.problems


# --- configuration -----------------------------------------------------------------------------------------

def test_wrong_passphrase_is_a_configuration_error_naming_the_file(unsealed, seal_file, tmp_path):
    with pytest.raises(ConfigurationError) as caught:
        seal_pdf(unsealed, tmp_path / "out.pdf", p12_path=seal_file, passphrase=b"wrong", location=ORGANIZER)
    assert str(seal_file) in caught.value.message and "口令" in caught.value.message
    assert list(tmp_path.iterdir()) == []


def test_missing_pkcs12_is_a_configuration_error(unsealed, tmp_path):
    with pytest.raises(ConfigurationError) as caught:
        seal_pdf(unsealed, tmp_path / "out.pdf", p12_path=tmp_path / "none.p12", passphrase=None, location="")
    assert "none.p12" in caught.value.message and "yuetan init" in caught.value.message


def test_init_creates_the_development_seal_once(tmp_path, unsealed, monkeypatch):
    monkeypatch.delenv("YUETAN_SEAL_PASSPHRASE", raising=False)
    home, created = init_home(tmp_path / "home")
    assert created and home.seal_pkcs12 == tmp_path / "home" / "seal" / "development-seal.p12"
    p12 = home.seal_pkcs12.read_bytes()
    assert stat.S_IMODE(home.seal_passphrase_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.seal_pkcs12.stat().st_mode) == 0o600
    passphrase = home.seal_passphrase()
    assert passphrase and len(passphrase) >= 32

    again, created = init_home(tmp_path / "home")
    assert not created and again.seal_pkcs12.read_bytes() == p12 and again.seal_passphrase() == passphrase

    dest = seal_pdf(unsealed, tmp_path / "out.pdf", p12_path=home.seal_pkcs12, passphrase=home.seal_passphrase(),
                    location=ORGANIZER)
    status = verify_seal(dest, trust_p12_or_cert=home.seal_pkcs12.with_suffix(".crt"))
    assert status.ok and status.development and "开发测试用印章" in status.signer


def test_passphrase_variable_wins_over_the_file(tmp_path, monkeypatch):
    home, _ = init_home(tmp_path / "home")
    monkeypatch.setenv("YUETAN_SEAL_PASSPHRASE", "从环境变量来")
    assert home.seal_passphrase() == "从环境变量来".encode()


def test_configured_seal_is_never_replaced_by_a_development_seal(tmp_path):
    folder = tmp_path / "home"
    folder.mkdir()
    (folder / "yuetan.toml").write_text('[seal]\npkcs12 = "/nonexistent/本单位印章.p12"\n', encoding="utf-8")
    home, created = init_home(folder)
    assert not created and home.seal_pkcs12 == Path("/nonexistent/本单位印章.p12")
    assert not (folder / "seal").exists()


def test_bad_seal_setting_is_named(tmp_path):
    folder = tmp_path / "home"
    folder.mkdir()
    (folder / "yuetan.toml").write_text("[seal]\npkcs12 = 3\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        init_home(folder)
    assert "seal.pkcs12" in caught.value.message


def test_plain_pyhanko_signature_would_break_pdfa_and_the_checker_says_so(unsealed, seal_file, tmp_path):
    """Why the seal uses its own writer: with an ECDSA key pyHanko declares PDF 2.0 and rewrites the XMP."""
    from pyhanko.sign import fields, signers

    out = io.BytesIO()
    signers.PdfSigner(signers.PdfSignatureMetadata(field_name="plain", subfilter=fields.SigSeedSubFilter.PADES),
                      load_seal(seal_file, PASSPHRASE)).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(unsealed.read_bytes())), output=out)
    problems = check_pdfa(write(tmp_path, out.getvalue()), expect_part=3)
    assert any("PDF 版本为 2.0" in p for p in problems)
    assert any("XMP" in p for p in problems)  # the extension schema no longer matches the rewritten packet


def test_a_file_that_is_not_a_pdf_is_refused_and_nothing_written(seal_file, tmp_path):
    from archive_store.errors import InvalidArgument

    source = write(tmp_path, "这不是 PDF".encode(), "src.pdf")
    with pytest.raises(InvalidArgument) as caught:
        seal_pdf(source, tmp_path / "out" / "sealed.pdf", p12_path=seal_file, passphrase=PASSPHRASE, location="")
    assert "src.pdf" in caught.value.message
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_an_expired_seal_is_refused(unsealed, tmp_path):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expired")])
    start = datetime(2020, 1, 1, tzinfo=timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + timedelta(days=365))
            .sign(key, hashes.SHA256()))
    p12 = write(tmp_path, pkcs12.serialize_key_and_certificates(
        b"expired", key, cert, None, serialization.BestAvailableEncryption(b"pw")), "expired.p12")
    with pytest.raises(ConfigurationError) as caught:
        seal_pdf(unsealed, tmp_path / "out.pdf", p12_path=p12, passphrase=b"pw", location="")
    assert "expired.p12" in caught.value.message and "有效期" in caught.value.message
    assert not (tmp_path / "out.pdf").exists()


def test_an_existing_seal_file_is_never_overwritten(seal_file):
    before = seal_file.read_bytes()
    with pytest.raises(ConfigurationError) as caught:
        create_development_seal(seal_file, organizer="x", passphrase=b"y")
    assert str(seal_file) in caught.value.message and seal_file.read_bytes() == before


def test_concurrent_inits_agree_on_one_seal_and_passphrase(tmp_path, monkeypatch):
    import multiprocessing

    monkeypatch.delenv("YUETAN_SEAL_PASSPHRASE", raising=False)
    folder = tmp_path / "home"
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=init_home, args=(folder,)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    home, _ = init_home(folder)
    seal = load_seal(home.seal_pkcs12, home.seal_passphrase())
    crt = home.seal_pkcs12.with_suffix(".crt").read_bytes()
    assert seal.signing_cert.dump() == x509.load_pem_x509_certificate(crt).public_bytes(
        serialization.Encoding.DER)
    assert sorted(p.name for p in (folder / "seal").iterdir()) == [
        "development-seal.crt", "development-seal.p12", "passphrase"]
