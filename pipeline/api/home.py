"""Opening the archive home: in a module of its own, so that a command opening it loads no operation it does not
run (every command of the command line starts in a fresh process)."""
from __future__ import annotations

from pathlib import Path

from archive_store.home import ArchiveHome, open_home


def open_archive(path: Path, *, check_head: bool = True) -> ArchiveHome:
    """The archive home at `path`; refused (ConfigurationError) if it was never set up, and (ArchiveDamaged) if
    its catalog is lost or replaced. `check_head=False` only for audit and ledger verify, which report the latter."""
    return open_home(path, check_head=check_head)
