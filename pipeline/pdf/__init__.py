"""PDF work: normalising uploads, PDF/A checks, assembly, manifest, seal, verification."""
