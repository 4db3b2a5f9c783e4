"""What the core API returns: one pydantic model per answer.

`model_dump(mode="json")` of each is exactly the object the command line prints for `--json` (and the web
application's JSON API serves), so both faces show the same thing. Fields that only a face's human output needs
(the source path of a check, the rule text of the retention list) are excluded from the dump.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import Field, PlainSerializer

from archive_store.actors import Actor, Role
from archive_store.errors import (
    ArchiveConflict,
    CaseProblem,
    ConversionFailed,
    ExitCode,
    InvalidCase,
    VerificationFailed,
    YuetanError,
)
from pipeline.api.base import ApiModel
from pipeline.api.searching import SearchHit, SearchResult  # noqa: F401  (answers of api.search)

# ISO 8601 exactly as datetime.isoformat() writes it ("+00:00", "+08:00"; pydantic alone would write "Z").
IsoDateTime = Annotated[datetime, PlainSerializer(lambda v: v.isoformat(), return_type=str, when_used="json")]

SEVERITY_LABELS = {"violation": "违反程序", "warning": "需关注", "info": "记录"}
CASE_STATUS_LABELS = {"current": "现行", "superseded": "已被新版本取代", "purged": "已销毁"}


# --- the case: check, schema, render, build, verify -----------------------------------------------------------

class Problem(ApiModel):
    """One reason a case is refused: the key path or file name, and what is wrong."""

    path: str
    message: str


class Finding(ApiModel):
    """A procedure finding (程序核查发现) of the Measures."""

    code: str
    article: str
    severity: str
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)

    @property
    def severity_label(self) -> str:
        return SEVERITY_LABELS.get(self.severity, self.severity)


class CheckResult(ApiModel):
    """`yuetan check --json`, one per case. A refused case has only valid, errors and findings."""

    valid: bool
    errors: list[Problem] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    case_id: str | None = None
    notice_number: str | None = None
    target: str | None = None
    unknown_keys: list[str] | None = None
    source: str = Field(default="", exclude=True)

    def _shape(self, data: dict) -> dict:
        if not self.valid:
            return {k: data[k] for k in ("valid", "errors", "findings")}
        return data

    def failure(self) -> YuetanError | None:
        if self.valid:
            return None
        return InvalidCase([CaseProblem(p.path, p.message) for p in self.errors], source=self.source, reported=True)

    @property
    def notice_label(self) -> str:
        return self.notice_number or "（文号待分配）"


class CaseSchema(ApiModel):
    """`yuetan schema`: the JSON Schema of the case contract."""

    json_schema: dict[str, Any]

    def _shape(self, data: dict) -> dict:
        return data["json_schema"]


class RenderResult(ApiModel):
    source: str
    documents: list[str]


class BuildResult(ApiModel):
    path: str
    case_id: str
    notice_number: str
    archival_code: str = ""
    page_count: int
    manifest_sha256: str
    dossier_sha256: str
    findings: list[Finding] = Field(default_factory=list)


class VerifyCheck(ApiModel):
    name: str
    ok: bool
    message: str


class VerifyResult(ApiModel):
    """`yuetan verify --json`."""

    path: str
    ok: bool
    manifest_sha256: str | None = None
    signer: str | None = None
    checks: list[VerifyCheck] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def failure(self) -> YuetanError | None:
        return None if self.ok else VerificationFailed(f"案卷 {self.path} 核验未通过", reported=True)


# --- the archive: init, ingest, search, show, open, reindex, audit, ledger ---------------------------------------

class InitResult(ApiModel):
    path: str
    created: bool
    seal_path: str
    development_seal: bool        # the settings point at the generated development seal


class IngestRow(ApiModel):
    """`yuetan ingest --json`: one line per case."""

    source: str
    case_id: str | None = None
    status: str
    version: int | None = None
    notice_number: str | None = None
    archival_code: str | None = None
    dossier_sha256: str | None = None
    manifest_sha256: str | None = None
    findings: list[Finding] = Field(default_factory=list)
    message: str = ""
    problems: list[Problem] = Field(default_factory=list)
    exit_code: int = Field(default=0, exclude=True)    # of the error that failed it, as its own command gives it

    FAILED: ClassVar[frozenset[str]] = frozenset({"refused", "conflict", "failed"})

    @property
    def failed(self) -> bool:
        return self.status in self.FAILED


class IngestReport(ApiModel):
    """Every case of one ingest run, in the order given."""

    results: list[IngestRow]

    @property
    def failed(self) -> int:
        return sum(r.failed for r in self.results)

    @property
    def succeeded(self) -> int:
        return len(self.results) - self.failed

    def failure(self) -> YuetanError | None:
        """A refused case outranks a conflict, which outranks the first other failure's own status (a failed
        conversion 3, a full disk 5, a missing program 6: what the single-case commands give)."""
        failed = [r for r in self.results if r.failed]
        if not failed:
            return None
        message = f"{self.failed} 件案件未入库"
        statuses = {r.status for r in failed}
        if "refused" in statuses:
            return InvalidCase([], reported=True)
        if "conflict" in statuses:
            return ArchiveConflict(message, reported=True)
        error = ConversionFailed(message, reported=True)
        code = failed[0].exit_code
        if code and code != int(error.exit_code):
            error = YuetanError(message, reported=True)
            error.exit_code = ExitCode(code)
        return error


class CaseRecord(ApiModel):
    """A stored version of a case as the catalog holds it."""

    case_id: str
    version: int
    content_sha256: str
    status: str
    supersedes: int | None = None
    notice_number: str
    title: str
    target_name: str
    target_kind: str
    credit_code: str | None = None
    organizer: str
    organizer_level: str
    region_code: str
    grounds: list[str]
    outcome: str
    interview_on: date
    closed_on: date
    archived_at: IsoDateTime
    dossier_sha256: str
    manifest_sha256: str
    page_count: int
    text_sha256: str | None = None
    case_json_sha256: str
    manifest_json_sha256: str
    indexed_at: IsoDateTime | None = None
    archival_code: str | None = None


class DocumentEntry(ApiModel):
    seq: int
    role: str
    name: str
    media_type: str
    size: int
    sha256: str
    title: str = ""
    document: str = ""


class VersionEntry(ApiModel):
    version: int
    status: str
    archived_at: IsoDateTime
    dossier_sha256: str


class HoldEntry(ApiModel):
    id: int
    case_id: str
    reason: str
    held_by: str
    held_at: IsoDateTime
    released_by: str | None = None
    released_at: IsoDateTime | None = None
    release_reason: str | None = None


class LedgerEntry(ApiModel):
    """One entry of the hash-chained ledger; `role` is null in entries written before roles were recorded."""

    seq: int
    at: str
    actor: str
    role: str | None = None
    action: str
    case_id: str | None = None
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str


class Tombstone(ApiModel):
    """What is kept of a purged case (销毁记录)."""

    case_id: str
    version: int
    notice_number: str
    target_name: str
    credit_code: str | None = None
    organizer: str
    interview_on: str
    closed_on: str
    archived_at: str
    manifest_sha256: str
    dossier_sha256: str
    page_count: int
    plan_id: str
    plan_sha256: str
    approved_by: str
    purged_at: str
    versions: list[int]
    status: str = "purged"


class CaseRetention(ApiModel):
    """One case's retention today, as `yuetan retention` reckons it: kept through `expires_on`, destroyable from
    `purgeable_from` unless held; `status` is the retention list's label (在保管期内, 已到期可销毁, 冻结中)."""

    years: int
    expires_on: date | None = None
    purgeable_from: date | None = None
    held: bool
    status: str


class ShowResult(ApiModel):
    """`yuetan show --json`: a stored case; a purged one has only status and tombstone."""

    _omit_if_none = frozenset({"record", "outcome_label", "findings", "documents", "versions", "holds", "ledger",
                               "tombstone", "retention"})

    status: str
    record: CaseRecord | None = None
    outcome_label: str | None = None
    findings: list[Finding] | None = None
    documents: list[DocumentEntry] | None = None
    versions: list[VersionEntry] | None = None
    holds: list[HoldEntry] | None = None
    ledger: list[LedgerEntry] | None = None
    tombstone: Tombstone | None = None
    retention: CaseRetention | None = None


class OpenResult(ApiModel):
    path: str
    case_id: str
    notice_number: str


class ReindexResult(ApiModel):
    cases: int


class FollowResult(ApiModel):
    """`yuetan follow`: how far this node's index has followed the catalog's change sequence (the ledger)."""

    position: int
    indexed: int
    removed: int


class MigrateResult(ApiModel):
    """`yuetan migrate --json`: the catalog's schema revision before and after."""

    catalog: str
    before: str | None
    after: str
    changed: bool


class AuditResult(ApiModel):
    """`yuetan audit --json`."""

    ok: bool
    problems: list[str]
    pending: list[str]
    cases: int
    blobs_checked: int
    ledger_entries: int

    def failure(self) -> YuetanError | None:
        return None if self.ok else VerificationFailed(f"档案库核查发现 {len(self.problems)} 处问题", reported=True)


class LedgerVerifyResult(ApiModel):
    """`yuetan ledger verify --json`."""

    ok: bool
    entries: int
    problems: list[str]

    def failure(self) -> YuetanError | None:
        return None if self.ok else VerificationFailed("台账被改动", reported=True)


class BackupResult(ApiModel):
    """`yuetan backup --json`."""

    path: str
    sha256: str
    ledger_seq: int


class RestoreResult(ApiModel):
    """`yuetan restore --json`."""

    backup_seq: int
    mirrored_seq: int | None
    lost: str
    moved_aside: list[str]
    numbers_reserved: list[str]
    unknown_blobs: int
    ledger_seq: int


class LedgerList(ApiModel):
    """`yuetan ledger list --json` prints each entry on its own line."""

    entries: list[LedgerEntry]


# --- retention, holds, purge --------------------------------------------------------------------------------

class RetentionRow(ApiModel):
    case_id: str
    version: int
    notice_number: str
    title: str
    target: str
    organizer: str
    closed_on: date | None = None
    expires_on: date | None = None
    purgeable_from: date | None = None
    held: bool
    hold_reasons: list[str]
    status: str
    archival_code: str | None = None


class RetentionResult(ApiModel):
    """`yuetan retention --json`."""

    as_of: date
    retention_years: int
    cases: list[RetentionRow]
    rule: str = Field(default="", exclude=True)


class HoldResult(ApiModel):
    case_id: str
    notice_number: str
    action: str             # hold / release
    reason: str
    actor: str
    role: str
    ledger_seq: int


class PlanCase(ApiModel):
    seq: int
    notice_number: str
    archival_code: str | None = None
    case_id: str
    version: int
    title: str
    target_name: str
    credit_code: str | None = None
    organizer: str
    interview_on: str | None = None
    closed_on: str | None = None
    retention: str
    expires_on: str | None = None
    purgeable_from: str | None = None
    page_count: int | None = None
    manifest_sha256: str
    dossier_sha256: str


class PurgePlan(ApiModel):
    """`yuetan purge plan --json`: the plan as plan.json holds it; with nothing due, only format, plan_id (null),
    as_of, cases and totals (and nothing was written)."""

    format: str
    plan_id: str | None
    as_of: str
    created_at: str | None = None
    created_by: str | None = None
    retention_years: int | None = None
    rule: str | None = None
    cases: list[PlanCase]
    totals: dict[str, int]
    ledger_head: dict[str, Any] | None = None
    plan_sha256: str | None = None
    out_dir: str = Field(default="", exclude=True)

    EMPTY_KEYS: ClassVar[tuple[str, ...]] = ("format", "plan_id", "as_of", "cases", "totals")

    def _shape(self, data: dict) -> dict:
        if self.plan_id is None:
            return {k: data[k] for k in self.EMPTY_KEYS}
        return data


class PurgeOutcome(ApiModel):
    case_id: str
    notice_number: str
    status: str             # purged, already, held, not_due, changed, missing
    message: str
    deleted_blobs: int
    kept_shared_blobs: int
    index_removed: bool


class PurgeResult(ApiModel):
    """`yuetan purge execute --json`."""

    plan_id: str
    plan_sha256: str
    approved_by: str
    kept_at: str
    cases: list[PurgeOutcome]


# --- export, credit, statistics -------------------------------------------------------------------------------

class ExportFilters(ApiModel):
    """The case filters shared by search and export; all given ones must hold."""

    query: str | None = None
    kind: str | None = None
    ground: str | None = None
    organizer: str | None = None
    region: str | None = None
    outcome: str | None = None
    date_from: date | None = None
    date_to: date | None = None


class ExportResult(ApiModel):
    """`yuetan export --json`."""

    path: str
    case_ids: list[str]
    cases: int
    tagmanifest_sha256: str
    zip_sha256: str
    ledger_seq: int


class ExportVerifyResult(ApiModel):
    """`yuetan export verify --json`: every problem, and each layer checked (zip, manifests, signature,
    ledger_chain, and archive when verified at the archive) with the seal's signer."""

    valid: bool
    problems: list[str]
    checks: list[VerifyCheck] = Field(default_factory=list)
    signer: str | None = None
    notes: list[str] = Field(default_factory=list)
    path: str = Field(default="", exclude=True)

    def failure(self) -> YuetanError | None:
        return None if self.valid else VerificationFailed(f"导出包 {self.path} 校验未通过", reported=True)


# --- arrangement: the year's catalogue and its handover ----------------------------------------------------

class CatalogueEntry(ApiModel):
    """One row of the 案卷目录, in the standard's column order."""

    seq: int
    archival_code: str
    number: str
    responsible: str
    title: str
    period: str
    pages: int | str
    retention: str
    note: str
    case_id: str = ""


class CatalogueResult(ApiModel):
    """`yuetan catalogue --json`."""

    path: str
    year: int
    title: str
    fonds_code: str
    fonds_name: str
    pages: int
    rows: list[CatalogueEntry]


class HandoverResult(ApiModel):
    """`yuetan handover --json`."""

    path: str
    zip_path: str
    year: int
    archival_codes: list[str]
    pages: int
    bytes: int
    tagmanifest_sha256: str
    zip_sha256: str
    ledger_seq: int
    handover_id: str | None = None          # set when the archive keeps the handover (prepared on the web)

    _omit_if_none = frozenset({"handover_id"})


class HandoverEntry(ApiModel):
    """A handover as the ledger records it (`handover_id` for one the archive keeps)."""

    seq: int
    at: str
    actor: str
    role: str | None = None
    year: int
    receiver: str
    archival_codes: list[str]
    case_ids: list[str]
    pages: int
    bytes: int
    file: str
    zip_sha256: str
    files: dict[str, str] = Field(default_factory=dict)
    handover_id: str | None = None


class HandoverVerifyResult(ApiModel):
    """`yuetan handover --verify --json`."""

    valid: bool
    cases: int
    problems: list[str]
    path: str
    signer: str | None = None         # the seal that signed the bag's tag manifest
    notes: list[str] = []

    def failure(self) -> YuetanError | None:
        return None if self.valid else VerificationFailed(f"移交包 {self.path} 校验未通过", reported=True)


class GroundLabel(ApiModel):
    ground: str
    label: str


class CreditFinding(ApiModel):
    code: str
    article: str
    severity: str
    message: str


class Interview(ApiModel):
    """One interview in an institution's credit file (第十八条)."""

    credit_code: str | None = None
    target: str
    target_kind: str
    notice_number: str
    case_id: str
    version: int
    organizer: str
    interview_on: str | None = None
    closed_on: str | None = None
    grounds: list[GroundLabel]
    facts: list[str]
    findings: list[CreditFinding]
    rectification: dict[str, Any]
    outcome: str
    outcome_label: str
    archival_code: str | None = None

    @property
    def grounds_text(self) -> str:
        return "；".join(g.label for g in self.grounds)

    @property
    def findings_text(self) -> str:
        return "；".join(f"{f.article} {f.message}" for f in self.findings) or "未发现问题"


class CreditResult(ApiModel):
    """`yuetan credit --json`; `credit_code` is null for --all."""

    credit_code: str | None
    interviews: list[Interview]
    written_to: str | None = Field(default=None, exclude=True)


class Count(ApiModel):
    key: str
    label: str
    count: int


class StatisticsResult(ApiModel):
    """Counts over the current cases, for the 统计 page and `yuetan statistics --json`."""

    cases: int
    by_year: list[Count]
    by_organizer: list[Count]
    by_region: list[Count]
    by_ground: list[Count]
    by_outcome: list[Count]
    by_kind: list[Count]
    findings: int
    findings_by_article: list[Count]
    findings_by_organizer: list[Count]


__all__ = [name for name in dir() if not name.startswith("_")] + ["Actor", "Role"]
