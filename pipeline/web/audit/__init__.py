"""Oversight for the auditor (审计): the ledger with its chain status, the access log, the archive's audit."""
