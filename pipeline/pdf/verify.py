"""Verifying a dossier on its own: the seal, the manifest hash (XMP, 备考表, embedded files), PDF/A markers.

Every check runs and is reported; a tampered file is a finding, never a crash.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf

from pipeline.external.poppler import pdf_text
from pipeline.pdf.assemble import YUETAN_XMP_NS
from pipeline.pdf.manifest import MANIFEST_NAME, canonical_json, manifest_sha256
from pipeline.pdf.pdfa import assess_pdfa
from pipeline.pdf.seal import verify_seal

EMBEDDED_ROLES = {"case_json", "upload_original", "rendered_docx"}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str


@dataclass
class VerifyReport:
    path: Path
    checks: list[Check] = field(default_factory=list)
    manifest_sha256: str | None = None
    signer: str | None = None
    notes: list[str] = field(default_factory=list)   # worth knowing, not a failure

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)


def verify_dossier(path: Path, *, trust: Path | None = None) -> VerifyReport:
    report = VerifyReport(path=Path(path))
    report.checks += _seal_checks(report, path, trust)
    report.checks += _manifest_checks(report, path)
    problems = _pdfa_problems(path)
    report.checks.append(Check("pdfa", not problems,
                               "PDF/A-3b 标识与要求均满足" if not problems else "；".join(problems[:8])))
    return report


def _seal_checks(report: VerifyReport, path: Path, trust: Path | None) -> list[Check]:
    status = verify_seal(path, trust_p12_or_cert=trust)
    report.signer = status.signer
    if status.present and status.trusted is None:
        report.notes.append("未指定 --trust：已核验印章完好，未核验签章者是否为所信任的印章证书")
    if status.development:
        report.notes.append("此案卷用开发测试用印章封存，不是正式印章")
    if not status.present:
        return [Check("seal", False, "；".join(status.problems) or "案卷没有电子印章")]
    checks = [Check("seal_intact", status.intact and status.valid,
                    "印章完好，签名有效" if status.intact and status.valid else
                    "印章校验失败：" + "；".join(status.problems)),
              Check("seal_covers_whole_file", status.covers_whole_file,
                    "印章覆盖整个文件" if status.covers_whole_file else "印章之后文件又被追加或修改")]
    return checks


def _manifest_checks(report: VerifyReport, path: Path) -> list[Check]:
    try:
        with pikepdf.open(path) as pdf:
            embedded = {name: spec.get_file().read_bytes() for name, spec in pdf.attachments.items()}
            xmp_hash = _xmp_manifest_hash(pdf)
            remarks_text = _remarks_text(path, pdf)
    except Exception as exc:  # a damaged file is a result to report, not a crash
        return [Check("manifest", False, f"无法读取案卷中的清单：{type(exc).__name__}: {str(exc)[:160]}")]
    if MANIFEST_NAME not in embedded:
        return [Check("manifest", False, "案卷中没有嵌入 manifest.json")]
    try:
        manifest = json.loads(embedded[MANIFEST_NAME])
    except ValueError:
        return [Check("manifest", False, "嵌入的 manifest.json 不是有效 JSON")]
    digest = manifest_sha256(manifest)
    report.manifest_sha256 = digest
    canonical = canonical_json(manifest) == embedded[MANIFEST_NAME]
    return [
        Check("manifest_canonical", canonical, "清单为规范 JSON" if canonical else "嵌入的清单不是规范 JSON 形式"),
        Check("manifest_xmp", xmp_hash == digest,
              "清单摘要与 XMP 一致" if xmp_hash == digest else f"XMP 中的清单摘要 {xmp_hash} 与重算的 {digest} 不符"),
        Check("manifest_remarks", digest in remarks_text,
              "备考表载明的清单摘要一致" if digest in remarks_text else "备考表上找不到重算的清单摘要"),
        _embedded_files_check(manifest, embedded),
    ]


def _embedded_files_check(manifest: dict, embedded: dict[str, bytes]) -> Check:
    problems = []
    for component in manifest.get("components", []):
        if component.get("role") not in EMBEDDED_ROLES:
            continue
        name = Path(component["name"]).name
        data = embedded.get(name)
        if data is None:
            problems.append(f"缺少嵌入文件 {name}")
        elif hashlib.sha256(data).hexdigest() != component.get("sha256"):
            problems.append(f"嵌入文件 {name} 的 sha256 与清单不符")
    return Check("embedded_files", not problems, "嵌入文件与清单一致" if not problems else "；".join(problems))


def _xmp_manifest_hash(pdf: pikepdf.Pdf) -> str | None:
    if "/Metadata" not in pdf.Root:
        return None
    xmp = pdf.Root.Metadata.read_bytes().decode("utf-8", "replace")
    match = re.search(r"<yuetan:manifestSha256>([0-9a-f]{64})</yuetan:manifestSha256>", xmp)
    return match.group(1) if match and YUETAN_XMP_NS in xmp else None


def _remarks_text(path: Path, pdf: pikepdf.Pdf) -> str:
    """Text of the 备考表 pages (the last bookmark's pages), white space removed so a wrapped hash matches."""
    first = _remarks_first_page(pdf)
    return re.sub(r"\s+", "", pdf_text(path, first_page=first, last_page=len(pdf.pages), layout=True))


def _remarks_first_page(pdf: pikepdf.Pdf) -> int:
    with pdf.open_outline() as outline:
        for item in outline.root:
            if item.title == "备考表" and item.destination is not None:
                dest = item.destination
                page = dest[0] if isinstance(dest, pikepdf.Array) else None
                for i, p in enumerate(pdf.pages):
                    if page is not None and p.obj.objgen == page.objgen:
                        return i + 1
    return len(pdf.pages)


def _pdfa_problems(path: Path) -> list[str]:
    """Violations first, then what cannot be confirmed, each group labelled so a reader tells them apart."""
    try:
        verdict = assess_pdfa(path, expect_part=3)
    except Exception as exc:  # report, never crash on a damaged file
        return [f"无法检查 PDF/A：{type(exc).__name__}"]
    return ([f"不符合：{p}" for p in verdict.violations]
            + [f"无法确认：{p}" for p in verdict.unconfirmed])
