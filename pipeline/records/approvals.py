"""Approvals as data: a destruction plan drafted by one archivist is reviewed by an approver who did not draft it,
witnessed by two 监销人 other than the approver, and only then executed; an export prepared for an inspector
account is reviewed by an approver who did not prepare it, and the inspector may fetch it until the granted date.

Each decision is a row of `approvals` (subject, requester, reviewer and role, status, reason, time) written in the
same transaction as its ledger entry, so any face (the web application, the command line) obeys the same rules.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from sqlalchemy import insert, select

from archive_store import clock, ledger
from archive_store.actors import Actor
from archive_store.errors import ArchiveConflict, InvalidArgument
from archive_store.home import ArchiveHome
from archive_store.schema import approvals as APPROVALS
from archive_store.schema import kept_exports as KEPT_EXPORTS
from archive_store.schema import ledger as LEDGER
from archive_store.text import require_plain
from pipeline.records.authority import PermissionRefused, require
from pipeline.records.export import ExportFilters, export_bag
from pipeline.records.retention import (
    PLAN_FILE,
    PLANS_DIR,
    execute_plan,
    plan_destruction,
)

WITNESSES_NEEDED = 2
EXPORTS_DIR = "exports"
DRAFTS_DIR = "plans-drafted"


@dataclass
class Decision:
    step: str
    status: str
    reviewer: str
    reviewer_role: str
    reason: str
    at: str
    ledger_seq: int


@dataclass
class PlanState:
    """A destruction plan and where it stands: drafted → approved (or rejected) → witnessed twice → executed."""

    plan_id: str
    created_by: str
    created_at: str
    as_of: str
    cases: int
    executed_at: str | None
    state: str                          # drafted, rejected, approved, witnessed, executed
    approver: str | None = None
    witnesses: list[str] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    plan: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ExportState:
    export_id: str
    cases: int
    filters: dict
    created_by: str
    created_at: str
    grantee: str
    until: str
    zip_sha256: str
    state: str                          # awaiting, approved, rejected, expired
    approver: str | None = None
    decisions: list[Decision] = field(default_factory=list)
    case_ids: list[str] = field(default_factory=list)    # the cases in the bag, from the export's ledger entry

    def as_dict(self) -> dict:
        return asdict(self)


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _reason(reason: str | None, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidArgument(f"请写明{what}的理由或意见")
    return require_plain(reason[:500], f"{what}的理由或意见", multiline=True)


def _decisions(conn, subject: str, subject_id: str) -> list[Decision]:
    """The decisions on a subject, in order; `conn` is a catalog's read connection or an open transaction's."""
    rows = conn.execute(select(APPROVALS.c.step, APPROVALS.c.status, APPROVALS.c.reviewer, APPROVALS.c.reviewer_role,
                               APPROVALS.c.reason, APPROVALS.c.at, APPROVALS.c.ledger_seq)
                        .where(APPROVALS.c.subject == subject, APPROVALS.c.subject_id == subject_id)
                        .order_by(APPROVALS.c.id))
    return [Decision(*row) for row in rows]


def _record(tx, *, subject: str, subject_id: str, step: str, requester: str, actor: Actor, status: str,
            reason: str, action: str, details: dict) -> Decision:
    entry = ledger.append(tx, action=action, actor=actor, details={subject + "_id": subject_id, "status": status,
                                                                   "reason": reason, **details})
    at = _now()
    tx.conn.execute(insert(APPROVALS).values(subject=subject, subject_id=subject_id, step=step, requester=requester,
                                             reviewer=actor.name, reviewer_role=actor.role.value, status=status,
                                             reason=reason, at=at, ledger_seq=entry.seq))
    return Decision(step, status, actor.name, actor.role.value, reason, at, entry.seq)


def _decide(home: ArchiveHome, *, subject: str, subject_id: str, seen: list[Decision], changed: str,
            **decision) -> None:
    """Record a decision if none was made since `seen` was read: the subject's lock (the write lock on SQLite,
    an advisory lock on PostgreSQL) makes two people deciding at once, on any node, take turns."""
    with home.catalog() as catalog, catalog.transaction() as tx:
        catalog.lock_approvals(tx, subject, subject_id)
        if _decisions(tx.conn, subject, subject_id) != seen:
            raise ArchiveConflict(changed)
        _record(tx, subject=subject, subject_id=subject_id, **decision)


# --- destruction plans --------------------------------------------------------------------------------------

def draft_plan(home: ArchiveHome, *, actor: Actor, as_of: date | None = None) -> dict:
    """The 销毁清册 of the cases due and not held, kept in the archive (plans-drafted/<plan_id>/) for review."""
    require(actor, "draft_plan")
    drafts = home.path / DRAFTS_DIR
    drafts.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".draft.", dir=drafts))
    try:
        plan = plan_destruction(home, work / "plan", actor=actor, as_of=as_of, in_archive=True)
        if plan.get("plan_id"):
            (work / "plan").rename(drafts / plan["plan_id"])
        return plan
    finally:
        import shutil
        shutil.rmtree(work, ignore_errors=True)


def plan_folder(home: ArchiveHome, plan_id: str) -> Path:
    """Where the plan's files are: kept for ever once executed, else as drafted."""
    _check_id(plan_id)
    kept = home.path / PLANS_DIR / plan_id
    return kept if (kept / PLAN_FILE).is_file() else home.path / DRAFTS_DIR / plan_id


def _check_id(plan_id: str) -> str:
    if not plan_id or not all(c.isalnum() or c in "-_" for c in plan_id):
        raise InvalidArgument(f"销毁计划编号“{plan_id}”无效")
    return plan_id


def plan_state(home: ArchiveHome, plan_id: str) -> PlanState:
    _check_id(plan_id)
    with home.catalog() as catalog:
        row = catalog.plan(plan_id)
        if row is None:
            raise InvalidArgument(f"档案库中没有销毁计划 {plan_id}")
        with catalog.reading() as conn:
            decisions = _decisions(conn, "destruction_plan", plan_id)
    plan = json.loads(row.plan_json)
    reviews = [d for d in decisions if d.step == "review"]
    approver = next((d.reviewer for d in reviews if d.status == "approved"), None)
    witnesses = [d.reviewer for d in decisions if d.step == "witness"]
    if row.executed_at is not None:
        state = "executed"
    elif reviews and reviews[-1].status == "rejected":
        state = "rejected"
    elif approver is None:
        state = "drafted"
    else:
        state = "witnessed" if len(witnesses) >= WITNESSES_NEEDED else "approved"
    return PlanState(plan_id=plan_id, created_by=row.created_by, created_at=row.created_at.isoformat(),
                     as_of=row.as_of.isoformat(), cases=len(plan.get("cases", [])),
                     executed_at=row.executed_at.isoformat() if row.executed_at else None, state=state,
                     approver=approver or row.approved_by, witnesses=witnesses, decisions=decisions, plan=plan)


def plans(home: ArchiveHome) -> list[PlanState]:
    with home.catalog() as catalog:
        ids = [p.plan_id for p in catalog.plans()]
    return [plan_state(home, i) for i in reversed(ids)]


def review_plan(home: ArchiveHome, plan_id: str, *, actor: Actor, approve: bool, reason: str) -> PlanState:
    """An approver's decision. The drafter of a plan never approves it."""
    require(actor, "approve_plan")
    reason = _reason(reason, "审批")
    state = plan_state(home, plan_id)
    if state.created_by == actor.name:
        raise PermissionRefused(f"{actor.name} 编制了销毁清册 {plan_id}，不能审批自己编制的清册")
    if state.state not in ("drafted",):
        raise ArchiveConflict(f"销毁清册 {plan_id} 当前为“{STATE_LABELS[state.state]}”，不能再审批")
    _decide(home, subject="destruction_plan", subject_id=plan_id, seen=state.decisions,
            changed=f"销毁清册 {plan_id} 刚被他人审批，请刷新后再看", step="review", requester=state.created_by,
            actor=actor, status="approved" if approve else "rejected", reason=reason, action="plan_review",
            details={"plan_sha256": state.plan.get("plan_sha256")})
    return plan_state(home, plan_id)


def witness_plan(home: ArchiveHome, plan_id: str, *, actor: Actor, reason: str = "到场监销") -> PlanState:
    """A 监销人 confirms being present: two different people, neither the approver."""
    require(actor, "witness_destruction")
    state = plan_state(home, plan_id)
    if state.state != "approved":
        raise ArchiveConflict(f"销毁清册 {plan_id} 当前为“{STATE_LABELS[state.state]}”：只有已批准、尚未执行的清册需要监销")
    if actor.name == state.approver:
        raise PermissionRefused(f"{actor.name} 是销毁清册 {plan_id} 的批准人，不能同时担任监销人")
    if actor.name in state.witnesses:
        raise ArchiveConflict(f"{actor.name} 已确认监销销毁清册 {plan_id}，须由另一人确认")
    _decide(home, subject="destruction_plan", subject_id=plan_id, seen=state.decisions,
            changed=f"销毁清册 {plan_id} 刚有他人确认监销，请刷新后再看", step="witness", requester=state.created_by,
            actor=actor, status="witnessed", reason=_reason(reason, "监销"), action="plan_witness",
            details={"witness": len(state.witnesses) + 1})
    return plan_state(home, plan_id)


def execute_reviewed_plan(home: ArchiveHome, plan_id: str, *, actor: Actor, today: date | None = None):
    """Destroy what an approved, twice-witnessed plan lists (retention.execute_plan does the work)."""
    require(actor, "execute_plan")
    state = plan_state(home, plan_id)
    if state.state != "witnessed":
        need = {"drafted": "尚未批准", "rejected": "已被驳回", "approved": f"监销人确认不足 {WITNESSES_NEEDED} 人",
                "executed": "已经执行"}[state.state]
        raise ArchiveConflict(f"销毁清册 {plan_id} {need}，不能执行")
    kept = plan_folder(home, plan_id) / PLAN_FILE
    if not kept.is_file():
        raise InvalidArgument(f"销毁计划 {plan_id} 的清册写在档案库之外（purge plan -o），档案库中没有它的 plan.json："
                              f"请用 yuetan purge execute 该文件夹/plan.json --approved-by {state.approver} 执行")
    return execute_plan(home, kept, approved_by=state.approver, actor=actor, today=today)


STATE_LABELS = {"drafted": "待审批", "rejected": "已驳回", "approved": "已批准，待监销", "witnessed": "已监销，待执行",
                "executed": "已执行", "awaiting": "待审批", "expired": "授权已过期"}


# --- exports for inspectors ---------------------------------------------------------------------------------

def prepare_export(home: ArchiveHome, filters: ExportFilters, *, actor: Actor, grantee: str,
                   until: date) -> ExportState:
    """An export kept in the archive for one inspector account, to be fetched until `until` once approved."""
    require(actor, "prepare_export")
    grantee = (grantee or "").strip()
    if not grantee:
        raise InvalidArgument("请写明接收导出的检查人员账户")
    require_plain(grantee, "接收导出的检查人员账户")
    if until < clock.today():
        raise InvalidArgument(f"授权截止日期 {until} 已过")
    folder = home.path / EXPORTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S%f")
    export_id = f"EXP-{stamp}"
    result = export_bag(home, filters, folder / f"{export_id}.zip", actor=actor, in_archive=True)
    with home.catalog() as catalog, catalog.transaction() as tx:
        tx.conn.execute(insert(KEPT_EXPORTS).values(
            export_id=export_id, file=f"{EXPORTS_DIR}/{export_id}.zip", zip_sha256=result.zip_sha256,
            cases=len(result.case_ids), filters=json.dumps(filters.as_dict(), ensure_ascii=False, default=str),
            created_by=actor.name, created_at=_now(), grantee=grantee, until=until.isoformat(),
            ledger_seq=result.ledger_seq))
        ledger.append(tx, action="export_grant", actor=actor,
                      details={"export_id": export_id, "grantee": grantee, "until": until.isoformat(),
                               "zip_sha256": result.zip_sha256, "status": "requested"})
    return export_state(home, export_id)


def export_state(home: ArchiveHome, export_id: str, *, today: date | None = None) -> ExportState:
    _check_id(export_id)
    with home.catalog() as catalog, catalog.reading() as conn:
        row = conn.execute(select(KEPT_EXPORTS.c.export_id, KEPT_EXPORTS.c.cases, KEPT_EXPORTS.c.filters,
                                  KEPT_EXPORTS.c.created_by, KEPT_EXPORTS.c.created_at, KEPT_EXPORTS.c.grantee,
                                  KEPT_EXPORTS.c.until, KEPT_EXPORTS.c.zip_sha256, KEPT_EXPORTS.c.ledger_seq)
                           .where(KEPT_EXPORTS.c.export_id == export_id)).first()
        if row is None:
            raise InvalidArgument(f"档案库中没有导出 {export_id}")
        decisions = _decisions(conn, "export", export_id)
        written = conn.execute(select(LEDGER.c.details).where(LEDGER.c.seq == row[8])).first()
    export_id, cases, filters, created_by, created_at, grantee, until, zip_sha, _ = row
    case_ids = list(json.loads(written[0]).get("case_ids", [])) if written else []
    review = decisions[-1] if decisions else None
    state = "awaiting" if review is None else review.status
    if state == "approved" and date.fromisoformat(until) < (today or clock.today()):
        state = "expired"
    return ExportState(export_id=export_id, cases=cases, filters=json.loads(filters), created_by=created_by,
                       created_at=created_at, grantee=grantee, until=until, zip_sha256=zip_sha, state=state,
                       approver=review.reviewer if review and review.status == "approved" else None,
                       decisions=decisions, case_ids=case_ids)


def exports(home: ArchiveHome, *, grantee: str | None = None) -> list[ExportState]:
    query = select(KEPT_EXPORTS.c.export_id).order_by(KEPT_EXPORTS.c.created_at.desc())
    if grantee:
        query = query.where(KEPT_EXPORTS.c.grantee == grantee)
    with home.catalog() as catalog, catalog.reading() as conn:
        ids = list(conn.execute(query).scalars())
    return [export_state(home, i) for i in ids]


def review_export(home: ArchiveHome, export_id: str, *, actor: Actor, approve: bool, reason: str) -> ExportState:
    """An approver's decision on an export; whoever prepared it never approves it."""
    require(actor, "approve_export")
    reason = _reason(reason, "审批")
    state = export_state(home, export_id)
    if state.created_by == actor.name:
        raise PermissionRefused(f"{actor.name} 准备了导出 {export_id}，不能审批自己准备的导出")
    if state.state != "awaiting":
        raise ArchiveConflict(f"导出 {export_id} 当前为“{STATE_LABELS.get(state.state, state.state)}”，不能再审批")
    _decide(home, subject="export", subject_id=export_id, seen=state.decisions,
            changed=f"导出 {export_id} 刚被他人审批，请刷新后再看", step="review", requester=state.created_by,
            actor=actor, status="approved" if approve else "rejected", reason=reason, action="export_review",
            details={"grantee": state.grantee, "until": state.until})
    return export_state(home, export_id)


def granted_export_file(home: ArchiveHome, export_id: str, *, actor: Actor, today: date | None = None) -> Path:
    """The export's zip, for the inspector it was granted to, while the grant runs (or for the console)."""
    state = export_state(home, export_id, today=today)
    if actor.role.value != "console":
        require(actor, "receive_export")
        if state.grantee != actor.name:
            raise PermissionRefused(f"导出 {export_id} 未授权给 {actor.name}")
        if state.state != "approved":
            raise PermissionRefused(f"导出 {export_id} {STATE_LABELS.get(state.state, '尚未批准')}，不能下载")
    path = home.path / EXPORTS_DIR / f"{state.export_id}.zip"
    if not path.is_file():
        raise InvalidArgument(f"导出 {export_id} 的文件不在档案库中")
    return path
