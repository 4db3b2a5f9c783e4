"""Destruction plans and inspector exports with their approvals (pipeline.records.approvals), as API models."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from pydantic import Field

from archive_store.actors import Actor
from archive_store.errors import InvalidArgument
from archive_store.home import ArchiveHome
from pipeline.api.keeping import purge_result
from pipeline.api.models import ApiModel, ExportFilters, PurgeResult
from pipeline.records import approvals as records
from pipeline.records.export import ExportFilters as RecordFilters

STATE_LABELS = records.STATE_LABELS
WITNESSES_NEEDED = records.WITNESSES_NEEDED


class Decision(ApiModel):
    step: str                 # review, witness
    status: str               # approved, rejected, witnessed
    reviewer: str
    reviewer_role: str
    reason: str
    at: str
    ledger_seq: int


class PlanState(ApiModel):
    plan_id: str
    created_by: str
    created_at: str
    as_of: str
    cases: int
    executed_at: str | None = None
    state: str                # drafted, rejected, approved, witnessed, executed
    approver: str | None = None
    witnesses: list[str]
    decisions: list[Decision]
    plan: dict[str, Any]


class ExportState(ApiModel):
    export_id: str
    cases: int
    filters: dict[str, Any]
    created_by: str
    created_at: str
    grantee: str
    until: str
    zip_sha256: str
    state: str                # awaiting, approved, rejected, expired
    approver: str | None = None
    decisions: list[Decision]
    case_ids: list[str] = Field(default_factory=list)


def _plan(state) -> PlanState:
    return PlanState(**state.as_dict())


def _export(state) -> ExportState:
    return ExportState(**state.as_dict())


def draft_plan(home: ArchiveHome, *, actor: Actor, as_of: date | None = None) -> PlanState | None:
    """Draft the 销毁清册 of the cases due and not held (kept in the archive); None when nothing is due."""
    plan = records.draft_plan(home, actor=actor, as_of=as_of)
    return _plan(records.plan_state(home, plan["plan_id"])) if plan.get("plan_id") else None


def plans(home: ArchiveHome, *, actor: Actor) -> list[PlanState]:
    return [_plan(p) for p in records.plans(home)]


def plan_state(home: ArchiveHome, plan_id: str, *, actor: Actor) -> PlanState:
    return _plan(records.plan_state(home, plan_id))


def plan_file(home: ArchiveHome, plan_id: str, name: str, *, actor: Actor) -> Path:
    """One of the plan's files (销毁清册.xlsx, 销毁清册.pdf, plan.json), by its known name only."""
    if name not in ("销毁清册.xlsx", "销毁清册.pdf", "plan.json"):
        raise InvalidArgument(f"销毁计划没有名为“{name}”的文件")
    path = records.plan_folder(home, plan_id) / name
    if not path.is_file():
        raise InvalidArgument(f"销毁计划 {plan_id} 的 {name} 不在档案库中")
    return path


def review_plan(home: ArchiveHome, plan_id: str, *, actor: Actor, approve: bool, reason: str) -> PlanState:
    return _plan(records.review_plan(home, plan_id, actor=actor, approve=approve, reason=reason))


def witness_plan(home: ArchiveHome, plan_id: str, *, actor: Actor, reason: str = "到场监销") -> PlanState:
    return _plan(records.witness_plan(home, plan_id, actor=actor, reason=reason))


def execute_plan(home: ArchiveHome, plan_id: str, *, actor: Actor, today: date | None = None) -> PurgeResult:
    report = records.execute_reviewed_plan(home, plan_id, actor=actor, today=today)
    return purge_result(report)


def prepare_export(home: ArchiveHome, filters: ExportFilters, *, actor: Actor, grantee: str,
                   until: date) -> ExportState:
    return _export(records.prepare_export(home, RecordFilters(**filters.model_dump()), actor=actor,
                                          grantee=grantee, until=until))


def exports(home: ArchiveHome, *, actor: Actor, grantee: str | None = None) -> list[ExportState]:
    return [_export(e) for e in records.exports(home, grantee=grantee)]


def review_export(home: ArchiveHome, export_id: str, *, actor: Actor, approve: bool, reason: str) -> ExportState:
    return _export(records.review_export(home, export_id, actor=actor, approve=approve, reason=reason))


def export_file(home: ArchiveHome, export_id: str, *, actor: Actor) -> Path:
    """The zip of an export granted to the actor (an inspector), while the grant runs."""
    return records.granted_export_file(home, export_id, actor=actor)
