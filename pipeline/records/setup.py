"""Setting up an archive: the home folder with its settings and catalog, and a development seal."""
from __future__ import annotations

import secrets
from pathlib import Path

from archive_store.errors import ConfigurationError
from archive_store.home import (
    DEFAULT_SEAL_PKCS12,
    ArchiveHome,
    create_home,
    write_private_once,
)
from archive_store.text import require_plain
from pipeline.pdf.seal import create_development_seal


def init_home(path: Path, *, organizer: str | None = None) -> tuple[ArchiveHome, bool]:
    """Create the home if needed; returns (home, created). An existing home is left as it is,
    except that a missing development seal at the default place and a missing web secret key are created."""
    require_plain(organizer, "约谈组织方名称（--organizer）")
    home, created = create_home(path)
    ensure_development_seal(home, organizer=organizer)
    ensure_web_secret_key(home)
    return home, created


def ensure_web_secret_key(home: ArchiveHome) -> Path:
    """The web application's secret key (sessions, CSRF tokens), random, readable by the archive's owner only
    (0600 in a 0700 folder); an existing key is kept, so sessions survive a second `init`."""
    path = home.web_secret_key
    if not path.exists():
        write_private_once(path, secrets.token_urlsafe(50).encode("ascii") + b"\n")
    return path


def ensure_development_seal(home: ArchiveHome, *, organizer: str | None = None) -> Path | None:
    """A self-signed development seal when the settings point at the default seal file and it is
    missing; a seal someone configured is never replaced. Its passphrase is random, kept in the
    passphrase file (0600), unless the passphrase variable is set."""
    if home.settings.seal.pkcs12 != DEFAULT_SEAL_PKCS12 or home.seal_pkcs12.exists():
        return None
    if home.seal_passphrase() is None:
        write_private_once(home.seal_passphrase_file, secrets.token_urlsafe(32).encode("ascii") + b"\n")
    try:
        return create_development_seal(home.seal_pkcs12, organizer=organizer or "yuetan",
                                       passphrase=home.seal_passphrase())
    except ConfigurationError:
        if home.seal_pkcs12.exists():  # a concurrent init made it first, with the same passphrase
            return None
        raise
