"""The archive's own state: the home folder, the catalog (SQLite), the blob store and the ledger."""
