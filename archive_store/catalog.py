"""The catalog: cases and their versions, documents, findings, legal holds, tombstones and destruction plans.

One database (SQLite by default, PostgreSQL for a province; archive_store.schema defines the tables) shared with
the notice number register and the ledger, so a case, its documents, findings and ledger entry commit in ONE
transaction or not at all. Blobs are referred to by sha256 only; the blob store holds the bytes.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timezone
from pathlib import Path

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from archive_store import ledger, mirror
from archive_store.db import (
    LOCK_APPROVALS,
    LOCK_BLOB_DELETION,
    LOCK_CASE,
    Database,
    advisory_lock,
    as_location,
    database_error,
)
from archive_store.schema import archive_meta as META
from archive_store.schema import cases as CASES
from archive_store.schema import destruction_plans as PLANS
from archive_store.schema import documents as DOCUMENTS
from archive_store.schema import findings as FINDINGS
from archive_store.schema import holds as HOLDS
from archive_store.schema import tombstones as TOMBSTONES

from .canonical import canonical_json
from .errors import ArchiveConflict, ArchiveDamaged, InvalidArgument

CASE_STATUSES = ("current", "superseded", "purged")


# --- records --------------------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class CaseRecord:
    """One stored version of a case; mirrors the `cases` table (dates as date/datetime objects)."""

    case_id: str
    version: int = 0                      # assigned by record_case
    content_sha256: str
    status: str = "current"
    supersedes: int | None = None
    notice_number: str
    title: str
    target_name: str
    target_kind: str
    credit_code: str | None = None
    organizer: str
    organizer_level: str
    region_code: str
    grounds: list[str] = field(default_factory=list)   # e.g. ["6.2", "6.3"]
    outcome: str
    interview_on: date
    closed_on: date
    archived_at: datetime
    dossier_sha256: str
    manifest_sha256: str
    page_count: int
    text_sha256: str | None = None
    case_json_sha256: str
    manifest_json_sha256: str
    indexed_at: datetime | None = None
    archival_code: str | None = None      # 档号; None for a case stored before schema 3

    def blob_shas(self) -> set[str]:
        return {s for s in (self.dossier_sha256, self.text_sha256, self.case_json_sha256,
                            self.manifest_json_sha256) if s}


@dataclass(frozen=True, kw_only=True)
class DocumentRow:
    """One component of a version's manifest."""

    seq: int
    role: str
    name: str
    media_type: str
    size: int
    sha256: str
    title: str = ""
    document: str = ""       # the document it belongs to (notice, record, attachments[0], ...)

    @classmethod
    def of_component(cls, seq: int, component: dict, *, title: str = "") -> "DocumentRow":
        """From one entry of a manifest's `components`."""
        return cls(seq=seq, role=component["role"], name=component["name"], media_type=component["media_type"],
                   size=component["size"], sha256=component["sha256"], title=title,
                   document=component.get("document", ""))


@dataclass(frozen=True, kw_only=True)
class FindingRow:
    code: str
    article: str
    severity: str
    message: str
    evidence: dict = field(default_factory=dict)

    @classmethod
    def of_finding(cls, finding) -> "FindingRow":
        """From pipeline.case.findings.Finding or its as_dict()."""
        data = finding if isinstance(finding, dict) else finding.as_dict()    # a pipeline Finding
        return cls(code=data["code"], article=data["article"], severity=str(data["severity"]),
                   message=data["message"], evidence=data.get("evidence") or {})


@dataclass(frozen=True, kw_only=True)
class Hold:
    """A legal hold: while active (not released) the case is never purged."""

    id: int
    case_id: str
    reason: str
    held_by: str
    held_at: datetime
    released_by: str | None = None
    released_at: datetime | None = None
    release_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None


@dataclass(frozen=True, kw_only=True)
class Tombstone:
    """What remains of a purged case version: who it was about, its hashes, and the plan that destroyed it."""

    case_id: str
    version: int
    notice_number: str
    target_name: str
    credit_code: str | None = None
    organizer: str
    interview_on: date
    closed_on: date
    archived_at: datetime
    manifest_sha256: str
    dossier_sha256: str
    page_count: int
    plan_id: str
    plan_sha256: str
    approved_by: str
    purged_at: datetime

    @classmethod
    def of_case(cls, record: CaseRecord, *, plan_id: str, plan_sha256: str, approved_by: str,
                purged_at: datetime | None = None) -> "Tombstone":
        return cls(case_id=record.case_id, version=record.version, notice_number=record.notice_number,
                   target_name=record.target_name, credit_code=record.credit_code, organizer=record.organizer,
                   interview_on=record.interview_on, closed_on=record.closed_on, archived_at=record.archived_at,
                   manifest_sha256=record.manifest_sha256, dossier_sha256=record.dossier_sha256,
                   page_count=record.page_count, plan_id=plan_id, plan_sha256=plan_sha256,
                   approved_by=approved_by, purged_at=purged_at or _now())


@dataclass(frozen=True, kw_only=True)
class DestructionPlanRow:
    plan_id: str
    plan_sha256: str
    as_of: date
    created_at: datetime
    created_by: str
    plan_json: str
    executed_at: datetime | None = None
    approved_by: str | None = None


# Column kinds for (de)serialisation; every other column is stored as is.
_DATES = {"interview_on", "closed_on", "as_of"}
_DATETIMES = {"archived_at", "indexed_at", "held_at", "released_at", "purged_at", "created_at", "executed_at"}
_JSON = {"grounds", "evidence"}


def _columns(cls) -> list[str]:
    return [f.name for f in fields(cls)]


def _to_db(obj) -> dict:
    values = {}
    for name in _columns(type(obj)):
        value = getattr(obj, name)
        if name in _JSON:
            value = canonical_json(value).decode("utf-8")
        elif isinstance(value, (date, datetime)):
            value = value.isoformat()
        values[name] = value
    return values


def _from_db(cls, row):
    mapping = row._mapping
    kwargs = {}
    for name in _columns(cls):
        value = mapping[name]
        if value is not None:
            if name in _JSON:
                value = json.loads(value)
            elif name in _DATES:
                value = date.fromisoformat(value)
            elif name in _DATETIMES:
                value = datetime.fromisoformat(value)
        kwargs[name] = value
    return cls(**kwargs)


# --- the catalog ----------------------------------------------------------------------------------------------

class CatalogTransaction:
    """An open write transaction: pass it to the catalog's writes and to ledger.append."""

    def __init__(self, catalog: "Catalog", conn):
        self.catalog = catalog
        self.conn = conn

    def record_case(self, record: CaseRecord, documents: list[DocumentRow], findings: list[FindingRow]) -> int:
        return self.catalog.record_case(self, record, documents, findings)

    def mark_superseded(self, case_id: str, version: int) -> None:
        self.catalog.mark_superseded(self, case_id, version)

    def append_ledger(self, **kwargs) -> ledger.LedgerEntry:
        return ledger.append(self, **kwargs)


class Catalog:
    """The catalog in a SQLite file (a path) or a PostgreSQL database (a CatalogLocation).

    Safe across threads, processes and, on PostgreSQL, machines. A SQLite catalog is checked against the
    ledger-head mirror beside it (archive_store.mirror): refused (ArchiveDamaged) when it is missing or empty
    although the archive is not new, or (`check_head`) not the catalog last written; `check_head=False` opens
    one the mirror disagrees with, for audit and ledger verify to report."""

    def __init__(self, target, *, check_head: bool = True):
        location = as_location(target)
        self.folder: Path | None = location.path.parent if location.is_sqlite else None
        if self.folder is not None:
            _refuse_lost(location.path)              # before SQLite would make an empty file in its place
        try:
            self.db = Database(location)
        except SQLAlchemyError as exc:
            raise database_error(getattr(exc, "orig", None) or exc, location.path) from None
        if self.folder is not None:
            problems = head_problems(self, self.folder, adopt=True)
            if check_head and problems:
                raise ArchiveDamaged("；".join(problems) + "。yuetan 拒绝在此目录数据库上运行：请用 yuetan audit 查看，"
                                     "用 yuetan restore 从备份恢复目录数据库")

    @property
    def db_path(self) -> Path | None:
        """The SQLite file (None on PostgreSQL)."""
        return self.db.location.path if self.folder is not None else None

    def close(self) -> None:
        """Connections go back to the process's pool; nothing is held between calls."""

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        return self.db.dialect

    @contextmanager
    def transaction(self) -> Iterator[CatalogTransaction]:
        """One write transaction; an exception rolls every write back."""
        with self.db.write() as conn:
            yield CatalogTransaction(self, conn)
        mirror_head(self)

    @contextmanager
    def reading(self) -> Iterator:
        """A connection for a group of reads (raw SQL for tests and audits)."""
        with self.db.read() as conn:
            yield conn

    # --- case versions ------------------------------------------------------------------------------------

    def record_case(self, tx: CatalogTransaction, record: CaseRecord, documents: list[DocumentRow],
                    findings: list[FindingRow]) -> int:
        """Store a new version of a case with its documents and findings; returns the version number.

        A case that already has a current version is only recorded as its successor
        (`record.supersedes` = that version), which is then marked superseded in the same transaction.
        On PostgreSQL the case is locked first, so two nodes recording it at once are taken one after the other.
        """
        conn = _tx_conn(tx)
        if not record.case_id:
            raise InvalidArgument("入库记录缺少 case_id")
        advisory_lock(conn, LOCK_CASE, record.case_id)
        current = self._one(conn, select(CASES).where(CASES.c.case_id == record.case_id,
                                                      CASES.c.status == "current"))
        if current is not None and record.supersedes != current.version:
            raise ArchiveConflict(
                f"案件 {record.case_id} 已有现行版本（第 {current.version} 版，文号 {current.notice_number}），"
                "新版本必须声明取代它（--supersede）")
        if record.supersedes is not None and self._one(conn, select(CASES).where(
                CASES.c.case_id == record.case_id, CASES.c.version == record.supersedes,
                CASES.c.status != "purged")) is None:
            raise ArchiveConflict(f"案件 {record.case_id} 没有可被取代的第 {record.supersedes} 版")
        if current is not None:
            self.mark_superseded(tx, record.case_id, current.version)
        last = conn.execute(select(func.coalesce(func.max(CASES.c.version), 0))
                            .where(CASES.c.case_id == record.case_id)).scalar_one()
        record = replace(record, version=last + 1, status="current")
        try:
            conn.execute(insert(CASES).values(**_to_db(record)))
        except IntegrityError:
            raise ArchiveConflict(f"案件 {record.case_id} 刚由另一进程入库，请重新入库以核对") from None
        if documents:
            conn.execute(insert(DOCUMENTS), [{"case_id": record.case_id, "version": record.version, **_to_db(doc)}
                                            for doc in documents])
        if findings:
            conn.execute(insert(FINDINGS), [{"case_id": record.case_id, "version": record.version, "seq": seq,
                                             **_to_db(finding)} for seq, finding in enumerate(findings, start=1)])
        return record.version

    def mark_superseded(self, tx: CatalogTransaction, case_id: str, version: int) -> None:
        _tx_conn(tx).execute(update(CASES).where(CASES.c.case_id == case_id, CASES.c.version == version,
                                                 CASES.c.status == "current").values(status="superseded"))

    def mark_indexed(self, tx_or_none: CatalogTransaction | None, case_id: str, version: int,
                     at: datetime | None = None) -> None:
        """Note that a version is in the search index (a crash between catalog and index leaves it NULL)."""
        statement = update(CASES).where(CASES.c.case_id == case_id, CASES.c.version == version) \
            .values(indexed_at=(at or _now()).isoformat())
        if tx_or_none is None:
            with self.db.write() as conn:
                conn.execute(statement)
        else:
            _tx_conn(tx_or_none).execute(statement)

    def current(self, case_id: str) -> CaseRecord | None:
        return self._read_one(select(CASES).where(CASES.c.case_id == case_id, CASES.c.status == "current"))

    def current_archival_codes(self, case_ids: list[str]) -> dict[str, str | None]:
        """The 档号 of the current version of each case named (one query for a page of search hits); a case
        with no current version is left out."""
        if not case_ids:
            return {}
        query = select(CASES.c.case_id, CASES.c.archival_code).where(CASES.c.case_id.in_(set(case_ids)),
                                                                      CASES.c.status == "current")
        return {case_id: code for case_id, code in self._rows(query)}

    def version(self, case_id: str, version: int) -> CaseRecord | None:
        return self._read_one(select(CASES).where(CASES.c.case_id == case_id, CASES.c.version == version))

    def versions(self, case_id: str) -> list[CaseRecord]:
        """Every version of a case, oldest first, whatever its status."""
        return self._all(select(CASES).where(CASES.c.case_id == case_id).order_by(CASES.c.version))

    def by_notice_number(self, number: str) -> CaseRecord | None:
        """The current version carrying this notice number (else its latest superseded one); None once purged."""
        return self._read_one(select(CASES).where(CASES.c.notice_number == number, CASES.c.status != "purged")
                              .order_by((CASES.c.status == "current").desc(), CASES.c.version.desc()).limit(1))

    def by_archival_code(self, code: str) -> CaseRecord | None:
        """The current version filed under this 档号 (else its latest superseded one); None once purged."""
        return self._read_one(select(CASES).where(CASES.c.archival_code == code, CASES.c.status != "purged")
                              .order_by((CASES.c.status == "current").desc(), CASES.c.version.desc()).limit(1))

    def by_credit_code(self, credit_code: str, *, include_superseded: bool = False) -> list[CaseRecord]:
        statuses = ("current", "superseded") if include_superseded else ("current",)
        return self._all(select(CASES).where(CASES.c.credit_code == credit_code, CASES.c.status.in_(statuses))
                         .order_by(CASES.c.interview_on, CASES.c.case_id, CASES.c.version))

    def all_cases(self, status: str | None = None) -> list[CaseRecord]:
        """Every case version with this status (all versions when None), by case_id and version."""
        query = select(CASES).order_by(CASES.c.case_id, CASES.c.version)
        if status is None:
            return self._all(query)
        if status not in CASE_STATUSES:
            raise InvalidArgument(f"案件状态“{status}”无效，应为 {'、'.join(CASE_STATUSES)} 之一")
        return self._all(query.where(CASES.c.status == status))

    def not_indexed(self) -> list[CaseRecord]:
        return self._all(select(CASES).where(CASES.c.status == "current", CASES.c.indexed_at.is_(None))
                         .order_by(CASES.c.case_id))

    def documents(self, case_id: str, version: int) -> list[DocumentRow]:
        with self.db.read() as conn:
            rows = conn.execute(select(*[DOCUMENTS.c[n] for n in _columns(DocumentRow)])
                                .where(DOCUMENTS.c.case_id == case_id, DOCUMENTS.c.version == version)
                                .order_by(DOCUMENTS.c.seq)).all()
        return [_from_db(DocumentRow, row) for row in rows]

    def findings(self, case_id: str, version: int) -> list[FindingRow]:
        with self.db.read() as conn:
            rows = conn.execute(select(*[FINDINGS.c[n] for n in _columns(FindingRow)])
                                .where(FINDINGS.c.case_id == case_id, FINDINGS.c.version == version)
                                .order_by(FINDINGS.c.seq)).all()
        return [_from_db(FindingRow, row) for row in rows]

    def current_findings(self) -> list[tuple[str, str, str]]:
        """(case_id, article, code) of every finding of every current case version, for statistics."""
        return [tuple(row) for row in self._rows(
            select(FINDINGS.c.case_id, FINDINGS.c.article, FINDINGS.c.code)
            .select_from(FINDINGS.join(CASES, and_(CASES.c.case_id == FINDINGS.c.case_id,
                                                   CASES.c.version == FINDINGS.c.version)))
            .where(CASES.c.status == "current").order_by(FINDINGS.c.case_id, FINDINGS.c.seq))]

    def case_shas(self, case_id: str, version: int | None = None) -> set[str]:
        """The blobs a case (one version, or all of them) refers to."""
        records = self.versions(case_id) if version is None else [v for v in [self.version(case_id, version)] if v]
        shas: set[str] = set()
        for record in records:
            shas |= record.blob_shas()
            shas |= {d.sha256 for d in self.documents(record.case_id, record.version)}
        return shas

    def referenced_shas(self, tx: CatalogTransaction | None = None) -> set[str]:
        """Every blob a case version that is not purged still needs: purge must keep these."""
        def collect(conn) -> set[str]:
            shas: set[str] = set()
            for row in conn.execute(select(CASES.c.dossier_sha256, CASES.c.text_sha256, CASES.c.case_json_sha256,
                                           CASES.c.manifest_json_sha256).where(CASES.c.status != "purged")):
                shas.update(s for s in row if s)
            shas.update(conn.execute(select(DOCUMENTS.c.sha256).distinct().select_from(_DOCS_OF_KEPT)
                                     .where(CASES.c.status != "purged")).scalars())
            return shas

        if tx is not None:
            return collect(_tx_conn(tx))
        with self.db.read() as conn:
            return collect(conn)

    def retention_terms(self) -> dict[str, list[tuple[str, int, date, bool]]]:
        """sha256 → [(case_id, version, closed_on, held)] for every version not purged that needs the blob:
        what the object store's locks must cover."""
        held = {row[0] for row in self._rows(select(HOLDS.c.case_id).where(HOLDS.c.released_at.is_(None)))}
        versions = {(r.case_id, r.version): r for r in self.all_cases() if r.status != "purged"}
        terms: dict[str, list] = {}
        for (case_id, version), record in versions.items():
            for sha in record.blob_shas():
                terms.setdefault(sha, []).append((case_id, version, record.closed_on, case_id in held))
        for case_id, version, sha in self._rows(select(DOCUMENTS.c.case_id, DOCUMENTS.c.version, DOCUMENTS.c.sha256)):
            record = versions.get((case_id, version))
            if record is not None:
                terms.setdefault(sha, []).append((case_id, version, record.closed_on, case_id in held))
        return terms

    def lock_approvals(self, tx: CatalogTransaction, subject: str, subject_id: str) -> None:
        """Decisions on one plan or export are taken one at a time across nodes (SQLite's write lock does it
        alone), so a decision is only recorded on the state its maker saw."""
        advisory_lock(_tx_conn(tx), LOCK_APPROVALS, f"{subject}:{subject_id}")

    def lock_blob_deletions(self, tx: CatalogTransaction, *, shared: bool = False) -> None:
        """Ingest (shared) and purge (alone) take this before they look at the store, so a purge never deletes a
        blob that an ingest committing at the same moment refers to; on SQLite the write lock already does."""
        advisory_lock(_tx_conn(tx), LOCK_BLOB_DELETION, shared=shared)

    # --- legal holds --------------------------------------------------------------------------------------

    def add_hold(self, tx: CatalogTransaction, case_id: str, *, reason: str, held_by: str,
                 held_at: datetime | None = None) -> Hold:
        if not reason.strip():
            raise InvalidArgument("保全（冻结）必须写明理由（--reason）")
        conn = _tx_conn(tx)
        hold_id = conn.execute(insert(HOLDS).values(case_id=case_id, reason=reason.strip(), held_by=held_by,
                                                    held_at=(held_at or _now()).isoformat())
                               .returning(HOLDS.c.id)).scalar_one()
        return self._hold(conn, hold_id)

    def release_hold(self, tx: CatalogTransaction, case_id: str, *, reason: str, released_by: str,
                     released_at: datetime | None = None) -> list[Hold]:
        """Release every active hold on the case; returns them (empty when none was active)."""
        if not reason.strip():
            raise InvalidArgument("解除保全必须写明理由（--reason）")
        conn = _tx_conn(tx)
        ids = list(conn.execute(select(HOLDS.c.id).where(HOLDS.c.case_id == case_id, HOLDS.c.released_at.is_(None))
                                .order_by(HOLDS.c.id).with_for_update()).scalars())
        for hold_id in ids:
            conn.execute(update(HOLDS).where(HOLDS.c.id == hold_id).values(
                released_by=released_by, released_at=(released_at or _now()).isoformat(),
                release_reason=reason.strip()))
        return [self._hold(conn, hold_id) for hold_id in ids]

    def active_holds(self, case_id: str | None = None) -> list[Hold]:
        query = select(HOLDS).where(HOLDS.c.released_at.is_(None))
        return self._holds(query if case_id is None else query.where(HOLDS.c.case_id == case_id))

    def hold_history(self, case_id: str | None = None) -> list[Hold]:
        return self._holds(select(HOLDS) if case_id is None else select(HOLDS).where(HOLDS.c.case_id == case_id))

    def is_held(self, case_id: str) -> bool:
        return bool(self.active_holds(case_id))

    # --- purge: tombstones and destruction plans ----------------------------------------------------------

    def record_tombstone_and_clear(self, tx: CatalogTransaction, tombstone: Tombstone) -> None:
        """Keep the tombstone, drop the version's documents and findings, mark it purged. A rerun is a no-op.

        A case under an active legal hold is refused here too, inside the same transaction, so a hold
        added while a purge was being prepared still wins.
        """
        conn = _tx_conn(tx)
        advisory_lock(conn, LOCK_CASE, tombstone.case_id)
        record = self._one(conn, select(CASES).where(CASES.c.case_id == tombstone.case_id,
                                                     CASES.c.version == tombstone.version).with_for_update())
        if record is None:
            raise InvalidArgument(f"目录中没有案件 {tombstone.case_id} 的第 {tombstone.version} 版，无法销毁")
        hold = conn.execute(select(HOLDS.c.reason, HOLDS.c.held_by).where(
            HOLDS.c.case_id == tombstone.case_id, HOLDS.c.released_at.is_(None)).order_by(HOLDS.c.id).limit(1)).first()
        if hold is not None:
            raise ArchiveConflict(f"案件 {tombstone.case_id}（{record.notice_number}）处于保全中"
                                  f"（{hold.held_by}：{hold.reason}），不能销毁")
        exists = conn.execute(select(TOMBSTONES.c.case_id).where(TOMBSTONES.c.case_id == tombstone.case_id,
                                                                 TOMBSTONES.c.version == tombstone.version)).first()
        if exists is None:
            conn.execute(insert(TOMBSTONES).values(**_to_db(tombstone)))
        for table in (DOCUMENTS, FINDINGS):
            conn.execute(delete(table).where(table.c.case_id == tombstone.case_id,
                                             table.c.version == tombstone.version))
        conn.execute(update(CASES).where(CASES.c.case_id == tombstone.case_id, CASES.c.version == tombstone.version)
                     .values(status="purged"))

    def tombstone(self, case_id: str) -> Tombstone | None:
        """The tombstone of the case's latest purged version."""
        found = self.tombstones(case_id)
        return found[-1] if found else None

    def tombstone_by_notice_number(self, number: str) -> Tombstone | None:
        rows = self._rows(select(TOMBSTONES).where(TOMBSTONES.c.notice_number == number)
                          .order_by(TOMBSTONES.c.version.desc()).limit(1))
        return _from_db(Tombstone, rows[0]) if rows else None

    def tombstones(self, case_id: str | None = None) -> list[Tombstone]:
        query = select(TOMBSTONES).order_by(TOMBSTONES.c.case_id, TOMBSTONES.c.version)
        if case_id is not None:
            query = query.where(TOMBSTONES.c.case_id == case_id)
        return [_from_db(Tombstone, row) for row in self._rows(query)]

    def record_plan(self, tx: CatalogTransaction, plan: DestructionPlanRow) -> None:
        conn = _tx_conn(tx)
        existing = self._plan(conn, plan.plan_id)
        if existing is not None:
            if existing.plan_sha256 != plan.plan_sha256:
                raise ArchiveConflict(f"销毁清册 {plan.plan_id} 已登记，且内容不同（哈希 {existing.plan_sha256}）")
            return
        conn.execute(insert(PLANS).values(**_to_db(plan)))

    def mark_plan_executed(self, tx: CatalogTransaction, plan_id: str, *, approved_by: str,
                           executed_at: datetime | None = None) -> None:
        result = _tx_conn(tx).execute(update(PLANS).where(PLANS.c.plan_id == plan_id).values(
            executed_at=func.coalesce(PLANS.c.executed_at, (executed_at or _now()).isoformat()),
            approved_by=func.coalesce(PLANS.c.approved_by, approved_by)))
        if result.rowcount == 0:
            raise InvalidArgument(f"目录中没有销毁清册 {plan_id}")

    def plan(self, plan_id: str) -> DestructionPlanRow | None:
        with self.db.read() as conn:
            return self._plan(conn, plan_id)

    def plans(self) -> list[DestructionPlanRow]:
        return [_from_db(DestructionPlanRow, row)
                for row in self._rows(select(PLANS).order_by(PLANS.c.created_at, PLANS.c.plan_id))]

    # --- helpers ------------------------------------------------------------------------------------------

    def _rows(self, query) -> list:
        with self.db.read() as conn:
            return conn.execute(query).all()

    @staticmethod
    def _one(conn, query) -> CaseRecord | None:
        row = conn.execute(query).first()
        return _from_db(CaseRecord, row) if row else None

    def _read_one(self, query) -> CaseRecord | None:
        with self.db.read() as conn:
            return self._one(conn, query)

    def _all(self, query) -> list[CaseRecord]:
        return [_from_db(CaseRecord, row) for row in self._rows(query)]

    def _holds(self, query) -> list[Hold]:
        return [_from_db(Hold, row) for row in self._rows(query.order_by(HOLDS.c.id))]

    @staticmethod
    def _hold(conn, hold_id: int) -> Hold:
        return _from_db(Hold, conn.execute(select(HOLDS).where(HOLDS.c.id == hold_id)).one())

    @staticmethod
    def _plan(conn, plan_id: str) -> DestructionPlanRow | None:
        row = conn.execute(select(PLANS).where(PLANS.c.plan_id == plan_id)).first()
        return _from_db(DestructionPlanRow, row) if row else None


_DOCS_OF_KEPT = DOCUMENTS.join(CASES, and_(CASES.c.case_id == DOCUMENTS.c.case_id,
                                           CASES.c.version == DOCUMENTS.c.version))


# --- opening: refuse to start from nothing (SQLite catalogs, checked against the ledger-head mirror) ---------

def _refuse_lost(db_path: Path) -> None:
    """A missing or empty catalog file beside a mirror or stored blobs is a lost catalog, never a new one."""
    folder = db_path.parent
    try:
        size = db_path.stat().st_size
    except FileNotFoundError:
        size = None
    except OSError as exc:
        raise database_error(exc, db_path) from None
    if not size:
        mark = mirror.read_mark(folder)
        if mark is not None or mirror.has_blobs(folder):
            raise ArchiveDamaged(_lost_message(db_path, size, mark))


def _lost_message(db_path: Path, size: int | None, mark: mirror.HeadMark | None) -> str:
    state = "缺失" if size is None else "是空文件"
    reasons = []
    if mark is not None:
        reasons.append(f"台账头副本 {mirror.HEAD_FILE} 表明台账已记到第 {mark.seq} 条" if mark.seq else
                       f"台账头副本 {mirror.HEAD_FILE} 表明档案库早已建立")
    if mirror.has_blobs(db_path.parent):
        reasons.append("存储（blobs）中已有文件")
    return (f"档案库 {db_path.parent} 的目录数据库 {db_path.name} {state}，但档案库并非新建（{'，'.join(reasons)}）："
            "yuetan 不会从空目录重新开始（那样会重复发出文号、丢失台账）。请用 yuetan restore 备份文件 从备份恢复目录数据库")


def archive_id(source) -> str | None:
    """The archive's identity; `source` is a catalog, an open transaction or a connection."""
    query = select(META.c.value).where(META.c.key == "archive_id")
    if isinstance(source, Catalog):
        with source.reading() as conn:
            return conn.execute(query).scalar()
    return getattr(source, "conn", source).execute(query).scalar()


def head_problems(catalog: "Catalog", folder: Path, *, adopt: bool = False) -> list[str]:
    """How the catalog disagrees with the ledger-head mirror beside it; empty when it is the catalog last written
    (and always on PostgreSQL, whose catalog is shared by nodes and kept by PostgreSQL's own backups).

    With `adopt`, a catalog that has no mirror yet and may have one (new, or made before mirrors existed) gets
    its identity and mirror now."""
    if catalog.folder is None:
        return []
    mark = mirror.read_mark(folder)
    identity = archive_id(catalog)
    head = ledger.head(catalog)
    if mark is None:
        if identity is not None and (head is not None or mirror.has_blobs(folder)):
            return [f"台账头副本 {Path(folder) / mirror.HEAD_FILE} 缺失，而目录数据库表明它曾经存在："
                    "无法确认目录数据库是否被换成了旧的备份"]
        if adopt:
            if identity is None:
                with catalog.db.write() as conn:
                    if conn.execute(select(META.c.value).where(META.c.key == "archive_id")).scalar() is None:
                        conn.execute(insert(META).values(key="archive_id", value=mirror.new_archive_id()))
                identity = archive_id(catalog)
            mirror.write_mark(folder, mirror.HeadMark(identity, head.seq if head else 0,
                                                      head.entry_hash if head else mirror.GENESIS_HASH))
        return []
    if identity != mark.archive_id:
        return [f"目录数据库不属于此档案库（目录中的档案库编号为 {identity or '无'}，台账头副本记的是 {mark.archive_id}）"]
    if mark.seq == 0:
        return []
    with catalog.reading() as conn:
        row = conn.execute(select(ledger.LEDGER.c.entry_hash).where(ledger.LEDGER.c.seq == mark.seq)).first()
    if row is None:
        last = head.seq if head else 0
        lost = f"第 {mark.seq} 条" if last + 1 == mark.seq else f"第 {last + 1} 至 {mark.seq} 条"
        return [f"目录数据库的台账只到第 {last} 条，而台账头副本表明档案库已记到第 {mark.seq} 条：目录数据库被换成了旧的"
                f"备份或被截断，{lost}账目所记的操作在目录中已不存在"]
    if row[0] != mark.entry_hash:
        return [f"目录数据库第 {mark.seq} 条账目的哈希与台账头副本不符：台账被改写，或目录数据库被换成了另一份"]
    if adopt and head is not None and head.seq > mark.seq:
        # entries committed on a connection of its own (the web face's account changes): carried forward now,
        # when the home can be written (a reader of a read-only copy leaves it)
        try:
            mirror.write_mark(folder, mirror.HeadMark(identity, head.seq, head.entry_hash))
        except OSError:
            pass
    return []


def mirror_head(catalog: "Catalog") -> None:
    """After a commit: carry the ledger head out to the mirror (forward only; SQLite catalogs)."""
    if catalog.folder is None:
        return
    head = ledger.head(catalog)
    identity = archive_id(catalog)
    if head is not None and identity is not None:
        mirror.write_mark(catalog.folder, mirror.HeadMark(identity, head.seq, head.entry_hash))


def _tx_conn(tx):
    conn = tx.conn if isinstance(tx, CatalogTransaction) else tx
    if not getattr(conn, "in_transaction", lambda: False)():
        raise RuntimeError("catalog writes must run inside Catalog.transaction()")
    return conn


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


# --- keeping it true: the catalog against the blob store -----------------------------------------------------

@dataclass
class StoreCheck:
    """What `check_store` found. `problems` make an audit fail; the rest are explained leftovers."""

    problems: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)          # sha256 of blobs whose bytes changed
    missing: list[str] = field(default_factory=list)          # sha256 a kept case needs but the store lacks
    unreferenced: list[str] = field(default_factory=list)     # blobs no kept case needs (an interrupted ingest)
    purge_leftovers: list[str] = field(default_factory=list)  # blobs of purged versions still stored
    blobs_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def check_store(catalog: Catalog, blobs, *, rehash: bool = True) -> StoreCheck:
    """Every blob re-hashed; every blob a kept case version refers to present; each version's documents equal
    its stored manifest's components; tombstones and purged versions match. Messages name the case."""
    result = StoreCheck()
    users = _blob_users(catalog)
    stored = set()
    for sha in blobs.iter_shas():
        stored.add(sha)
        result.blobs_checked += 1
        if rehash and not blobs.verify(sha):
            result.damaged.append(sha)
            who = "；".join(users.get(sha, [])) or "未被任何案件引用"
            result.problems.append(f"存储中的内容 {sha} 已损坏：重新计算的哈希值与文件名不符（{who}）")
    for sha, who in sorted(users.items()):
        if sha not in stored:
            result.missing.append(sha)
            result.problems.append(f"存储中缺少内容 {sha}（{'；'.join(who)}）")
    purged = {s for r in catalog.all_cases("purged") for s in r.blob_shas()}
    for sha in sorted(stored - set(users)):
        (result.purge_leftovers if sha in purged else result.unreferenced).append(sha)

    stones = {(t.case_id, t.version) for t in catalog.tombstones()}
    for record in catalog.all_cases():
        label = _version_label(record)
        if record.status == "purged":
            if (record.case_id, record.version) not in stones:
                result.problems.append(f"{label}已标记为销毁，但没有销毁记录（墓碑）")
            continue
        if record.manifest_json_sha256 in stored and record.manifest_json_sha256 not in result.damaged:
            result.problems.extend(_manifest_problems(catalog, blobs, record, label))
    for stone in catalog.tombstones():
        record = catalog.version(stone.case_id, stone.version)
        if record is None or record.status != "purged":
            result.problems.append(f"案件 {stone.case_id} 第 {stone.version} 版有销毁记录（墓碑，清册 {stone.plan_id}），"
                                   "但目录中该版本并未标记为销毁")
    return result


def _blob_users(catalog: Catalog) -> dict[str, list[str]]:
    """sha256 → who needs it, in words, for every version that is not purged."""
    users: dict[str, list[str]] = {}
    names = {"dossier_sha256": "档案文件", "text_sha256": "全文", "case_json_sha256": "case.json",
             "manifest_json_sha256": "manifest.json"}
    for record in catalog.all_cases():
        if record.status == "purged":
            continue
        label = _version_label(record)
        for column, name in names.items():
            sha = getattr(record, column)
            if sha:
                users.setdefault(sha, []).append(f"{label}的{name}")
    for row in catalog._rows(select(DOCUMENTS.c.case_id, DOCUMENTS.c.version, DOCUMENTS.c.name, DOCUMENTS.c.sha256,
                                    CASES.c.notice_number).select_from(_DOCS_OF_KEPT)
                             .where(CASES.c.status != "purged")):
        users.setdefault(row.sha256, []).append(
            f"案件 {row.case_id} 第 {row.version} 版（{row.notice_number}）的 {row.name}")
    return users


def _manifest_problems(catalog: Catalog, blobs, record: CaseRecord, label: str) -> list[str]:
    try:
        manifest = json.loads(blobs.read_bytes(record.manifest_json_sha256))
        in_manifest = sorted((c["sha256"], c["name"]) for c in manifest["components"])
    except (ValueError, KeyError, TypeError):
        return [f"{label}的 manifest.json 无法解析"]
    in_catalog = sorted((d.sha256, d.name) for d in catalog.documents(record.case_id, record.version))
    if in_manifest == in_catalog:
        return []
    only_manifest = [name for sha, name in in_manifest if (sha, name) not in in_catalog]
    only_catalog = [name for sha, name in in_catalog if (sha, name) not in in_manifest]
    return [f"{label}的目录与其 manifest.json 不一致：仅在 manifest 中 {only_manifest or '无'}，"
            f"仅在目录中 {only_catalog or '无'}"]


def _version_label(record: CaseRecord) -> str:
    return f"案件 {record.case_id} 第 {record.version} 版（{record.notice_number}）"
