"""The first catalog: cases, documents, findings, holds, tombstones, destruction plans, the ledger and the
notice-number register, exactly as the SQLite catalogs written before Alembic have them.

Every CREATE is IF NOT EXISTS, so this revision adopts such a catalog as it is (and adds what it lacks);
on an empty database it creates everything.

Revision ID: 0001
Revises:
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("case_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, sa.CheckConstraint("version >= 1"), nullable=False),
        sa.Column("content_sha256", sa.Text, nullable=False),
        sa.Column("status", sa.Text, sa.CheckConstraint("status IN ('current', 'superseded', 'purged')"),
                  nullable=False),
        sa.Column("supersedes", sa.Integer),
        sa.Column("notice_number", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("target_name", sa.Text, nullable=False),
        sa.Column("target_kind", sa.Text, nullable=False),
        sa.Column("credit_code", sa.Text),
        sa.Column("organizer", sa.Text, nullable=False),
        sa.Column("organizer_level", sa.Text, nullable=False),
        sa.Column("region_code", sa.Text, nullable=False),
        sa.Column("grounds", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("interview_on", sa.Text, nullable=False),
        sa.Column("closed_on", sa.Text, nullable=False),
        sa.Column("archived_at", sa.Text, nullable=False),
        sa.Column("dossier_sha256", sa.Text, nullable=False),
        sa.Column("manifest_sha256", sa.Text, nullable=False),
        sa.Column("page_count", sa.Integer, nullable=False),
        sa.Column("text_sha256", sa.Text),
        sa.Column("case_json_sha256", sa.Text, nullable=False),
        sa.Column("manifest_json_sha256", sa.Text, nullable=False),
        sa.Column("indexed_at", sa.Text),
        sa.PrimaryKeyConstraint("case_id", "version"),
        if_not_exists=True)
    op.create_index("cases_one_current", "cases", ["case_id"], unique=True, if_not_exists=True,
                    sqlite_where=sa.text("status = 'current'"), postgresql_where=sa.text("status = 'current'"))
    op.create_index("cases_notice_number", "cases", ["notice_number"], if_not_exists=True)
    op.create_index("cases_credit_code", "cases", ["credit_code"], if_not_exists=True)
    op.create_index("cases_status", "cases", ["status"], if_not_exists=True)

    op.create_table(
        "documents",
        sa.Column("case_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("document", sa.Text, nullable=False, server_default=""),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("media_type", sa.Text, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "version", "seq"),
        sa.ForeignKeyConstraint(["case_id", "version"], ["cases.case_id", "cases.version"]),
        if_not_exists=True)
    op.create_index("documents_sha256", "documents", ["sha256"], if_not_exists=True)

    op.create_table(
        "findings",
        sa.Column("case_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("article", sa.Text, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "version", "seq"),
        sa.ForeignKeyConstraint(["case_id", "version"], ["cases.case_id", "cases.version"]),
        if_not_exists=True)
    op.create_index("findings_code", "findings", ["code"], if_not_exists=True)

    op.create_table(
        "holds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("held_by", sa.Text, nullable=False),
        sa.Column("held_at", sa.Text, nullable=False),
        sa.Column("released_by", sa.Text),
        sa.Column("released_at", sa.Text),
        sa.Column("release_reason", sa.Text),
        sqlite_autoincrement=True,
        if_not_exists=True)
    op.create_index("holds_case", "holds", ["case_id"], if_not_exists=True)

    op.create_table(
        "tombstones",
        sa.Column("case_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("notice_number", sa.Text, nullable=False),
        sa.Column("target_name", sa.Text, nullable=False),
        sa.Column("credit_code", sa.Text),
        sa.Column("organizer", sa.Text, nullable=False),
        sa.Column("interview_on", sa.Text, nullable=False),
        sa.Column("closed_on", sa.Text, nullable=False),
        sa.Column("archived_at", sa.Text, nullable=False),
        sa.Column("manifest_sha256", sa.Text, nullable=False),
        sa.Column("dossier_sha256", sa.Text, nullable=False),
        sa.Column("page_count", sa.Integer, nullable=False),
        sa.Column("plan_id", sa.Text, nullable=False),
        sa.Column("plan_sha256", sa.Text, nullable=False),
        sa.Column("approved_by", sa.Text, nullable=False),
        sa.Column("purged_at", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "version"),
        if_not_exists=True)
    op.create_index("tombstones_notice_number", "tombstones", ["notice_number"], if_not_exists=True)

    op.create_table(
        "destruction_plans",
        sa.Column("plan_id", sa.Text, primary_key=True),
        sa.Column("plan_sha256", sa.Text, nullable=False),
        sa.Column("as_of", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("plan_json", sa.Text, nullable=False),
        sa.Column("executed_at", sa.Text),
        sa.Column("approved_by", sa.Text),
        if_not_exists=True)

    op.create_table(
        "ledger",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("case_id", sa.Text),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.Text, nullable=False),
        sa.Column("entry_hash", sa.Text, nullable=False),
        if_not_exists=True)
    op.create_index("ledger_case", "ledger", ["case_id"], if_not_exists=True)
    _ledger_guards()

    op.create_table(
        "notice_numbers",
        sa.Column("prefix", sa.Text, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, sa.CheckConstraint("seq >= 1"), nullable=False),
        sa.Column("case_id", sa.Text),
        sa.Column("origin", sa.Text, sa.CheckConstraint("origin IN ('allocated', 'registered')"), nullable=False),
        sa.Column("recorded_at", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("prefix", "year", "seq"),
        if_not_exists=True)
    op.create_index("notice_numbers_case", "notice_numbers", ["prefix", "year", "case_id"], unique=True,
                    if_not_exists=True, sqlite_where=sa.text("case_id IS NOT NULL"),
                    postgresql_where=sa.text("case_id IS NOT NULL"))


def _ledger_guards() -> None:
    """The ledger only grows: UPDATE and DELETE are refused by the database itself."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE TRIGGER IF NOT EXISTS ledger_no_update BEFORE UPDATE ON ledger\n"
                   "BEGIN SELECT RAISE(ABORT, '账本只能追加，不能修改已有账目'); END")
        op.execute("CREATE TRIGGER IF NOT EXISTS ledger_no_delete BEFORE DELETE ON ledger\n"
                   "BEGIN SELECT RAISE(ABORT, '账本只能追加，不能删除已有账目'); END")
        return
    for name, verb, message in (("ledger_no_update", "UPDATE", "账本只能追加，不能修改已有账目"),
                                ("ledger_no_delete", "DELETE", "账本只能追加，不能删除已有账目")):
        op.execute(f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                   f"BEGIN RAISE EXCEPTION '{message}'; END $$")
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON ledger")
        op.execute(f"CREATE TRIGGER {name} BEFORE {verb} ON ledger FOR EACH ROW EXECUTE FUNCTION {name}()")
    # TRUNCATE bypasses row triggers on PostgreSQL; refuse it too.
    op.execute("DROP TRIGGER IF EXISTS ledger_no_truncate ON ledger")
    op.execute("CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger "
               "FOR EACH STATEMENT EXECUTE FUNCTION ledger_no_delete()")


def downgrade() -> None:
    raise NotImplementedError("the archive's catalog is never downgraded: restore a backup instead")
