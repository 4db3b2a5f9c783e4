"""Alembic's scripts for the catalog: `env.py` and one file per revision in `versions/` (see archive_store.migrate)."""
