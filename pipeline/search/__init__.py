"""Full-text search: analysis, the index, rebuilding it from the archive."""
