"""The case on its own: check, schema, render, build, verify."""
from __future__ import annotations

from pathlib import Path

from archive_store.actors import Actor
from archive_store.errors import InvalidCase
from archive_store.home import ArchiveHome
from pipeline.api.models import (
    BuildResult,
    CaseSchema,
    CheckResult,
    Finding,
    Problem,
    RenderResult,
    VerifyCheck,
    VerifyResult,
)
from pipeline.case.contract import case_json_schema
from pipeline.case.findings import assess_procedure
from pipeline.case.intake import open_case


def check(path: Path) -> CheckResult:
    """The contract and the Measures' procedure: a refused case lists every problem (it is not an error here,
    the answer says `valid: false`); a valid one lists its findings."""
    try:
        with open_case(path) as bundle:
            case = bundle.case
            return CheckResult(valid=True, findings=[Finding(**f.as_dict()) for f in assess_procedure(case)],
                               case_id=case.case_id, notice_number=case.notice.number, target=case.target.name,
                               unknown_keys=list(bundle.unknown_keys), source=str(path))
    except InvalidCase as exc:
        return CheckResult(valid=False, errors=[Problem(path=p.path, message=p.message) for p in exc.problems],
                           source=str(path))


def schema() -> CaseSchema:
    """The JSON Schema of the case contract (schema_version 1)."""
    return CaseSchema(json_schema=case_json_schema())


def render(home: ArchiveHome, path: Path, out_dir: Path, *, actor: Actor, converter=None) -> RenderResult:
    """约谈通知书 and 约谈记录 (DOCX and PDF/A) into `out_dir`; a case without a number gets the next one.

    `converter` is a running LibreOffice converter to reuse; without one, one is started for this call (only
    once the case is accepted: a refused case never starts LibreOffice).
    """
    from pipeline.dossier import render_case_documents
    from pipeline.pdf.pdfa import pdfa_converter

    own = converter is None
    converter = converter or pdfa_converter()
    try:
        made = render_case_documents(path, out_dir, home=home, converter=converter)
    finally:
        if own:
            converter.close()
    return RenderResult(source=str(path), documents=[str(p) for p in made])


def build(home: ArchiveHome, path: Path, dest: Path, *, actor: Actor, converter=None) -> BuildResult:
    """The sealed PDF/A-3b dossier of one case, written to `dest` (not stored); `actor` is its 立卷人."""
    from pipeline.dossier import build_dossier
    from pipeline.pdf.pdfa import pdfa_converter

    if converter is None:
        with pdfa_converter() as own:
            built = build_dossier(path, dest, home=home, converter=own, filed_by=actor.name)
    else:
        built = build_dossier(path, dest, home=home, converter=converter, filed_by=actor.name)
    return BuildResult(path=str(dest), case_id=built.case_id, notice_number=built.notice_number,
                       archival_code=built.archival_code, page_count=built.page_count,
                       manifest_sha256=built.manifest_sha256,
                       dossier_sha256=built.dossier_sha256, findings=[Finding(**f.as_dict()) for f in built.findings])


def verify(dossier: Path, *, trust: Path | None = None) -> VerifyResult:
    """Every check of a dossier (seal, manifest hash, PDF/A), each reported; `ok` only if all pass."""
    from pipeline.pdf.verify import verify_dossier

    report = verify_dossier(dossier, trust=trust)
    return VerifyResult(path=str(report.path), ok=report.ok, manifest_sha256=report.manifest_sha256,
                        signer=report.signer, notes=list(report.notes),
                        checks=[VerifyCheck(name=c.name, ok=c.ok, message=c.message) for c in report.checks])
