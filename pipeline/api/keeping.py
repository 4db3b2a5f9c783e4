"""Keeping the archive: retention, legal holds, the destruction plan and purge, exports, the credit file,
statistics."""
from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date
from pathlib import Path

from archive_store import clock
from archive_store.actors import Actor
from archive_store.errors import ConfigurationError
from archive_store.home import ArchiveHome, open_home
from pipeline.api.models import (
    CatalogueEntry,
    CatalogueResult,
    Count,
    CreditResult,
    ExportFilters,
    ExportResult,
    ExportVerifyResult,
    HandoverEntry,
    HandoverResult,
    HandoverVerifyResult,
    HoldResult,
    Interview,
    PurgeOutcome,
    PurgePlan,
    PurgeResult,
    RetentionResult,
    RetentionRow,
    StatisticsResult,
    VerifyCheck,
)

# The operations are imported inside each function: a command loads only what it uses.
from pipeline.records.authority import require

log = logging.getLogger(__name__)


def retention(home: ArchiveHome, *, actor: Actor, as_of: date | None = None) -> RetentionResult:
    """Every current case's retention: closed, kept until, destroyable from, held, status (as of a day)."""
    from pipeline.records import retention as retention_records

    day = as_of or clock.today()
    entries = retention_records.retention_schedule(home, as_of=day)
    years = home.settings.retention_years
    return RetentionResult(as_of=day, retention_years=years, rule=retention_records.retention_rule(years),
                           cases=[RetentionRow(case_id=e.case_id, version=e.version, notice_number=e.notice_number,
                                               title=e.title, target=e.target_name, organizer=e.organizer,
                                               closed_on=e.closed_on, expires_on=e.expires_on,
                                               purgeable_from=e.purgeable_from, held=e.held,
                                               hold_reasons=e.hold_reasons, status=e.status.value,
                                               archival_code=e.archival_code)
                                  for e in entries])


def hold(home: ArchiveHome, case: str, *, reason: str, actor: Actor) -> HoldResult:
    """Put a legal hold on a case (by case_id or notice number): it is never purged while held."""
    from pipeline.records import retention as retention_records

    require(actor, "hold")
    return HoldResult(**asdict(retention_records.place_hold(home, case, reason=reason, actor=actor)))


def release(home: ArchiveHome, case: str, *, reason: str, actor: Actor) -> HoldResult:
    """Release a case's legal hold."""
    from pipeline.records import retention as retention_records

    require(actor, "hold")
    return HoldResult(**asdict(retention_records.release_hold(home, case, reason=reason, actor=actor)))


def purge_plan(home: ArchiveHome, out_dir: Path, *, actor: Actor, as_of: date | None = None,
               converter=None) -> PurgePlan:
    """Write the destruction list (销毁清册.xlsx, .pdf) and plan.json for the cases due and not held; deletes
    nothing. With nothing due, nothing is written and the plan has no id."""
    from pipeline.records import retention as retention_records

    require(actor, "draft_plan")
    plan = retention_records.plan_destruction(home, out_dir, actor=actor, as_of=as_of, converter=converter)
    return PurgePlan(**plan, out_dir=str(out_dir))


def purge_execute(home: ArchiveHome, plan_path: Path, *, approved_by: str, actor: Actor,
                  today: date | None = None) -> PurgeResult:
    """Purge an approved plan's cases that are still due, unheld and unchanged; a rerun finishes an interrupted
    one."""
    from pipeline.records import retention as retention_records

    report = retention_records.execute_plan(home, plan_path, approved_by=approved_by, actor=actor, today=today)
    return purge_result(report)


def purge_result(report) -> PurgeResult:
    """The answer of an executed destruction plan, from pipeline.records.retention.PurgeReport."""
    return PurgeResult(plan_id=report.plan_id, plan_sha256=report.plan_sha256, approved_by=report.approved_by,
                       kept_at=str(report.kept_at),
                       cases=[PurgeOutcome(case_id=o.case_id, notice_number=o.notice_number, status=o.status.name,
                                           message=o.status.value, deleted_blobs=o.deleted_blobs,
                                           kept_shared_blobs=o.kept_shared_blobs, index_removed=o.index_removed)
                              for o in report.outcomes])


def export(home: ArchiveHome, filters: ExportFilters, dest: Path, *, actor: Actor) -> ExportResult:
    """The selected cases as one BagIt bag in a zip at `dest`, recorded in the ledger."""
    from pipeline.records import export as export_records

    require(actor, "prepare_export")
    result = export_records.export_bag(home, export_records.ExportFilters(**filters.model_dump()), dest,
                                       actor=actor)
    return ExportResult(path=str(result.path), case_ids=result.case_ids, cases=len(result.case_ids),
                        tagmanifest_sha256=result.tagmanifest_sha256, zip_sha256=result.zip_sha256,
                        ledger_seq=result.ledger_seq)


def export_verify(path: Path, *, home: ArchiveHome | Path | None = None,
                  trust: Path | None = None) -> ExportVerifyResult:
    """Every problem of a bag received back: zip structure, BagIt checksums, the seal's signature over the tag
    manifest (against `trust`, else the archive's own seal when verified there), the ledger chain inside, and,
    when the archive that wrote it is at hand, its ledger. A bag can be verified anywhere: a path that is not an
    archive home is simply not consulted."""
    from pipeline.records import export as export_records

    if home is not None and not isinstance(home, ArchiveHome):
        try:
            home = open_home(home)
        except ConfigurationError:
            home = None
    report = export_records.verify_export(path, home=home, trust=trust)
    return ExportVerifyResult(valid=report.ok, problems=report.problems, path=str(path), signer=report.signer,
                              checks=[VerifyCheck(**c.as_dict()) for c in report.checks], notes=report.notes or [])


def credit(home: ArchiveHome, credit_code: str | None = None, *, actor: Actor,
           dest: Path | None = None) -> CreditResult:
    """An institution's credit file (第十八条), or every institution's when `credit_code` is None; written as a
    table (.xlsx or .csv) too when `dest` is given."""
    from pipeline.records import credit as credit_records

    if credit_code is None:
        entries = credit_records.credit_file_all(home)
    else:
        entries = credit_records.credit_file(home, credit_code)
    if dest is not None:
        credit_records.write_credit_table(home, entries, dest)
    return CreditResult(credit_code=None if credit_code is None else credit_code.strip().upper(),
                        interviews=[Interview(**e.as_dict()) for e in entries],
                        written_to=None if dest is None else str(dest))


def statistics(home: ArchiveHome, *, actor: Actor, dest: Path | None = None) -> StatisticsResult:
    """Counts of the current cases by year, organizer, region, ground item, outcome and kind; findings by
    article and by organizer; written as an XLSX workbook (a sheet per count) too when `dest` is given."""
    from pipeline.records.statistics import archive_statistics, write_statistics_xlsx

    stats = archive_statistics(home)
    if dest is not None:
        write_statistics_xlsx(stats, home.output_file(dest))
    data = asdict(stats)
    counts = {k: [Count(**c) for c in v] for k, v in data.items() if isinstance(v, list)}
    return StatisticsResult(cases=stats.cases, findings=stats.findings, **counts)


def catalogue(home: ArchiveHome, year: int, dest: Path | None = None, *, actor: Actor,
              converter=None) -> CatalogueResult:
    """The year's 案卷目录 (every 档号 given for cases closed that year, in order), written as .xlsx or .pdf too
    when `dest` is given."""
    from pipeline.records import catalogue as catalogue_records

    require(actor, "read_catalogue")
    log.debug("%s（%s）编制 %d 年度案卷目录", actor.name, actor.role, year)
    found = catalogue_records.year_catalogue(home, year)
    if dest is not None:
        catalogue_records.write_catalogue(home, found, dest, converter=converter)
    return CatalogueResult(path="" if dest is None else str(dest), year=year, title=found.title,
                           fonds_code=found.fonds_code, fonds_name=found.fonds_name, pages=found.pages,
                           rows=[CatalogueEntry(**{k: v for k, v in r.as_dict().items()
                                                   if k in CatalogueEntry.model_fields}) for r in found.rows])


def catalogue_years(home: ArchiveHome, *, actor: Actor) -> list[Count]:
    """The closing years for which 档号 were given, latest first, with how many in each."""
    from collections import Counter

    from archive_store.arrangement import registered_codes

    require(actor, "read_catalogue")
    with home.catalog() as catalog:
        years = Counter(c.year for c in registered_codes(catalog))
    return [Count(key=str(y), label=f"{y}年度", count=n) for y, n in sorted(years.items(), reverse=True)]


def handover(home: ArchiveHome, year: int, out_dir: Path, *, actor: Actor, receiver: str = "",
             converter=None) -> HandoverResult:
    """The year's dossiers as one BagIt bag with the catalogue and the 移交清单, into `out_dir`; ledgered."""
    from pipeline.records import handover as handover_records

    require(actor, "hand_over")
    result = handover_records.hand_over(home, year, out_dir, actor=actor, receiver=receiver, converter=converter)
    return handover_result(result)


def handover_result(result) -> HandoverResult:
    return HandoverResult(path=str(result.path), zip_path=str(result.zip_path), year=result.year,
                          archival_codes=result.archival_codes, pages=result.pages, bytes=result.bytes,
                          tagmanifest_sha256=result.tagmanifest_sha256, zip_sha256=result.zip_sha256,
                          ledger_seq=result.ledger_seq, handover_id=result.handover_id)


def keep_handover(home: ArchiveHome, year: int, *, actor: Actor, receiver: str, converter=None) -> HandoverResult:
    """The year's handover kept in the archive (for the web application's archivist to download); ledgered."""
    from pipeline.records import handover as handover_records

    return handover_result(handover_records.keep_handover(home, year, actor=actor, receiver=receiver,
                                                          converter=converter))


def handovers(home: ArchiveHome, *, actor: Actor) -> list[HandoverEntry]:
    """Every handover the ledger records, latest first; `handover_id` is set for those the archive keeps."""
    from pipeline.records import handover as handover_records

    require(actor, "read_catalogue")
    return [HandoverEntry(**h.as_dict()) for h in handover_records.handovers(home)]


def handover_file(home: ArchiveHome, handover_id: str, name: str, *, actor: Actor) -> Path:
    """A kept handover's file: "package" (the zip; only for who hands over), 移交清单.pdf, 案卷目录.xlsx or
    案卷目录.pdf; found by the ledger, its hash checked on the way out."""
    from pipeline.records import handover as handover_records

    return handover_records.handover_file(home, handover_id, name, actor=actor)


def handover_verify(path: Path, *, home: ArchiveHome | Path | None = None,
                    trust: Path | None = None) -> HandoverVerifyResult:
    """On the receiving side (no archive needed): the bag and the archive seal's signature over it (against
    `trust`), every dossier's seal and PDF/A, the catalogue against the dossiers. At the archive that wrote it,
    its ledger's record of the zip is checked too."""
    if home is not None and not isinstance(home, ArchiveHome):
        try:
            home = open_home(home)
        except ConfigurationError:
            home = None
    from pipeline.records import handover as handover_records

    check = handover_records.verify_handover(path, home=home, trust=trust)
    return HandoverVerifyResult(valid=check.valid, cases=check.cases, problems=check.problems, path=str(check.path),
                                signer=check.signer, notes=check.notes)
