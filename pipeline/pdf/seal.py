"""The electronic seal: a PAdES baseline (B-B) signature of the organizer over the whole dossier.

The seal goes into an incremental update with an invisible field (zero rectangle, Print flag, no
appearance stream), so the PDF/A-3b bytes before it stay as they are and nothing in the update
needs a font. Nothing may be saved after sealing: any later byte leaves the signature's range.
"""
from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from archive_store.durable import write_atomically
from archive_store.errors import ConfigurationError, InvalidArgument

DEFAULT_REASON = "约谈案卷归档封存"
SEAL_FIELD = "yuetan-seal"
SEAL_FIELD_TITLE = "案卷电子印章"
DEVELOPMENT_MARK = "开发测试用印章，非正式"
DEVELOPMENT_ORGANIZATION = "yuetan 开发测试"
DEVELOPMENT_VALIDITY = timedelta(days=3653)
NO_SEAL = "案卷没有电子印章"
PASSPHRASE_ENV = "YUETAN_SEAL_PASSPHRASE"
PDF_MAX_VERSION = (1, 7)  # PDF/A-3 is built on PDF 1.7

# pyHanko and its certificate validator log every failed check as a warning; the results are ours to report.
for _name in ("pyhanko", "pyhanko_certvalidator"):
    logging.getLogger(_name).setLevel(logging.ERROR)


@dataclass(frozen=True)
class SealStatus:
    present: bool
    intact: bool                 # the signed bytes hash to the signed digest
    valid: bool                  # the signature verifies (and, with a trust anchor, the signer is trusted)
    covers_whole_file: bool      # the signed ranges cover every byte but the signature itself
    signer: str | None
    problems: list[str]
    signed_at: datetime | None = None
    trusted: bool | None = None  # None: no trust anchor given, the signer is only named
    development: bool = False    # sealed with a development seal, not a real one

    @property
    def ok(self) -> bool:
        return self.present and self.intact and self.valid and self.covers_whole_file and not self.problems


# --- sealing ---------------------------------------------------------------------------------------------

def seal_pdf(src: Path, dest: Path, *, p12_path: Path, passphrase: bytes | None, location: str,
             reason: str = DEFAULT_REASON) -> Path:
    """Seal `src` into `dest` (written by rename); `src` is only read."""
    src, dest = Path(src), Path(dest)
    signer = load_seal(p12_path, passphrase)
    cert = signer.signing_cert
    development = is_development_certificate(cert)
    if development:
        reason = f"{reason}（{DEVELOPMENT_MARK}）"
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD, name=certificate_name(cert), reason=reason, location=location or None,
        md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES)
    spec = fields.SigFieldSpec(SEAL_FIELD, readable_field_name=SEAL_FIELD_TITLE)
    try:
        source = src.read_bytes()
    except OSError as exc:
        raise InvalidArgument(f"无法读取待封存的案卷“{src}”（{exc.strerror}）") from None
    out = io.BytesIO()
    try:
        writer = _PdfaIncrementalWriter(io.BytesIO(source), strict=False)
        signers.PdfSigner(meta, signer, new_field_spec=spec).sign_pdf(writer, output=out)
    except Exception as exc:  # noqa: BLE001 - pyHanko raises many kinds for a file it cannot sign
        raise InvalidArgument(f"无法为“{src}”加盖电子印章（{type(exc).__name__}: {str(exc)[:200]}）："
                              "文件可能不是完整的 PDF") from None
    write_atomically(dest, out.getvalue())
    return dest


class _PdfaIncrementalWriter(IncrementalPdfFileWriter):
    """An incremental writer that keeps a PDF/A-3 a PDF/A-3.

    pyHanko re-serialises the XMP on every write (new prefixes, its own Producer and ModifyDate),
    which breaks the PDF/A extension schema and the Info/XMP agreement; the signature carries
    its own time (/M), so /Info and the XMP stay as assembled. For an ECDSA seal pyHanko also
    declares PDF 2.0 (ISO 32002), which PDF/A-3, built on PDF 1.7, does not allow; PDF 1.7 with
    the ESIC extension carries a PAdES signature with any key."""

    def _update_meta(self):
        pass

    def ensure_output_version(self, version):
        super().ensure_output_version(min(tuple(version), PDF_MAX_VERSION))

    def register_extension(self, ext):
        if _version(str(ext.base_version)) <= PDF_MAX_VERSION:
            super().register_extension(ext)


def _version(name: str) -> tuple[int, int]:
    major, _, minor = name.lstrip("/").partition(".")
    return int(major), int(minor or 0)


def load_seal(p12_path: Path, passphrase: bytes | None) -> signers.SimpleSigner:
    p12_path = Path(p12_path)
    try:
        data = p12_path.read_bytes()
    except FileNotFoundError:
        raise ConfigurationError(
            f"找不到印章证书文件“{p12_path}”：请在设置文件 [seal] 节的 pkcs12 中填写本单位印章证书（PKCS#12）的路径，"
            "或运行 yuetan init 生成开发测试用印章") from None
    except OSError as exc:
        raise ConfigurationError(f"无法读取印章证书文件“{p12_path}”（{exc.strerror}）") from None
    try:
        key, cert, _ = pkcs12.load_key_and_certificates(data, passphrase)
    except ValueError:
        raise ConfigurationError(
            f"无法打开印章证书文件“{p12_path}”：口令不对或文件不是 PKCS#12 证书。请检查环境变量 "
            f"{PASSPHRASE_ENV}（或设置文件 [seal] 节 passphrase_env 指定的变量）与口令文件 passphrase_file") from None
    if key is None or cert is None:
        raise ConfigurationError(f"印章证书文件“{p12_path}”中缺少私钥或证书：请提供含私钥与签章证书的 PKCS#12 文件")
    now = datetime.now(timezone.utc)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise ConfigurationError(
            f"印章证书文件“{p12_path}”中的证书不在有效期内（{cert.not_valid_before_utc:%Y-%m-%d} 至 "
            f"{cert.not_valid_after_utc:%Y-%m-%d}）：请换用有效的印章证书")
    try:
        return signers.SimpleSigner.load_pkcs12_data(data, other_certs=(), passphrase=passphrase)
    except ValueError as exc:
        raise ConfigurationError(f"印章证书文件“{p12_path}”无法用于签章（{exc}）") from None


def certificate_name(cert: asn1_x509.Certificate) -> str:
    subject = cert.subject.native
    return subject.get("common_name") or cert.subject.human_friendly


def is_development_certificate(cert: asn1_x509.Certificate) -> bool:
    subject = cert.subject.native
    return (subject.get("organization_name") == DEVELOPMENT_ORGANIZATION
            or DEVELOPMENT_MARK in str(subject.get("common_name", "")))


# --- the development seal --------------------------------------------------------------------------------

def create_development_seal(p12_path: Path, *, organizer: str, passphrase: bytes) -> Path:
    """A self-signed seal whose name says it is for development and testing only.

    Next to the PKCS#12 file its certificate is written as PEM (`.crt`), for `yuetan verify --trust`."""
    p12_path = Path(p12_path)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEVELOPMENT_ORGANIZATION),
        _common_name(f"{(organizer or 'yuetan')[:50]}（{DEVELOPMENT_MARK}）"),
    ])
    now = datetime.now(timezone.utc).replace(microsecond=0)
    public = key.public_key()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + DEVELOPMENT_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
            .sign(key, hashes.SHA256()))
    p12 = pkcs12.serialize_key_and_certificates(
        b"yuetan development seal", key, cert, None, serialization.BestAvailableEncryption(passphrase))
    try:
        write_atomically(p12_path, p12, mode=0o600, exclusive=True)
    except FileExistsError:
        raise ConfigurationError(f"印章证书文件“{p12_path}”已存在：不会覆盖已有的印章证书") from None
    write_atomically(p12_path.with_suffix(".crt"), cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return p12_path


def _common_name(value: str) -> x509.NameAttribute:
    """RFC 5280 bounds a CN at 64 characters; cryptography counts UTF-8 bytes, too few for Chinese."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return x509.NameAttribute(NameOID.COMMON_NAME, value[:64], _validate=False)


# --- verification ----------------------------------------------------------------------------------------

def verify_seal(path: Path, *, trust_p12_or_cert: Path | None = None,
                trust_passphrase: bytes | None = None) -> SealStatus:
    """The state of the dossier's seal; a damaged file or seal is a problem, never an exception.

    With a trust anchor (certificate or PKCS#12), `valid` also means the signer is that seal (or
    chains to it). Without one, the signature is checked against the signer's own certificate:
    intact, cryptographically valid and covering the whole file, with the signer named."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _broken(f"无法读取案卷“{path}”（{exc.strerror}）")
    try:
        signatures = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures
    except Exception as exc:  # noqa: BLE001 - any parse failure of a damaged file
        return _broken(f"无法解析案卷的文件结构，印章无从核验（{_brief(exc)}）")
    if not signatures:
        return SealStatus(False, False, False, False, None, [NO_SEAL])
    anchors: list[asn1_x509.Certificate] | None = None
    if trust_p12_or_cert is not None:
        try:
            anchors = load_trust(Path(trust_p12_or_cert), trust_passphrase)
        except ConfigurationError as exc:
            return SealStatus(True, False, False, False, None, [exc.message])
    results = [_check_signature(sig, anchors, last=i == len(signatures) - 1) for i, sig in enumerate(signatures)]
    for sig, result in zip(signatures, results):
        if not _contents_exact(data, sig):
            result.intact = result.valid = False
            result.problems.append("印章的签名数据区被改动（签名值之外的填充或编码与签章时不同）")
    if len(signatures) > 1:
        results[-1].problems.insert(0, f"案卷有 {len(signatures)} 个签名，应只有一个电子印章")
    problems = [p for r in results for p in r.problems]
    last = results[-1]
    return SealStatus(present=True, intact=all(r.intact for r in results), valid=all(r.valid for r in results),
                      covers_whole_file=last.covers_whole_file, signer=last.signer, problems=problems,
                      signed_at=last.signed_at, trusted=last.trusted, development=last.development)


def der_value(raw: bytes) -> bytes:
    """The DER element at the start of `raw`, cut at the length its own header declares (a signature's /Contents
    is padded with zeros after it; stripping zeros instead would also cut a signature whose last byte is 0x00).
    ValueError when the header is not a complete definite-length DER header."""
    if len(raw) < 2:
        raise ValueError("too short for a DER header")
    if raw[1] < 0x80:
        header, length = 2, raw[1]
    else:
        width = raw[1] & 0x7F
        if width == 0 or width > 4 or len(raw) < 2 + width:
            raise ValueError("not a definite DER length")
        header, length = 2 + width, int.from_bytes(raw[2:2 + width], "big")
    if header + length > len(raw):
        raise ValueError("DER element longer than the data")
    return raw[:header + length]


def _contents_exact(data: bytes, sig) -> bool:
    """The one part of the file the signature cannot cover is its own /Contents: it must hold exactly the
    DER signature in upper-case hex followed by zero padding, as written at sealing, so no byte of it can
    change unnoticed (pyHanko itself ignores the padding and the case of the hex digits)."""
    try:
        start, length, end = (int(v) for v in list(sig.sig_object["/ByteRange"])[:3])
        gap = data[start + length:end]
        if not re.fullmatch(rb"<[0-9A-F]+>", gap):
            return False
        raw = bytes.fromhex(gap[1:-1].decode("ascii"))
        if raw[0] != 0x30:
            return False
        total = len(der_value(raw))
        return not any(raw[total:])
    except Exception:  # noqa: BLE001 - a damaged signature dictionary is simply not exact
        return False


@dataclass
class _Result:
    intact: bool = False
    valid: bool = False
    covers_whole_file: bool = False
    signer: str | None = None
    signed_at: datetime | None = None
    trusted: bool | None = None
    development: bool = False
    problems: list[str] = field(default_factory=list)


def _check_signature(sig, anchors: list | None, *, last: bool) -> _Result:
    result = _Result()
    try:
        cert = sig.signer_cert
        result.signer = certificate_name(cert)
        result.development = is_development_certificate(cert)
        context = ValidationContext(trust_roots=anchors if anchors is not None else [cert],
                                    allow_fetching=False, revocation_mode="soft-fail")
        status = validate_pdf_signature(sig, signer_validation_context=context)
    except Exception as exc:  # noqa: BLE001 - a tampered signature can break pyHanko anywhere
        result.problems.append(f"电子印章无法核验（{_brief(exc)}）：签名数据或文件结构已损坏")
        return result
    result.intact = bool(status.intact)
    result.signed_at = status.signer_reported_dt
    result.covers_whole_file = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    if anchors is not None:
        result.trusted = bool(status.trusted)
    result.valid = bool(status.valid) and result.trusted is not False
    if not status.intact:
        result.problems.append("印章所覆盖的内容已被改动（摘要不符）")
    elif not status.valid:
        result.problems.append("印章的签名值无效")
    if result.trusted is False:
        result.problems.append(f"签章者“{result.signer}”不是所信任的印章证书（或其签发者）")
    if last and not result.covers_whole_file:
        result.problems.append("印章没有覆盖整个文件：盖章之后文件又被追加或修改")
    return result


# --- detached signatures (sealed exports) -----------------------------------------------------------------

@dataclass(frozen=True)
class DetachedStatus:
    """A detached CMS signature over some bytes: intact (digest matches), valid (signature verifies, and with
    anchors the signer is trusted), who signed."""

    intact: bool
    valid: bool
    signer: str | None
    trusted: bool | None
    development: bool
    problems: list[str]

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and not self.problems


def _run(coroutine):
    """Run pyHanko's coroutine to its end, also from a thread that already runs an event loop (a web worker,
    a browser driver), where asyncio.run refuses: then in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def sign_detached(data: bytes, *, p12_path: Path, passphrase: bytes | None) -> bytes:
    """A detached CMS SignedData (DER) by the seal over `data`, with the seal certificate inside:
    `openssl cms -verify -binary -inform DER -in SIG -content DATA -CAfile SEAL.crt` checks it."""
    signer = load_seal(p12_path, passphrase)
    return _run(signer.async_sign_general_data(data, "sha256", detached=True)).dump()


def verify_detached(data: bytes, signature: bytes, *, anchors: list | None = None) -> DetachedStatus:
    """Check a detached CMS signature; a damaged one is a problem, never an exception."""
    from asn1crypto import cms
    from pyhanko.sign.validation.generic_cms import async_validate_detached_cms

    try:
        info = cms.ContentInfo.load(signature)
        signed = info["content"]
        if info["content_type"].native != "signed_data" or len(signed["signer_infos"]) != 1:
            raise ValueError("not a SignedData with one signer")
        cert = next(c.chosen for c in signed["certificates"] if c.name == "certificate")
        context = ValidationContext(trust_roots=anchors if anchors is not None else [cert],
                                    allow_fetching=False, revocation_mode="soft-fail")
        status = _run(async_validate_detached_cms(data, signed, signer_validation_context=context))
    except Exception as exc:  # noqa: BLE001 - a tampered signature can break the parser anywhere
        return DetachedStatus(False, False, None, None, False, [f"签名数据无法解析（{_brief(exc)}）"])
    signer = certificate_name(status.signing_cert)
    trusted = bool(status.trusted) if anchors is not None else None
    problems = []
    if not status.intact:
        problems.append("所签内容已被改动（摘要不符）")
    elif not status.valid:
        problems.append("签名值无效")
    if trusted is False:
        problems.append(f"签名者“{signer}”不是所信任的印章证书（或其签发者）")
    return DetachedStatus(bool(status.intact), bool(status.valid) and trusted is not False, signer, trusted,
                          is_development_certificate(status.signing_cert), problems)


def load_trust(path: Path, passphrase: bytes | None = None) -> list[asn1_x509.Certificate]:
    """Trust anchors from a PEM/DER certificate file or a PKCS#12 file (tried with no passphrase,
    `passphrase`, then $YUETAN_SEAL_PASSPHRASE)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"无法读取信任证书“{path}”（{exc.strerror}）") from None
    certs = _pem_or_der_certificates(data)
    if certs:
        return certs
    env = os.environ.get(PASSPHRASE_ENV)
    for candidate in (None, passphrase, env.encode("utf-8") if env else None):
        try:
            _, cert, extra = pkcs12.load_key_and_certificates(data, candidate)
        except ValueError:
            continue
        found = [c for c in [cert, *extra] if c is not None]
        if found:
            return [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in found]
    raise ConfigurationError(
        f"无法从“{path}”读取信任证书：应为 PEM/DER 证书，或口令可用的 PKCS#12 文件"
        f"（开发测试用印章的证书在档案库 seal 文件夹中，扩展名 .crt）")


def _pem_or_der_certificates(data: bytes) -> list[asn1_x509.Certificate]:
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            found = x509.load_pem_x509_certificates(data)
        else:
            found = [x509.load_der_x509_certificate(data)]
    except ValueError:
        return []
    return [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in found]


def _broken(problem: str) -> SealStatus:
    return SealStatus(present=False, intact=False, valid=False, covers_whole_file=False, signer=None,
                      problems=[problem])


def _brief(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc)[:160]}"
