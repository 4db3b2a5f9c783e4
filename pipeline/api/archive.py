"""The archive: set it up, put cases in, find them, take them out, keep it true."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path

from archive_store import ledger as chain
from archive_store.actors import Actor
from archive_store.backup import backup_catalog, restore_catalog
from archive_store.home import DEFAULT_SEAL_PKCS12, ArchiveHome, open_home
from pipeline.api.home import open_archive  # noqa: F401  (where the operations were)
from pipeline.api.models import (
    AuditResult,
    BackupResult,
    CaseRecord,
    CaseRetention,
    DocumentEntry,
    Finding,
    FollowResult,
    HoldEntry,
    IngestReport,
    IngestRow,
    InitResult,
    LedgerEntry,
    LedgerList,
    LedgerVerifyResult,
    MigrateResult,
    OpenResult,
    Problem,
    ReindexResult,
    RestoreResult,
    ShowResult,
    Tombstone,
    VersionEntry,
)

# The operations are imported inside each function: a command loads only what it uses (the CLI starts faster).
from pipeline.records.authority import require

log = logging.getLogger(__name__)


def init(path: Path, *, actor: Actor, organizer: str | None = None) -> InitResult:
    """Create the archive home (settings, catalog) and, unless a seal is configured, a development seal."""
    from pipeline.records.setup import init_home

    home, created = init_home(path, organizer=organizer)
    log.info("%s（%s）%s档案库 %s", actor.name, actor.role, "创建" if created else "打开", home.path)
    return InitResult(path=str(home.path.resolve()), created=created, seal_path=str(home.seal_pkcs12),
                      development_seal=home.settings.seal.pkcs12 == DEFAULT_SEAL_PKCS12)


def ingest(home: ArchiveHome, paths: Iterable[Path], *, actor: Actor, jobs: int = 1, supersede: bool = False,
           on_result: Callable[[IngestRow], None] | None = None,
           on_start: Callable[[int], None] | None = None,
           on_stage: Callable[[str, str], None] | None = None) -> IngestReport:
    """Ingest cases (folders, zips, or folders of many cases); one bad case is reported and the rest go on.

    `on_start(n)` is told how many cases were found; `on_result(row)` hears of each case as it finishes;
    `on_stage(source, stage)` hears each case's stages as they start (check, normalise, render, convert,
    assemble, seal, store, index).
    Failures are rows, not exceptions: `IngestReport.failed` counts them.
    """
    from pipeline.records.ingest import case_sources, ingest_cases

    require(actor, "ingest")
    sources = case_sources(paths)
    if on_start is not None:
        on_start(len(sources))
    results = ingest_cases(sources, home=home, actor=actor, jobs=jobs, supersede=supersede,
                           on_result=(lambda r: on_result(ingest_row(r))) if on_result else None,
                           on_stage=on_stage)
    return IngestReport(results=[ingest_row(r) for r in results])


def ingest_row(result) -> IngestRow:
    """A row of the answer from pipeline.records.ingest.IngestResult."""
    return IngestRow(source=result.source, case_id=result.case_id, status=result.status, version=result.version,
                     notice_number=result.notice_number, archival_code=result.archival_code,
                     dossier_sha256=result.dossier_sha256,
                     manifest_sha256=result.manifest_sha256, findings=[Finding(**f) for f in result.findings],
                     message=result.message, problems=[Problem(**p) for p in result.problems],
                     exit_code=result.exit_code)


def show(home: ArchiveHome, reference: str, *, actor: Actor) -> ShowResult:
    """A case by notice number or case_id: its record, findings, documents, versions, holds and ledger entries;
    for a purged case, its tombstone."""
    from pipeline.records import lookup

    log.debug("%s（%s）查看 %s", actor.name, actor.role, reference)
    info = lookup.show_case(home, reference)
    if info["status"] == "purged":
        return ShowResult(status="purged", tombstone=Tombstone(**info["tombstone"]))
    from pipeline.records.retention import case_retention

    years = home.settings.retention_years
    kept = case_retention(info["record"], [h for h in info["holds"] if h.released_at is None], years=years)
    return ShowResult(
        retention=CaseRetention(years=years, expires_on=kept.expires_on, purgeable_from=kept.purgeable_from,
                                held=kept.held, status=kept.status.value),
        status=info["status"], record=CaseRecord(**asdict(info["record"])), outcome_label=info["outcome_label"],
        findings=[Finding(**asdict(f)) for f in info["findings"]],
        documents=[DocumentEntry(**asdict(d)) for d in info["documents"]],
        versions=[VersionEntry(version=v.version, status=v.status, archived_at=v.archived_at,
                               dossier_sha256=v.dossier_sha256) for v in info["versions"]],
        holds=[HoldEntry(**asdict(h)) for h in info["holds"]],
        ledger=[ledger_entry(e) for e in info["ledger"]])


def open_dossier(home: ArchiveHome, reference: str, dest: Path, *, actor: Actor) -> OpenResult:
    """Write a stored case's sealed dossier to `dest`, its hash checked on the way out."""
    from pipeline.records import lookup

    log.debug("%s（%s）取出 %s", actor.name, actor.role, reference)
    record = lookup.open_dossier(home, reference, dest)
    return OpenResult(path=str(dest), case_id=record.case_id, notice_number=record.notice_number)


def reindex(home: ArchiveHome, *, actor: Actor) -> ReindexResult:
    """The search index made again from the catalog and the store alone, swapped in whole."""
    from pipeline.search.reindex import reindex as rebuild_index

    return ReindexResult(cases=rebuild_index(home, actor=actor))


def follow(home: ArchiveHome, *, actor: Actor, once: bool = False, interval: float = 3.0,
           on_change=None) -> FollowResult:
    """Catch this node's index up with the catalog (cases ingested or purged on any node); unless `once`, keep
    doing so every `interval` seconds until interrupted, calling `on_change` with each FollowResult that
    changed something. Returns where the first catch-up got to."""
    from pipeline.search.follow import catch_up
    from pipeline.search.follow import follow as keep_following

    log.debug("%s（%s）追赶检索索引", actor.name, actor.role)
    first = catch_up(home)
    result = FollowResult(position=first.position, indexed=first.indexed, removed=first.removed)
    if not once:
        keep_following(home, interval=interval, on_change=lambda r: on_change and on_change(
            FollowResult(position=r.position, indexed=r.indexed, removed=r.removed)))
    return result


def start_follower(home: ArchiveHome, *, interval: float = 3.0):
    """For a server (`yuetan serve`): follow the catalog in a background thread; set the returned event to stop."""
    from pipeline.search.follow import start_follower as start

    return start(home, interval=interval)


def migrate(home: ArchiveHome | Path, *, actor: Actor) -> MigrateResult:
    """Bring the catalog's tables to this release's revision (the one way a PostgreSQL catalog changes). Given a
    path, the home is opened without opening its catalog (which refuses a database that migrate has yet to build)."""
    from archive_store import migrate as schema

    if not isinstance(home, ArchiveHome):
        home = open_home(Path(home), open_catalog=False)
    location = home.catalog_location
    log.info("%s（%s）升级目录结构 %s", actor.name, actor.role, location.describe())
    engine = schema.engine_for(location)
    try:
        result = schema.upgrade(engine)
    finally:
        engine.dispose()
    return MigrateResult(catalog=location.describe(), before=result.before, after=result.after,
                         changed=result.changed)


def audit(home: ArchiveHome, *, actor: Actor) -> AuditResult:
    """Every blob against its hash, catalog against store, index against catalog, the ledger chain."""
    from pipeline.records.audit import audit_archive

    log.debug("%s（%s）核查档案库", actor.name, actor.role)
    report = audit_archive(home)
    return AuditResult(ok=report.ok, problems=report.problems, pending=report.pending, cases=report.cases,
                       blobs_checked=report.blobs_checked, ledger_entries=report.ledger_entries)


def ledger_verify(home: ArchiveHome, *, actor: Actor) -> LedgerVerifyResult:
    """The ledger's hash chain: every edited, removed or reordered entry, named; and the catalog against the
    ledger head mirrored beside it (a catalog replaced by an older copy)."""
    from pipeline.records.audit import verify_ledger

    count, problems = verify_ledger(home)
    return LedgerVerifyResult(ok=not problems, entries=count, problems=problems)


def backup(home: ArchiveHome, dest: Path, *, actor: Actor) -> BackupResult:
    """Copy the catalog (cases, notice numbers, ledger) to `dest`, outside the home; recorded in the ledger."""
    require(actor, "back_up")
    result = backup_catalog(home, dest, actor=actor)
    return BackupResult(**result.as_dict())


def restore(path: Path, backup_file: Path, *, actor: Actor) -> RestoreResult:
    """Put a backup in place of a catalog that is missing, damaged or replaced (never over a sound one).
    Only at the archive's own machine (the console role)."""
    require(actor, "restore_catalog")
    home = open_home(path, open_catalog=False)
    return RestoreResult(**restore_catalog(home, backup_file, actor=actor).as_dict())


def ledger_list(home: ArchiveHome, case_id: str | None = None, *, actor: Actor) -> LedgerList:
    """The ledger's entries, oldest first (only those of one case when `case_id` is given)."""
    with home.catalog() as catalog:
        return LedgerList(entries=[ledger_entry(e) for e in chain.entries(catalog, case_id)])


def archival_codes(home: ArchiveHome, case_ids: Iterable[str], *, actor: Actor) -> dict[str, str]:
    """The 档号 of each case that has one (purged cases keep theirs: the register never forgets), for a face that
    names cases it got from elsewhere (the ledger, the access log, a tombstone)."""
    from archive_store.arrangement import code_of_case

    wanted = sorted({c for c in case_ids if c})
    if not wanted:
        return {}
    with home.catalog() as catalog:
        codes = {case_id: code_of_case(catalog, case_id) for case_id in wanted}
    return {case_id: code for case_id, code in codes.items() if code}


def ledger_entry(entry: chain.LedgerEntry) -> LedgerEntry:
    return LedgerEntry(**asdict(entry))
