"""destruction_plans.plan_id NOT NULL on SQLite catalogs from before Alembic.

SQLite lets a TEXT PRIMARY KEY hold NULL unless the column says NOT NULL, which the first catalogs did not;
PostgreSQL and catalogs made by revision 0001 already have it. (holds.id and ledger.seq are INTEGER PRIMARY KEY,
SQLite's rowid, which can never be NULL, whatever reflection reports.)

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    columns = {c["name"]: c for c in sa.inspect(bind).get_columns("destruction_plans")}
    if columns["plan_id"]["nullable"]:
        with op.batch_alter_table("destruction_plans", recreate="always") as batch:
            batch.alter_column("plan_id", existing_type=sa.Text(), nullable=False)


def downgrade() -> None:
    raise NotImplementedError("the archive's catalog is never downgraded: restore a backup instead")
