"""The catalog's tables, defined once (SQLAlchemy Core) for SQLite and PostgreSQL alike.

The Alembic revisions in `archive_store/migrations/versions/` build exactly this; a test compares a migrated
database of each kind with it. Dates and times are ISO 8601 text, as the first catalogs stored them (so the
ledger's hashes, which cover the text, and an old SQLite catalog keep their meaning unchanged).
"""
from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)

metadata = MetaData()

cases = Table(
    "cases", metadata,
    Column("case_id", Text, nullable=False),
    Column("version", Integer, CheckConstraint("version >= 1"), nullable=False),
    Column("content_sha256", Text, nullable=False),
    Column("status", Text, CheckConstraint("status IN ('current', 'superseded', 'purged')"), nullable=False),
    Column("supersedes", Integer),
    Column("notice_number", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("target_name", Text, nullable=False),
    Column("target_kind", Text, nullable=False),
    Column("credit_code", Text),
    Column("organizer", Text, nullable=False),
    Column("organizer_level", Text, nullable=False),
    Column("region_code", Text, nullable=False),
    Column("grounds", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("interview_on", Text, nullable=False),
    Column("closed_on", Text, nullable=False),
    Column("archived_at", Text, nullable=False),
    Column("dossier_sha256", Text, nullable=False),
    Column("manifest_sha256", Text, nullable=False),
    Column("page_count", Integer, nullable=False),
    Column("text_sha256", Text),
    Column("case_json_sha256", Text, nullable=False),
    Column("manifest_json_sha256", Text, nullable=False),
    Column("indexed_at", Text),
    Column("archival_code", Text),              # 档号; NULL for a case stored before the register existed
    PrimaryKeyConstraint("case_id", "version"),
)
Index("cases_one_current", cases.c.case_id, unique=True,
      sqlite_where=text("status = 'current'"), postgresql_where=text("status = 'current'"))
Index("cases_notice_number", cases.c.notice_number)
Index("cases_credit_code", cases.c.credit_code)
Index("cases_status", cases.c.status)
Index("cases_archival_code", cases.c.archival_code)

documents = Table(
    "documents", metadata,
    Column("case_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("role", Text, nullable=False),
    Column("document", Text, nullable=False, server_default=""),
    Column("title", Text, nullable=False, server_default=""),
    Column("name", Text, nullable=False),
    Column("media_type", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", Text, nullable=False),
    PrimaryKeyConstraint("case_id", "version", "seq"),
    ForeignKeyConstraint(["case_id", "version"], ["cases.case_id", "cases.version"]),
)
Index("documents_sha256", documents.c.sha256)

findings = Table(
    "findings", metadata,
    Column("case_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("code", Text, nullable=False),
    Column("article", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("evidence", Text, nullable=False),
    PrimaryKeyConstraint("case_id", "version", "seq"),
    ForeignKeyConstraint(["case_id", "version"], ["cases.case_id", "cases.version"]),
)
Index("findings_code", findings.c.code)

holds = Table(
    "holds", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("held_by", Text, nullable=False),
    Column("held_at", Text, nullable=False),
    Column("released_by", Text),
    Column("released_at", Text),
    Column("release_reason", Text),
    sqlite_autoincrement=True,
)
Index("holds_case", holds.c.case_id)

tombstones = Table(
    "tombstones", metadata,
    Column("case_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("notice_number", Text, nullable=False),
    Column("target_name", Text, nullable=False),
    Column("credit_code", Text),
    Column("organizer", Text, nullable=False),
    Column("interview_on", Text, nullable=False),
    Column("closed_on", Text, nullable=False),
    Column("archived_at", Text, nullable=False),
    Column("manifest_sha256", Text, nullable=False),
    Column("dossier_sha256", Text, nullable=False),
    Column("page_count", Integer, nullable=False),
    Column("plan_id", Text, nullable=False),
    Column("plan_sha256", Text, nullable=False),
    Column("approved_by", Text, nullable=False),
    Column("purged_at", Text, nullable=False),
    PrimaryKeyConstraint("case_id", "version"),
)
Index("tombstones_notice_number", tombstones.c.notice_number)

destruction_plans = Table(
    "destruction_plans", metadata,
    Column("plan_id", Text, primary_key=True),
    Column("plan_sha256", Text, nullable=False),
    Column("as_of", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("plan_json", Text, nullable=False),
    Column("executed_at", Text),
    Column("approved_by", Text),
)

# Append-only: triggers (created by the migrations, per dialect) refuse UPDATE and DELETE.
ledger = Table(
    "ledger", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("case_id", Text),
    Column("details", Text, nullable=False),
    Column("prev_hash", Text, nullable=False),
    Column("entry_hash", Text, nullable=False),
    Column("role", Text),                       # the actor's role; NULL in entries written before roles
)
Index("ledger_case", ledger.c.case_id)

notice_numbers = Table(
    "notice_numbers", metadata,
    Column("prefix", Text, nullable=False),
    Column("year", Integer, nullable=False),
    Column("seq", Integer, CheckConstraint("seq >= 1"), nullable=False),
    Column("case_id", Text),
    Column("origin", Text, CheckConstraint("origin IN ('allocated', 'registered')"), nullable=False),
    Column("recorded_at", Text, nullable=False),
    Column("note", Text),           # why an allocated number is not (yet) on an archived dossier
    PrimaryKeyConstraint("prefix", "year", "seq"),
)
Index("notice_numbers_case", notice_numbers.c.prefix, notice_numbers.c.year, notice_numbers.c.case_id,
      unique=True, sqlite_where=text("case_id IS NOT NULL"), postgresql_where=text("case_id IS NOT NULL"))

# Approvals as rows (pipeline.records.approvals): who asked, who reviewed or witnessed, the decision, its reason
# and its ledger entry.
approvals = Table(
    "approvals", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject", Text, CheckConstraint("subject IN ('destruction_plan', 'export')"), nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("step", Text, CheckConstraint("step IN ('review', 'witness')"), nullable=False),
    Column("requester", Text, nullable=False),
    Column("reviewer", Text, nullable=False),
    Column("reviewer_role", Text, nullable=False),
    Column("status", Text, CheckConstraint("status IN ('approved', 'rejected', 'witnessed')"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", Text, nullable=False),
    Column("ledger_seq", Integer, nullable=False),
    sqlite_autoincrement=True,
)
Index("approvals_subject", approvals.c.subject, approvals.c.subject_id)

# Exports kept in the archive for one inspector account, with the grant's end.
kept_exports = Table(
    "kept_exports", metadata,
    Column("export_id", Text, primary_key=True),
    Column("file", Text, nullable=False),
    Column("zip_sha256", Text, nullable=False),
    Column("cases", Integer, nullable=False),
    Column("filters", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("grantee", Text, nullable=False),
    Column("until", Text, nullable=False),
    Column("ledger_seq", Integer, nullable=False),
)

# The 档号 register (archive_store.arrangement): one row per code ever given, never deleted, so a number is
# never reused; a case holds one code.
archival_codes = Table(
    "archival_codes", metadata,
    Column("series", Text, nullable=False),
    Column("seq", Integer, CheckConstraint("seq >= 1"), nullable=False),
    Column("code", Text, nullable=False, unique=True),
    Column("case_id", Text, nullable=False, unique=True),
    Column("year", Integer, nullable=False),
    Column("recorded_at", Text, nullable=False),
    PrimaryKeyConstraint("series", "seq"),
)
Index("archival_codes_year", archival_codes.c.year)

# The archive's identity (archive_id), which the ledger-head mirror beside a SQLite catalog repeats
# (archive_store.mirror), so a catalog of another archive is known for one.
archive_meta = Table(
    "archive_meta", metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

LEDGER_GUARD_TRIGGERS = ("ledger_no_update", "ledger_no_delete")
