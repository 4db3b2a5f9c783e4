"""approvals and kept_exports: approvals as rows, and the exports kept for inspector accounts.

The last hand-written schema step but one (SQLite catalogs at user_version 3 and 4 already have both tables),
so every CREATE is IF NOT EXISTS: such a catalog is adopted as it is. Their kept_exports.export_id was a TEXT
PRIMARY KEY without NOT NULL, which SQLite lets hold NULL: made NOT NULL here, as 0002 did for plan_id.

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.Text, sa.CheckConstraint("subject IN ('destruction_plan', 'export')"),
                  nullable=False),
        sa.Column("subject_id", sa.Text, nullable=False),
        sa.Column("step", sa.Text, sa.CheckConstraint("step IN ('review', 'witness')"), nullable=False),
        sa.Column("requester", sa.Text, nullable=False),
        sa.Column("reviewer", sa.Text, nullable=False),
        sa.Column("reviewer_role", sa.Text, nullable=False),
        sa.Column("status", sa.Text, sa.CheckConstraint("status IN ('approved', 'rejected', 'witnessed')"),
                  nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("ledger_seq", sa.Integer, nullable=False),
        sqlite_autoincrement=True,
        if_not_exists=True)
    op.create_index("approvals_subject", "approvals", ["subject", "subject_id"], if_not_exists=True)
    op.create_table(
        "kept_exports",
        sa.Column("export_id", sa.Text, primary_key=True),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("zip_sha256", sa.Text, nullable=False),
        sa.Column("cases", sa.Integer, nullable=False),
        sa.Column("filters", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("grantee", sa.Text, nullable=False),
        sa.Column("until", sa.Text, nullable=False),
        sa.Column("ledger_seq", sa.Integer, nullable=False),
        if_not_exists=True)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        columns = {c["name"]: c for c in sa.inspect(bind).get_columns("kept_exports")}
        if columns["export_id"]["nullable"]:
            with op.batch_alter_table("kept_exports", recreate="always") as batch:
                batch.alter_column("export_id", existing_type=sa.Text(), nullable=False)


def downgrade() -> None:
    raise NotImplementedError("the archive's catalog is never downgraded: restore a backup instead")
