"""ledger.role: the role of whoever acted (NULL in entries written before roles were recorded).

SQLite catalogs of the last release before Alembic (user_version 2) already have the column; it is added only
where it is missing. An entry's hash covers `role` only when it has one, so old chains verify unchanged.

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("ledger")}
    if "role" not in columns:
        # a plain ADD COLUMN: no table rebuild, so the ledger's append-only triggers stay as they are
        op.execute("ALTER TABLE ledger ADD COLUMN role TEXT")


def downgrade() -> None:
    raise NotImplementedError("the archive's catalog is never downgraded: restore a backup instead")
