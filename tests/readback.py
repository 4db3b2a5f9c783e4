"""Reading produced files back, for tests under pipeline/web (which may import only the core API themselves)."""
from pipeline.external.poppler import pdf_text
from pipeline.records.catalogue import HEADERS as CATALOGUE_HEADERS
from pipeline.records.catalogue import read_xlsx as read_catalogue

__all__ = ["CATALOGUE_HEADERS", "pdf_text", "read_catalogue"]
