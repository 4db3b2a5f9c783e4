"""The 档号: cases.archival_code and the register that issues the codes (archival_codes).

SQLite catalogs at user_version 4 (the last hand-written step) already have both; the column is added only
where it is missing (a plain ADD COLUMN: no table rebuild) and every CREATE is IF NOT EXISTS.

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("cases")}
    if "archival_code" not in columns:
        op.add_column("cases", sa.Column("archival_code", sa.Text))
    op.create_index("cases_archival_code", "cases", ["archival_code"], if_not_exists=True)
    op.create_table(
        "archival_codes",
        sa.Column("series", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, sa.CheckConstraint("seq >= 1"), nullable=False),
        sa.Column("code", sa.Text, nullable=False, unique=True),
        sa.Column("case_id", sa.Text, nullable=False, unique=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("recorded_at", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("series", "seq"),
        if_not_exists=True)
    op.create_index("archival_codes_year", "archival_codes", ["year"], if_not_exists=True)


def downgrade() -> None:
    raise NotImplementedError("the archive's catalog is never downgraded: restore a backup instead")
