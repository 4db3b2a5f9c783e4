"""The official documents rendered from the DOCX templates."""
