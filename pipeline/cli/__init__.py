"""The command-line face: `commands` (the click commands), `options` (what they share), `output` (what they
print). It calls only the core API, `pipeline.api`."""
from pipeline.cli.commands import main

__all__ = ["main"]
