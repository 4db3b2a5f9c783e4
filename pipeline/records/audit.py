"""Audit: is the archive still true? Blobs against their hashes, the catalog against the store, the index
against the catalog, the ledger chain, and a ledger entry for every stored version.

Problems make the audit fail. What an interrupted ingest or purge left behind (blobs nobody references, a
version not yet indexed, a purge not finished) is reported apart as `pending`: it is not damage, and the
rerun of the same command completes it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from archive_store import ledger
from archive_store.backup import blob_label, restored_orphans
from archive_store.catalog import check_store, head_problems
from archive_store.durable import sha256_file
from archive_store.errors import IndexDamaged
from archive_store.home import ArchiveHome
from pipeline.records.retention import purge_leftovers
from pipeline.search.index import indexed_case_ids


@dataclass
class AuditReport:
    problems: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    cases: int = 0
    blobs_checked: int = 0
    ledger_entries: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_archive(home: ArchiveHome) -> AuditReport:
    report = AuditReport()
    with home.catalog(check_head=False) as catalog:
        report.problems += head_problems(catalog.conn, home.path)
        store = check_store(catalog, home.blobs())
        report.problems += store.problems
        report.blobs_checked = store.blobs_checked
        staged = _staged_shas(home)
        pending = [sha for sha in store.unreferenced if sha in staged]
        if pending:
            report.pending.append(f"{len(pending)} 个文件属于中断的入库（暂存区中尚未入库的案卷；"
                                  "重新运行 yuetan ingest 会引用它们）")
        restored = restored_orphans(ledger.entries(catalog.conn))
        for sha in store.unreferenced:
            if sha in staged:
                continue
            label = blob_label(home.blobs(), sha)
            label = f"（{label}）" if label else ""
            if sha in restored:
                report.pending.append(f"存储中的文件 {sha}{label} 在从备份恢复时已不为目录所知（台账第 {restored[sha]} 条"
                                      "记下）：重新入库其案件可补回目录")
            else:
                report.problems.append(f"存储中的文件 {sha}{label} 不为目录所知：目录数据库可能丢失了它的案件"
                                       "（被换成旧备份或被截断），或有人把文件放进了存储")
        report.problems += ledger.verify_chain(catalog.conn)
        entries = ledger.entries(catalog.conn)
        report.ledger_entries = len(entries)
        report.problems += _unledgered_versions(catalog, entries)
        current = catalog.all_cases(status="current")
        report.cases = len(current)
        _check_index(home, current, report)
    try:
        report.pending += purge_leftovers(home)
    except IndexDamaged:
        pass            # already a problem of its own (_check_index)
    report.pending += _staging_leftovers(home)
    report.pending += _numbers_not_archived(home)
    return report


def verify_ledger(home: ArchiveHome) -> tuple[int, list[str]]:
    """(entries, problems): the hash chain, and the catalog against the ledger head mirrored beside it."""
    with home.catalog(check_head=False) as catalog:
        problems = head_problems(catalog.conn, home.path) + ledger.verify_chain(catalog.conn)
        return len(ledger.entries(catalog.conn)), problems


def _staged_shas(home: ArchiveHome) -> set[str]:
    """The sha256 of every file in a staged build: what an interrupted ingest may have put into the store."""
    if not home.staging_dir.is_dir():
        return set()
    return {sha256_file(p) for p in home.staging_dir.rglob("*") if p.is_file() and not p.is_symlink()}


def _numbers_not_archived(home: ArchiveHome) -> list[str]:
    """Numbers the register allocated to a case no archived dossier carries yet: a gap in the archive's numbering,
    explained (the documents were made but the case is still open, or its ingest failed and why)."""
    with home.catalog(check_head=False) as catalog:
        archived = {r.case_id for r in catalog.all_cases()} | {t.case_id for t in catalog.tombstones()}
    with home.numbers(check_head=False) as registry:
        allocations = registry.allocations()
    return [f"文号 {a['notice_number']} 已分配给案件 {a['case_id'] or '（未指定）'}，尚无入库的案卷使用它："
            + (a["note"] or "文书已生成，案件尚未入库")
            for a in allocations if a["case_id"] not in archived]


def _staging_leftovers(home: ArchiveHome) -> list[str]:
    if not home.staging_dir.is_dir():
        return []
    staged = [p for p in home.staging_dir.iterdir() if not p.name.endswith(".partial")]
    partial = [p for p in home.staging_dir.iterdir() if p.name.endswith(".partial")]
    notes = []
    if staged:
        notes.append(f"暂存区有 {len(staged)} 份已生成但尚未入库的案卷（中断的入库留下的；重新运行 yuetan ingest 会直接使用）")
    if partial:
        notes.append(f"暂存区有 {len(partial)} 份未生成完的案卷（被中断的生成；重新入库同一案件时清除）")
    return notes


def _unledgered_versions(catalog, entries) -> list[str]:
    """Every stored version must have the ingest (or supersede) entry that names its dossier."""
    recorded = {(e.case_id, e.details.get("version"), e.details.get("dossier_sha256"))
                for e in entries if e.action in ("ingest", "supersede")}
    return [f"案件 {r.case_id} 第 {r.version} 版（{r.notice_number}）在台账中没有入库记录"
            for r in catalog.all_cases() if (r.case_id, r.version, r.dossier_sha256) not in recorded]


def _check_index(home: ArchiveHome, current, report: AuditReport) -> None:
    try:
        indexed = indexed_case_ids(home.index_dir)
    except IndexDamaged as exc:
        report.problems.append(exc.message)
        return
    wanted = {r.case_id: r for r in current}
    for case_id, record in sorted(wanted.items()):
        label = f"案件 {case_id}（{record.notice_number}）"
        if case_id not in indexed:
            if record.indexed_at is None:
                report.pending.append(f"{label}已入库但尚未编入检索索引（重新运行 yuetan ingest 或 yuetan reindex 补齐）")
            else:
                report.problems.append(f"{label}不在检索索引中（运行 yuetan reindex 重建索引）")
        elif indexed[case_id] != record.manifest_sha256:
            report.problems.append(f"{label}在检索索引中的清单摘要与目录不符：索引不是现行版本（运行 yuetan reindex）")
    purged = {t.case_id for t in _tombstones(home)}
    for case_id in sorted(set(indexed) - set(wanted) - purged):
        report.problems.append(f"检索索引中有目录里没有现行版本的案件 {case_id}（运行 yuetan reindex 重建索引）")


def _tombstones(home: ArchiveHome):
    with home.catalog(check_head=False) as catalog:
        return catalog.tombstones()
