"""Ingest from the browser (入库): case zips uploaded, streamed to disk, checked by the same intake as the command
line, then ingested with progress per case and stage."""
