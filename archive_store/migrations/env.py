"""Alembic's environment: always run by archive_store.migrate on a connection it opened (never by `alembic`)."""
from __future__ import annotations

from alembic import context

from archive_store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
