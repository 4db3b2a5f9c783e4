"""Search (检索) and the case page (案件): catalog record, findings, documents, versions, holds, the case's ledger,
the dossier in the browser and its download, and the 核验 of the stored dossier."""
