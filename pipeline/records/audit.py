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
from pipeline.records.retention import lock_until, purge_leftovers
from pipeline.search.follow import position as follow_position
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
    blobs = home.blobs()
    with home.catalog(check_head=False) as catalog:
        report.problems += head_problems(catalog, home.path)
        store = check_store(catalog, blobs)
        report.problems += store.problems
        if hasattr(blobs, "objects"):
            problems, pending = bucket_lock_problems(catalog, blobs, home.settings.retention_years)
            report.problems += problems
            report.pending += pending
        report.blobs_checked = store.blobs_checked
        staged = _staged_shas(home)
        pending = [sha for sha in store.unreferenced if sha in staged]
        if pending:
            report.pending.append(f"{len(pending)} 个文件属于中断的入库（暂存区中尚未入库的案卷；"
                                  "重新运行 yuetan ingest 会引用它们）")
        restored = restored_orphans(ledger.entries(catalog))
        for sha in store.unreferenced:
            if sha in staged:
                continue
            label = blob_label(blobs, sha)
            label = f"（{label}）" if label else ""
            if sha in restored:
                report.pending.append(f"存储中的文件 {sha}{label} 在从备份恢复时已不为目录所知（台账第 {restored[sha]} 条"
                                      "记下）：重新入库其案件可补回目录")
            else:
                report.problems.append(f"存储中的文件 {sha}{label} 不为目录所知：目录数据库可能丢失了它的案件"
                                       "（被换成旧备份或被截断），或有人把文件放进了存储")
        report.problems += ledger.verify_chain(catalog)
        entries = ledger.entries(catalog)
        report.ledger_entries = len(entries)
        report.problems += _unledgered_versions(catalog, entries)
        current = catalog.all_cases(status="current")
        report.cases = len(current)
        _check_index(home, current, report, entries)
    try:
        report.pending += purge_leftovers(home)
    except IndexDamaged:
        pass            # already a problem of its own (_check_index)
    report.pending += _staging_leftovers(home)
    report.pending += _numbers_not_archived(home)
    return report


def bucket_lock_problems(catalog, store, years: int) -> tuple[list[str], list[str]]:
    """The object store against the catalog: every version of every blob locked (COMPLIANCE) at least until its
    cases may be destroyed, a legal hold exactly where a held case needs the blob, one version per blob and
    nothing in the bucket that is not a blob. Returns (problems, pending)."""
    problems: list[str] = []
    pending: list[str] = []
    terms = catalog.retention_terms()
    for stored in store.objects():
        if stored.sha is None:
            problems.append(f"存储桶中有不属于档案库的对象 {stored.key}（{len(stored.versions)} 个版本）")
            continue
        if stored.delete_markers:
            problems.append(f"存储桶中的 {stored.key} 被加了删除标记（有人试图删除它）")
        if len(stored.versions) > 1:
            problems.append(f"存储桶中的 {stored.key} 有 {len(stored.versions)} 个版本：内容被覆盖写入过")
        for version in stored.versions:
            if version.checksum_sha256 is not None and version.checksum_sha256 != stored.sha:
                problems.append(f"存储桶中 {stored.key} 的版本 {version.version_id} 内容摘要与文件名不符（被改动）")
        users = terms.get(stored.sha)
        if not users:
            continue
        wanted = max(lock_until(closed_on, years) for _case, _version, closed_on, _held in users)
        who = "、".join(sorted({f"{case_id} 第 {version} 版" for case_id, version, _c, _h in users}))
        for version in stored.versions:
            if version.lock_mode != "COMPLIANCE" or version.retain_until is None:
                problems.append(f"存储桶中的 {stored.key}（{who}）没有合规锁定（COMPLIANCE）：可被提前删除")
            elif version.retain_until < wanted:
                problems.append(f"存储桶中的 {stored.key}（{who}）锁定至 {version.retain_until:%Y-%m-%d %H:%M} UTC，"
                                f"早于保管期限届满后可销毁之时 {wanted:%Y-%m-%d %H:%M}（北京时间）")
        held = any(h for *_rest, h in users)
        on = any(v.legal_hold for v in stored.versions)
        if held and not all(v.legal_hold for v in stored.versions):
            problems.append(f"存储桶中的 {stored.key}（{who}）属于冻结中的案件，却没有法律保全（legal hold）")
        elif on and not held:
            pending.append(f"存储桶中的 {stored.key}（{who}）仍有法律保全，但目录中已无冻结的案件需要它"
                           "（解除冻结被中断；再次运行 yuetan release 可撤销）")
    return problems, pending


def verify_ledger(home: ArchiveHome) -> tuple[int, list[str]]:
    """(entries, problems): the hash chain, and the catalog against the ledger head mirrored beside it."""
    with home.catalog(check_head=False) as catalog:
        problems = head_problems(catalog, home.path) + ledger.verify_chain(catalog)
        return len(ledger.entries(catalog)), problems


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


def _check_index(home: ArchiveHome, current, report: AuditReport, entries) -> None:
    """This node's index against the catalog. A case stored after the position this node's index has followed
    to (another node's ingest, not yet caught up) is pending, not a problem."""
    try:
        indexed = indexed_case_ids(home.index_dir)
    except IndexDamaged as exc:
        report.problems.append(exc.message)
        return
    wanted = {r.case_id: r for r in current}
    followed = follow_position(home)
    last_change = {e.case_id: e.seq for e in entries if e.case_id and e.action in ("ingest", "supersede", "purge")}
    for case_id, record in sorted(wanted.items()):
        label = f"案件 {case_id}（{record.notice_number}）"
        behind = followed is not None and last_change.get(case_id, 0) > followed
        if behind and indexed.get(case_id) != record.manifest_sha256:
            report.pending.append(f"{label}已入库，本节点的检索索引尚未跟上（yuetan follow 会在几秒内补齐）")
        elif case_id not in indexed:
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
