"""Records operations on the archive: ingest, lookup, audit, retention, export, credit."""
