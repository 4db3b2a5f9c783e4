"""The core API: the one set of plain functions both faces call (the `yuetan` command line and the web
application). Each takes typed arguments, among them who acts (`Actor`: account name and role; the core never
invents one), and returns a pydantic model whose `model_dump(mode="json")` is the `--json` output.

Errors are the exceptions of `archive_store.errors` (re-exported here), each with its exit status.
"""
import importlib
from typing import TYPE_CHECKING

# Where each public name lives. Names are imported on first use (PEP 562), so a command loads only the modules its
# operation needs: `yuetan search` must not pay for SQLAlchemy's schema, pikepdf or docxtpl at start.
_NAMES = {
    "archive_store.actors": ["ROLE_LABELS", "Actor", "Role"],
    "archive_store.errors": ["ArchiveConflict", "ConfigurationError", "ExitCode", "InvalidArgument", "InvalidCase",
                             "YuetanError", "environment_error"],
    "archive_store.home": ["ArchiveHome", "resolve_home"],
    "pipeline.api.accounts": ["record_account_change", "record_role_change"],
    "pipeline.api.archive": ["archival_codes", "audit", "backup", "follow", "ingest", "init", "ledger_list",
                             "ledger_verify", "migrate", "open_dossier", "reindex", "restore",
                             "show", "start_follower"],
    "pipeline.api.home": ["open_archive"],
    "pipeline.api.searching": ["search"],
    "pipeline.api.cases": ["build", "check", "render", "schema", "verify"],
    "pipeline.api.dossiers": ["dossier_outline", "dossier_page"],
    "pipeline.api.keeping": ["catalogue", "catalogue_years", "credit", "export", "export_verify", "handover",
                             "handover_file", "handover_verify", "handovers", "hold", "keep_handover",
                             "purge_execute", "purge_plan", "release", "retention", "statistics"],
    "pipeline.api.models": ["ExportFilters"],
}
_RENAMED = {"clock": ("archive_store.clock", None),
            "scratch_session": ("archive_store.scratch", "session"),
            "plain_text": ("archive_store.text", "require_plain"),
            "visible": ("archive_store.text", "visible")}
_MODULES = {"authority", "labels", "models", "approvals"}          # submodules of pipeline.api
_WHERE = {name: (module, name) for module, names in _NAMES.items() for name in names} | _RENAMED

if TYPE_CHECKING:
    from archive_store import clock
    from archive_store.actors import ROLE_LABELS, Actor, Role
    from archive_store.errors import (
        ArchiveConflict,
        ConfigurationError,
        ExitCode,
        InvalidArgument,
        InvalidCase,
        YuetanError,
        environment_error,
    )
    from archive_store.home import ArchiveHome, resolve_home
    from archive_store.scratch import session as scratch_session
    from archive_store.text import require_plain as plain_text
    from archive_store.text import visible
    from pipeline.api import approvals, authority, labels, models
    from pipeline.api.accounts import record_account_change, record_role_change
    from pipeline.api.archive import (
        archival_codes,
        audit,
        backup,
        follow,
        ingest,
        init,
        ledger_list,
        ledger_verify,
        migrate,
        open_dossier,
        reindex,
        restore,
        show,
        start_follower,
    )
    from pipeline.api.cases import build, check, render, schema, verify
    from pipeline.api.dossiers import dossier_outline, dossier_page
    from pipeline.api.home import open_archive
    from pipeline.api.keeping import (
        catalogue,
        catalogue_years,
        credit,
        export,
        export_verify,
        handover,
        handover_file,
        handover_verify,
        handovers,
        hold,
        keep_handover,
        purge_execute,
        purge_plan,
        release,
        retention,
        statistics,
    )
    from pipeline.api.models import ExportFilters
    from pipeline.api.searching import search

__all__ = [
    "Actor", "Role", "ROLE_LABELS", "clock", "ArchiveHome", "ExportFilters", "models", "resolve_home", "plain_text", "visible",
    "scratch_session",
    "YuetanError", "ExitCode", "environment_error", "InvalidArgument", "InvalidCase", "ConfigurationError", "ArchiveConflict",
    "check", "schema", "render", "build", "verify",
    "init", "open_archive", "ingest", "search", "show", "open_dossier", "reindex", "audit", "ledger_verify",
    "ledger_list", "follow", "start_follower", "migrate", "backup", "restore",
    "retention", "hold", "release", "purge_plan", "purge_execute", "export", "export_verify", "credit",
    "statistics", "catalogue", "catalogue_years", "handover", "handover_verify", "keep_handover", "handovers", "handover_file",
    "archival_codes",
    "approvals", "labels", "authority", "record_account_change", "record_role_change", "dossier_outline", "dossier_page",
]


def __getattr__(name: str):
    """A public name, imported from its module on first use and kept here."""
    if name in _MODULES:
        value = importlib.import_module(f"pipeline.api.{name}")
    elif name in _WHERE:
        module, attribute = _WHERE[name]
        value = importlib.import_module(module)
        value = value if attribute is None else getattr(value, attribute)
    else:
        raise AttributeError(f"module 'pipeline.api' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
