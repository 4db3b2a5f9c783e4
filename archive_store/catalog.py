"""The catalog: cases and their versions, documents, findings, legal holds, tombstones and destruction plans.

One SQLite file (WAL) shared with the notice number registry and the ledger, so a case, its documents,
findings and ledger entry commit in ONE transaction or not at all. Blobs are referred to by sha256 only;
the blob store holds the bytes.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timezone
from pathlib import Path

from archive_store import ledger, mirror
from archive_store.db import connect, database_error, write_transaction

from .canonical import canonical_json
from .errors import ArchiveConflict, ArchiveDamaged, ConfigurationError, InvalidArgument

SCHEMA_VERSION = 5
CASE_STATUSES = ("current", "superseded", "purged")

_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS cases (
    case_id              TEXT    NOT NULL,
    version              INTEGER NOT NULL CHECK (version >= 1),
    content_sha256       TEXT    NOT NULL,
    status               TEXT    NOT NULL CHECK (status IN ('current', 'superseded', 'purged')),
    supersedes           INTEGER,
    notice_number        TEXT    NOT NULL,
    title                TEXT    NOT NULL,
    target_name          TEXT    NOT NULL,
    target_kind          TEXT    NOT NULL,
    credit_code          TEXT,
    organizer            TEXT    NOT NULL,
    organizer_level      TEXT    NOT NULL,
    region_code          TEXT    NOT NULL,
    grounds              TEXT    NOT NULL,
    outcome              TEXT    NOT NULL,
    interview_on         TEXT    NOT NULL,
    closed_on            TEXT    NOT NULL,
    archived_at          TEXT    NOT NULL,
    dossier_sha256       TEXT    NOT NULL,
    manifest_sha256      TEXT    NOT NULL,
    page_count           INTEGER NOT NULL,
    text_sha256          TEXT,
    case_json_sha256     TEXT    NOT NULL,
    manifest_json_sha256 TEXT    NOT NULL,
    indexed_at           TEXT,
    PRIMARY KEY (case_id, version)
);
CREATE UNIQUE INDEX IF NOT EXISTS cases_one_current ON cases (case_id) WHERE status = 'current';
CREATE INDEX IF NOT EXISTS cases_notice_number ON cases (notice_number);
CREATE INDEX IF NOT EXISTS cases_credit_code ON cases (credit_code);
CREATE INDEX IF NOT EXISTS cases_status ON cases (status);

CREATE TABLE IF NOT EXISTS documents (
    case_id    TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    role       TEXT    NOT NULL,
    document   TEXT    NOT NULL DEFAULT '',
    title      TEXT    NOT NULL DEFAULT '',
    name       TEXT    NOT NULL,
    media_type TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    sha256     TEXT    NOT NULL,
    PRIMARY KEY (case_id, version, seq),
    FOREIGN KEY (case_id, version) REFERENCES cases (case_id, version)
);
CREATE INDEX IF NOT EXISTS documents_sha256 ON documents (sha256);

CREATE TABLE IF NOT EXISTS findings (
    case_id  TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    seq      INTEGER NOT NULL,
    code     TEXT    NOT NULL,
    article  TEXT    NOT NULL,
    severity TEXT    NOT NULL,
    message  TEXT    NOT NULL,
    evidence TEXT    NOT NULL,
    PRIMARY KEY (case_id, version, seq),
    FOREIGN KEY (case_id, version) REFERENCES cases (case_id, version)
);
CREATE INDEX IF NOT EXISTS findings_code ON findings (code);

CREATE TABLE IF NOT EXISTS holds (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id        TEXT NOT NULL,
    reason         TEXT NOT NULL,
    held_by        TEXT NOT NULL,
    held_at        TEXT NOT NULL,
    released_by    TEXT,
    released_at    TEXT,
    release_reason TEXT
);
CREATE INDEX IF NOT EXISTS holds_case ON holds (case_id);

CREATE TABLE IF NOT EXISTS tombstones (
    case_id         TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    notice_number   TEXT    NOT NULL,
    target_name     TEXT    NOT NULL,
    credit_code     TEXT,
    organizer       TEXT    NOT NULL,
    interview_on    TEXT    NOT NULL,
    closed_on       TEXT    NOT NULL,
    archived_at     TEXT    NOT NULL,
    manifest_sha256 TEXT    NOT NULL,
    dossier_sha256  TEXT    NOT NULL,
    page_count      INTEGER NOT NULL,
    plan_id         TEXT    NOT NULL,
    plan_sha256     TEXT    NOT NULL,
    approved_by     TEXT    NOT NULL,
    purged_at       TEXT    NOT NULL,
    PRIMARY KEY (case_id, version)
);
CREATE INDEX IF NOT EXISTS tombstones_notice_number ON tombstones (notice_number);

CREATE TABLE IF NOT EXISTS destruction_plans (
    plan_id     TEXT PRIMARY KEY,
    plan_sha256 TEXT NOT NULL,
    as_of       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    plan_json   TEXT NOT NULL,
    executed_at TEXT,
    approved_by TEXT
);
"""

# Schema 3: the 档号 (archival code) of each case version, and the register that issues them
# (archive_store/arrangement.py): one row per code ever given, never deleted, so a number is never reused.
_ARRANGEMENT = [
    "ALTER TABLE cases ADD COLUMN archival_code TEXT",
    "CREATE INDEX IF NOT EXISTS cases_archival_code ON cases (archival_code)",
    """CREATE TABLE IF NOT EXISTS archival_codes (
        series      TEXT    NOT NULL,
        seq         INTEGER NOT NULL CHECK (seq >= 1),
        code        TEXT    NOT NULL UNIQUE,
        case_id     TEXT    NOT NULL UNIQUE,
        year        INTEGER NOT NULL,
        recorded_at TEXT    NOT NULL,
        PRIMARY KEY (series, seq)
    )""",
    "CREATE INDEX IF NOT EXISTS archival_codes_year ON archival_codes (year)",
]

# Each step brings the schema from version i to i + 1; append new steps, never edit old ones.
# Step 3: approvals as rows (who asked, who reviewed or witnessed, decision, reason) and the exports kept in the
# archive for inspector accounts, with their grants (pipeline.records.approvals).
_SCHEMA_V3 = """
CREATE TABLE IF NOT EXISTS approvals (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    subject       TEXT NOT NULL CHECK (subject IN ('destruction_plan', 'export')),
    subject_id    TEXT NOT NULL,
    step          TEXT NOT NULL CHECK (step IN ('review', 'witness')),
    requester     TEXT NOT NULL,
    reviewer      TEXT NOT NULL,
    reviewer_role TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('approved', 'rejected', 'witnessed')),
    reason        TEXT NOT NULL,
    at            TEXT NOT NULL,
    ledger_seq    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS approvals_subject ON approvals (subject, subject_id);
CREATE TABLE IF NOT EXISTS kept_exports (
    export_id   TEXT PRIMARY KEY,
    file        TEXT NOT NULL,
    zip_sha256  TEXT NOT NULL,
    cases       INTEGER NOT NULL,
    filters     TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    grantee     TEXT NOT NULL,
    until       TEXT NOT NULL,
    ledger_seq  INTEGER NOT NULL
);
"""
# Step 5: the archive's identity (archive_meta.archive_id), which the ledger-head mirror beside the catalog repeats
# (archive_store.mirror), so a catalog of another archive is known for one.
_SCHEMA_V5 = """
CREATE TABLE IF NOT EXISTS archive_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

MIGRATIONS: list[Sequence[str]] = [ledger.ddl_statements(_SCHEMA_V1) + ledger.ddl_statements(ledger.SCHEMA),
                                   [ledger.ADD_ROLE], ledger.ddl_statements(_SCHEMA_V3), _ARRANGEMENT,
                                   ledger.ddl_statements(_SCHEMA_V5)]


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


def _to_db(obj) -> list:
    values = []
    for name in _columns(type(obj)):
        value = getattr(obj, name)
        if name in _JSON:
            value = canonical_json(value).decode("utf-8")
        elif isinstance(value, (date, datetime)):
            value = value.isoformat()
        values.append(value)
    return values


def _from_db(cls, row: sqlite3.Row):
    kwargs = {}
    for name in _columns(cls):
        value = row[name]
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

    def __init__(self, catalog: "Catalog", conn: sqlite3.Connection):
        self.catalog = catalog
        self.conn = conn

    def record_case(self, record: CaseRecord, documents: list[DocumentRow], findings: list[FindingRow]) -> int:
        return self.catalog.record_case(self, record, documents, findings)

    def mark_superseded(self, case_id: str, version: int) -> None:
        self.catalog.mark_superseded(self, case_id, version)

    def append_ledger(self, **kwargs) -> ledger.LedgerEntry:
        return ledger.append(self, **kwargs)


class Catalog:
    """The catalog in `db_path`; safe across threads if each uses its own Catalog, and across processes."""

    def __init__(self, db_path: Path, *, check_head: bool = True):
        """`check_head=False` opens a catalog the ledger-head mirror disagrees with (audit reports it)."""
        self.db_path = Path(db_path)
        self.conn = open_connection(self.db_path, check_head=check_head)
        self.conn.row_factory = sqlite3.Row

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[CatalogTransaction]:
        """BEGIN IMMEDIATE … COMMIT; an exception rolls every write back."""
        with write_transaction(self.conn) as conn:
            yield CatalogTransaction(self, conn)
        mirror_head(self.conn, self.db_path.parent)

    # --- case versions ------------------------------------------------------------------------------------

    def record_case(self, tx: CatalogTransaction, record: CaseRecord, documents: list[DocumentRow],
                    findings: list[FindingRow]) -> int:
        """Store a new version of a case with its documents and findings; returns the version number.

        A case that already has a current version is only recorded as its successor
        (`record.supersedes` = that version), which is then marked superseded in the same transaction.
        """
        conn = _tx_conn(tx)
        if not record.case_id:
            raise InvalidArgument("入库记录缺少 case_id")
        current = self._one(conn, "SELECT * FROM cases WHERE case_id = ? AND status = 'current'", (record.case_id,))
        if current is not None and record.supersedes != current.version:
            raise ArchiveConflict(
                f"案件 {record.case_id} 已有现行版本（第 {current.version} 版，文号 {current.notice_number}），"
                "新版本必须声明取代它（--supersede）")
        if record.supersedes is not None and self._one(
                conn, "SELECT * FROM cases WHERE case_id = ? AND version = ? AND status != 'purged'",
                (record.case_id, record.supersedes)) is None:
            raise ArchiveConflict(f"案件 {record.case_id} 没有可被取代的第 {record.supersedes} 版")
        if current is not None:
            self.mark_superseded(tx, record.case_id, current.version)
        (last,) = conn.execute("SELECT COALESCE(MAX(version), 0) FROM cases WHERE case_id = ?",
                               (record.case_id,)).fetchone()
        record = replace(record, version=last + 1, status="current")
        _insert(conn, "cases", record)
        for doc in documents:
            conn.execute("INSERT INTO documents (case_id, version, " + ", ".join(_columns(DocumentRow)) + ") "
                         "VALUES (?, ?, " + ", ".join("?" * len(_columns(DocumentRow))) + ")",
                         [record.case_id, record.version, *_to_db(doc)])
        for seq, finding in enumerate(findings, start=1):
            conn.execute("INSERT INTO findings (case_id, version, seq, " + ", ".join(_columns(FindingRow)) + ") "
                         "VALUES (?, ?, ?, " + ", ".join("?" * len(_columns(FindingRow))) + ")",
                         [record.case_id, record.version, seq, *_to_db(finding)])
        return record.version

    def mark_superseded(self, tx: CatalogTransaction, case_id: str, version: int) -> None:
        _tx_conn(tx).execute("UPDATE cases SET status = 'superseded' WHERE case_id = ? AND version = ? "
                             "AND status = 'current'", (case_id, version))

    def mark_indexed(self, tx_or_none: CatalogTransaction | None, case_id: str, version: int,
                     at: datetime | None = None) -> None:
        """Note that a version is in the search index (a crash between catalog and index leaves it NULL)."""
        sql = "UPDATE cases SET indexed_at = ? WHERE case_id = ? AND version = ?"
        args = ((at or _now()).isoformat(), case_id, version)
        if tx_or_none is None:
            with write_transaction(self.conn):
                self.conn.execute(sql, args)
        else:
            _tx_conn(tx_or_none).execute(sql, args)

    def current(self, case_id: str) -> CaseRecord | None:
        return self._one(self.conn, "SELECT * FROM cases WHERE case_id = ? AND status = 'current'", (case_id,))

    def version(self, case_id: str, version: int) -> CaseRecord | None:
        return self._one(self.conn, "SELECT * FROM cases WHERE case_id = ? AND version = ?", (case_id, version))

    def versions(self, case_id: str) -> list[CaseRecord]:
        """Every version of a case, oldest first, whatever its status."""
        return self._all("SELECT * FROM cases WHERE case_id = ? ORDER BY version", (case_id,))

    def by_notice_number(self, number: str) -> CaseRecord | None:
        """The current version carrying this notice number (else its latest superseded one); None once purged."""
        return self._one(self.conn, "SELECT * FROM cases WHERE notice_number = ? AND status != 'purged' "
                                    "ORDER BY status = 'current' DESC, version DESC LIMIT 1", (number,))

    def by_archival_code(self, code: str) -> CaseRecord | None:
        """The current version filed under this 档号 (else its latest superseded one); None once purged."""
        return self._one(self.conn, "SELECT * FROM cases WHERE archival_code = ? AND status != 'purged' "
                                    "ORDER BY status = 'current' DESC, version DESC LIMIT 1", (code,))

    def by_credit_code(self, credit_code: str, *, include_superseded: bool = False) -> list[CaseRecord]:
        statuses = ("current", "superseded") if include_superseded else ("current",)
        return self._all(f"SELECT * FROM cases WHERE credit_code = ? AND status IN ({_marks(statuses)}) "
                         "ORDER BY interview_on, case_id, version", (credit_code, *statuses))

    def all_cases(self, status: str | None = None) -> list[CaseRecord]:
        """Every case version with this status (all versions when None), by case_id and version."""
        if status is None:
            return self._all("SELECT * FROM cases ORDER BY case_id, version", ())
        if status not in CASE_STATUSES:
            raise InvalidArgument(f"案件状态“{status}”无效，应为 {'、'.join(CASE_STATUSES)} 之一")
        return self._all("SELECT * FROM cases WHERE status = ? ORDER BY case_id, version", (status,))

    def not_indexed(self) -> list[CaseRecord]:
        return self._all("SELECT * FROM cases WHERE status = 'current' AND indexed_at IS NULL "
                         "ORDER BY case_id", ())

    def documents(self, case_id: str, version: int) -> list[DocumentRow]:
        rows = self.conn.execute(f"SELECT {', '.join(_columns(DocumentRow))} FROM documents "
                                 "WHERE case_id = ? AND version = ? ORDER BY seq", (case_id, version)).fetchall()
        return [_from_db(DocumentRow, row) for row in rows]

    def findings(self, case_id: str, version: int) -> list[FindingRow]:
        rows = self.conn.execute(f"SELECT {', '.join(_columns(FindingRow))} FROM findings "
                                 "WHERE case_id = ? AND version = ? ORDER BY seq", (case_id, version)).fetchall()
        return [_from_db(FindingRow, row) for row in rows]

    def current_findings(self) -> list[tuple[str, str, str]]:
        """(case_id, article, code) of every finding of every current case version, for statistics."""
        return [tuple(row) for row in self.conn.execute(
            "SELECT f.case_id, f.article, f.code FROM findings f JOIN cases c "
            "ON c.case_id = f.case_id AND c.version = f.version WHERE c.status = 'current' ORDER BY f.case_id, f.seq")]

    def case_shas(self, case_id: str, version: int | None = None) -> set[str]:
        """The blobs a case (one version, or all of them) refers to."""
        records = self.versions(case_id) if version is None else [v for v in [self.version(case_id, version)] if v]
        shas: set[str] = set()
        for record in records:
            shas |= record.blob_shas()
            shas |= {d.sha256 for d in self.documents(record.case_id, record.version)}
        return shas

    def referenced_shas(self) -> set[str]:
        """Every blob a case version that is not purged still needs: purge must keep these."""
        shas: set[str] = set()
        for row in self.conn.execute("SELECT dossier_sha256, text_sha256, case_json_sha256, manifest_json_sha256 "
                                     "FROM cases WHERE status != 'purged'"):
            shas.update(s for s in row if s)
        shas.update(row[0] for row in self.conn.execute(
            "SELECT DISTINCT d.sha256 FROM documents d JOIN cases c ON c.case_id = d.case_id "
            "AND c.version = d.version WHERE c.status != 'purged'"))
        return shas

    # --- legal holds --------------------------------------------------------------------------------------

    def add_hold(self, tx: CatalogTransaction, case_id: str, *, reason: str, held_by: str,
                 held_at: datetime | None = None) -> Hold:
        if not reason.strip():
            raise InvalidArgument("保全（冻结）必须写明理由（--reason）")
        cur = _tx_conn(tx).execute("INSERT INTO holds (case_id, reason, held_by, held_at) VALUES (?, ?, ?, ?)",
                                   (case_id, reason.strip(), held_by, (held_at or _now()).isoformat()))
        return self._hold(_tx_conn(tx), cur.lastrowid)

    def release_hold(self, tx: CatalogTransaction, case_id: str, *, reason: str, released_by: str,
                     released_at: datetime | None = None) -> list[Hold]:
        """Release every active hold on the case; returns them (empty when none was active)."""
        if not reason.strip():
            raise InvalidArgument("解除保全必须写明理由（--reason）")
        conn = _tx_conn(tx)
        ids = [row[0] for row in conn.execute(
            "SELECT id FROM holds WHERE case_id = ? AND released_at IS NULL ORDER BY id", (case_id,))]
        for hold_id in ids:
            conn.execute("UPDATE holds SET released_by = ?, released_at = ?, release_reason = ? WHERE id = ?",
                         (released_by, (released_at or _now()).isoformat(), reason.strip(), hold_id))
        return [self._hold(conn, hold_id) for hold_id in ids]

    def active_holds(self, case_id: str | None = None) -> list[Hold]:
        where = "released_at IS NULL" + (" AND case_id = ?" if case_id is not None else "")
        return self._holds(where, () if case_id is None else (case_id,))

    def hold_history(self, case_id: str | None = None) -> list[Hold]:
        return self._holds("case_id = ?" if case_id is not None else "1", () if case_id is None else (case_id,))

    def is_held(self, case_id: str) -> bool:
        return bool(self.active_holds(case_id))

    # --- purge: tombstones and destruction plans ----------------------------------------------------------

    def record_tombstone_and_clear(self, tx: CatalogTransaction, tombstone: Tombstone) -> None:
        """Keep the tombstone, drop the version's documents and findings, mark it purged. A rerun is a no-op.

        A case under an active legal hold is refused here too, inside the same transaction, so a hold
        added while a purge was being prepared still wins.
        """
        conn = _tx_conn(tx)
        record = self._one(conn, "SELECT * FROM cases WHERE case_id = ? AND version = ?",
                           (tombstone.case_id, tombstone.version))
        if record is None:
            raise InvalidArgument(f"目录中没有案件 {tombstone.case_id} 的第 {tombstone.version} 版，无法销毁")
        hold = conn.execute("SELECT reason, held_by FROM holds WHERE case_id = ? AND released_at IS NULL "
                            "ORDER BY id LIMIT 1", (tombstone.case_id,)).fetchone()
        if hold is not None:
            raise ArchiveConflict(f"案件 {tombstone.case_id}（{record.notice_number}）处于保全中"
                                  f"（{hold['held_by']}：{hold['reason']}），不能销毁")
        cols = _columns(Tombstone)
        conn.execute(f"INSERT OR IGNORE INTO tombstones ({', '.join(cols)}) VALUES ({_marks(cols)})",
                     _to_db(tombstone))
        conn.execute("DELETE FROM documents WHERE case_id = ? AND version = ?", (tombstone.case_id, tombstone.version))
        conn.execute("DELETE FROM findings WHERE case_id = ? AND version = ?", (tombstone.case_id, tombstone.version))
        conn.execute("UPDATE cases SET status = 'purged' WHERE case_id = ? AND version = ?",
                     (tombstone.case_id, tombstone.version))

    def tombstone(self, case_id: str) -> Tombstone | None:
        """The tombstone of the case's latest purged version."""
        found = self.tombstones(case_id)
        return found[-1] if found else None

    def tombstone_by_notice_number(self, number: str) -> Tombstone | None:
        row = self.conn.execute("SELECT * FROM tombstones WHERE notice_number = ? ORDER BY version DESC LIMIT 1",
                                (number,)).fetchone()
        return _from_db(Tombstone, row) if row else None

    def tombstones(self, case_id: str | None = None) -> list[Tombstone]:
        if case_id is None:
            rows = self.conn.execute("SELECT * FROM tombstones ORDER BY case_id, version").fetchall()
        else:
            rows = self.conn.execute("SELECT * FROM tombstones WHERE case_id = ? ORDER BY version",
                                     (case_id,)).fetchall()
        return [_from_db(Tombstone, row) for row in rows]

    def record_plan(self, tx: CatalogTransaction, plan: DestructionPlanRow) -> None:
        conn = _tx_conn(tx)
        existing = self._plan(conn, plan.plan_id)
        if existing is not None:
            if existing.plan_sha256 != plan.plan_sha256:
                raise ArchiveConflict(f"销毁清册 {plan.plan_id} 已登记，且内容不同（哈希 {existing.plan_sha256}）")
            return
        _insert(conn, "destruction_plans", plan)

    def mark_plan_executed(self, tx: CatalogTransaction, plan_id: str, *, approved_by: str,
                           executed_at: datetime | None = None) -> None:
        cur = _tx_conn(tx).execute(
            "UPDATE destruction_plans SET executed_at = COALESCE(executed_at, ?), approved_by = COALESCE(approved_by, ?) "
            "WHERE plan_id = ?", ((executed_at or _now()).isoformat(), approved_by, plan_id))
        if cur.rowcount == 0:
            raise InvalidArgument(f"目录中没有销毁清册 {plan_id}")

    def plan(self, plan_id: str) -> DestructionPlanRow | None:
        return self._plan(self.conn, plan_id)

    def plans(self) -> list[DestructionPlanRow]:
        rows = self.conn.execute("SELECT * FROM destruction_plans ORDER BY created_at, plan_id").fetchall()
        return [_from_db(DestructionPlanRow, row) for row in rows]

    # --- helpers ------------------------------------------------------------------------------------------

    @staticmethod
    def _one(conn: sqlite3.Connection, sql: str, args: tuple) -> CaseRecord | None:
        row = conn.execute(sql, args).fetchone()
        return _from_db(CaseRecord, row) if row else None

    def _all(self, sql: str, args: tuple) -> list[CaseRecord]:
        return [_from_db(CaseRecord, row) for row in self.conn.execute(sql, args).fetchall()]

    def _holds(self, where: str, args: tuple) -> list[Hold]:
        rows = self.conn.execute(f"SELECT * FROM holds WHERE {where} ORDER BY id", args).fetchall()
        return [_from_db(Hold, row) for row in rows]

    @staticmethod
    def _hold(conn: sqlite3.Connection, hold_id: int) -> Hold:
        return _from_db(Hold, conn.execute("SELECT * FROM holds WHERE id = ?", (hold_id,)).fetchone())

    @staticmethod
    def _plan(conn: sqlite3.Connection, plan_id: str) -> DestructionPlanRow | None:
        row = conn.execute("SELECT * FROM destruction_plans WHERE plan_id = ?", (plan_id,)).fetchone()
        return _from_db(DestructionPlanRow, row) if row else None


# --- opening: refuse to start from nothing -------------------------------------------------------------------

def open_connection(db_path: Path, *, check_head: bool = True) -> sqlite3.Connection:
    """A connection to the archive's database, migrated; refused (ArchiveDamaged) when the database is missing,
    empty or unreadable although the archive is not new, or (`check_head`) not the one its ledger-head mirror
    describes. A new archive gets its identity and its mirror here."""
    db_path = Path(db_path)
    folder = db_path.parent
    mark = mirror.read_mark(folder)
    try:
        size = db_path.stat().st_size
    except FileNotFoundError:
        size = None
    except OSError as exc:
        raise database_error(exc, db_path) from None
    if not size and (mark is not None or mirror.has_blobs(folder)):
        raise ArchiveDamaged(_lost_message(db_path, size, mark))
    try:
        conn = connect(db_path)
    except sqlite3.Error as exc:
        raise database_error(exc, db_path) from None
    try:
        _migrate(conn, db_path)
        problems = head_problems(conn, folder, adopt=True)
        if check_head and problems:
            raise ArchiveDamaged("；".join(problems) + "。yuetan 拒绝在此目录数据库上运行：请用 yuetan audit 查看，"
                                 "用 yuetan restore 从备份恢复目录数据库")
    except sqlite3.Error as exc:
        conn.close()
        raise database_error(exc, db_path) from None
    except BaseException:
        conn.close()
        raise
    return conn


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


def archive_id(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT value FROM archive_meta WHERE key = 'archive_id'").fetchone()
    return row[0] if row else None


def head_problems(conn: sqlite3.Connection, folder: Path, *, adopt: bool = False) -> list[str]:
    """How the catalog disagrees with the ledger-head mirror beside it; empty when it is the catalog last written.

    With `adopt`, a catalog that has no mirror yet and may have one (new, or made before mirrors existed) gets
    its identity and mirror now."""
    mark = mirror.read_mark(folder)
    identity = archive_id(conn)
    head = ledger.head(conn)
    if mark is None:
        if identity is not None and (head is not None or mirror.has_blobs(folder)):
            return [f"台账头副本 {Path(folder) / mirror.HEAD_FILE} 缺失，而目录数据库表明它曾经存在："
                    "无法确认目录数据库是否被换成了旧的备份"]
        if adopt:
            if identity is None:
                with write_transaction(conn):
                    conn.execute("INSERT OR IGNORE INTO archive_meta (key, value) VALUES ('archive_id', ?)",
                                 (mirror.new_archive_id(),))
                identity = archive_id(conn)
            mirror.write_mark(folder, mirror.HeadMark(identity, head.seq if head else 0,
                                                      head.entry_hash if head else mirror.GENESIS_HASH))
        return []
    if identity != mark.archive_id:
        return [f"目录数据库不属于此档案库（目录中的档案库编号为 {identity or '无'}，台账头副本记的是 {mark.archive_id}）"]
    if mark.seq == 0:
        return []
    row = conn.execute("SELECT entry_hash FROM ledger WHERE seq = ?", (mark.seq,)).fetchone()
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


def mirror_head(conn: sqlite3.Connection, folder: Path) -> None:
    """After a commit: carry the ledger head out to the mirror (forward only)."""
    head = ledger.head(conn)
    identity = archive_id(conn)
    if head is not None and identity is not None:
        mirror.write_mark(folder, mirror.HeadMark(identity, head.seq, head.entry_hash))


def _migrate(conn: sqlite3.Connection, db_path: Path) -> None:
    """Bring the schema up to SCHEMA_VERSION (pragma user_version), one step per transaction."""
    (found,) = conn.execute("PRAGMA user_version").fetchone()
    if found > SCHEMA_VERSION:
        raise ConfigurationError(f"档案库目录 {db_path} 的结构版本为 {found}，比本程序支持的 {SCHEMA_VERSION} 新："
                                 "请升级 yuetan 后再使用")
    if found == SCHEMA_VERSION:
        return
    with write_transaction(conn):
        (found,) = conn.execute("PRAGMA user_version").fetchone()
        for step in range(found, SCHEMA_VERSION):
            for statement in MIGRATIONS[step]:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _insert(conn: sqlite3.Connection, table: str, obj) -> None:
    cols = _columns(type(obj))
    conn.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({_marks(cols)})", _to_db(obj))


def _tx_conn(tx) -> sqlite3.Connection:
    conn = tx.conn if isinstance(tx, CatalogTransaction) else tx
    if not conn.in_transaction:
        raise RuntimeError("catalog writes must run inside Catalog.transaction()")
    return conn


def _marks(items) -> str:
    return ", ".join("?" * len(items))


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

    for record in catalog.all_cases():
        label = _version_label(record)
        if record.status == "purged":
            if not catalog.conn.execute("SELECT 1 FROM tombstones WHERE case_id = ? AND version = ?",
                                        (record.case_id, record.version)).fetchone():
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
    for row in catalog.conn.execute(
            "SELECT d.case_id, d.version, d.name, d.sha256, c.notice_number FROM documents d JOIN cases c "
            "ON c.case_id = d.case_id AND c.version = d.version WHERE c.status != 'purged'"):
        users.setdefault(row["sha256"], []).append(
            f"案件 {row['case_id']} 第 {row['version']} 版（{row['notice_number']}）的 {row['name']}")
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
