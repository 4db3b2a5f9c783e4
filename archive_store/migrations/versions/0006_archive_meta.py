"""archive_meta (the archive's identity, repeated by the ledger-head mirror) and notice_numbers.note (why an
allocated number is not on an archived dossier).

SQLite catalogs at user_version 5 (the last hand-written step) already have archive_meta, and their register
may have the note (added when the register was first opened): each is made only where it is missing.

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "archive_meta",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        if_not_exists=True)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        columns = {c["name"]: c for c in sa.inspect(bind).get_columns("archive_meta")}
        if columns["key"]["nullable"]:      # a TEXT PRIMARY KEY without NOT NULL, as step 5 made it
            with op.batch_alter_table("archive_meta", recreate="always") as batch:
                batch.alter_column("key", existing_type=sa.Text(), nullable=False)
    if "note" not in {c["name"] for c in sa.inspect(bind).get_columns("notice_numbers")}:
        op.add_column("notice_numbers", sa.Column("note", sa.Text))


def downgrade() -> None:
    raise NotImplementedError("the archive's catalog is never downgraded: restore a backup instead")
