"""Approvals are rows, and the core keeps their rules whatever face asks: the drafter of a destruction plan never
approves it, two 监销人 other than the approver confirm before it runs, and an export reaches only the inspector
it was granted to, after an approver who did not prepare it agreed, until the granted date."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from pipeline import api
from pipeline.api.authority import PermissionRefused

from .stored_cases import new_home, store_case

pytestmark = pytest.mark.catalog     # runs on PostgreSQL too (the per-subject advisory lock, the new tables)


def person(name: str, role: str) -> api.Actor:
    return api.Actor(name=name, role=api.Role(role))


DRAFTER, APPROVER = person("王档案", "archivist"), person("张局长", "approver")
WITNESS_1, WITNESS_2 = person("刘监销", "archivist"), person("陈监销", "approver")


def test_a_destruction_plan_is_approved_by_another_and_witnessed_by_two(tmp_path):
    home = new_home(tmp_path / "home")
    store_case(home, "OLD-1", date(2015, 3, 1))
    store_case(home, "OLD-2", date(2016, 5, 1))
    store_case(home, "NEW-1", date(2025, 5, 1))
    with pytest.raises(PermissionRefused, match="无权编制销毁清册"):
        api.approvals.draft_plan(home, actor=person("读者", "reader"))
    plan = api.approvals.draft_plan(home, actor=DRAFTER)
    assert plan.state == "drafted" and plan.cases == 2 and plan.created_by == "王档案"
    assert api.approvals.plan_file(home, plan.plan_id, "销毁清册.pdf", actor=DRAFTER).stat().st_size > 0

    with pytest.raises(PermissionRefused, match="不能审批自己编制的清册"):
        api.approvals.review_plan(home, plan.plan_id, actor=person("王档案", "approver"), approve=True, reason="同意")
    with pytest.raises(PermissionRefused, match="无权批准销毁"):
        api.approvals.review_plan(home, plan.plan_id, actor=WITNESS_1, approve=True, reason="同意")
    with pytest.raises(api.ArchiveConflict, match="尚未批准"):
        api.approvals.execute_plan(home, plan.plan_id, actor=DRAFTER)
    approved = api.approvals.review_plan(home, plan.plan_id, actor=APPROVER, approve=True, reason="经鉴定，同意销毁")
    assert approved.state == "approved" and approved.approver == "张局长"
    with pytest.raises(api.ArchiveConflict, match="不能再审批"):
        api.approvals.review_plan(home, plan.plan_id, actor=person("赵局长", "approver"), approve=False, reason="x")

    with pytest.raises(PermissionRefused, match="不能同时担任监销人"):
        api.approvals.witness_plan(home, plan.plan_id, actor=person("张局长", "approver"))
    api.approvals.witness_plan(home, plan.plan_id, actor=WITNESS_1)
    with pytest.raises(api.ArchiveConflict, match="须由另一人确认"):
        api.approvals.witness_plan(home, plan.plan_id, actor=WITNESS_1)
    with pytest.raises(api.ArchiveConflict, match="监销人确认不足 2 人"):
        api.approvals.execute_plan(home, plan.plan_id, actor=DRAFTER)
    witnessed = api.approvals.witness_plan(home, plan.plan_id, actor=WITNESS_2)
    assert witnessed.state == "witnessed" and witnessed.witnesses == ["刘监销", "陈监销"]

    done = api.approvals.execute_plan(home, plan.plan_id, actor=DRAFTER)
    assert done.approved_by == "张局长" and {c.status for c in done.cases} == {"purged"}
    assert api.approvals.plan_state(home, plan.plan_id, actor=DRAFTER).state == "executed"
    assert api.show(home, "OLD-1", actor=DRAFTER).status == "purged"
    assert api.show(home, "NEW-1", actor=DRAFTER).status == "current"
    auditor = person("审计", "auditor")
    trail = [(e.action, e.actor, e.role) for e in api.ledger_list(home, actor=auditor).entries
             if e.action in ("purge_plan", "plan_review", "plan_witness", "purge")]
    assert trail[:4] == [("purge_plan", "王档案", "archivist"), ("plan_review", "张局长", "approver"),
                         ("plan_witness", "刘监销", "archivist"), ("plan_witness", "陈监销", "approver")]
    assert {t for t in trail[4:]} == {("purge", "王档案", "archivist")}
    assert api.ledger_verify(home, actor=auditor).ok


def test_the_command_line_cannot_name_the_drafter_as_approver(tmp_path):
    home = new_home(tmp_path / "home")
    store_case(home, "OLD-1", date(2015, 3, 1))
    plan = api.purge_plan(home, tmp_path / "plan", actor=person("王档案", "console"))
    with pytest.raises(PermissionRefused, match="不能又是它的批准人"):
        api.purge_execute(home, tmp_path / "plan" / "plan.json", approved_by="王档案",
                          actor=person("王档案", "console"))
    assert plan.plan_id and api.show(home, "OLD-1", actor=DRAFTER).status == "current"


def test_an_export_reaches_only_its_inspector_after_approval_until_the_date(tmp_path):
    home = new_home(tmp_path / "home")
    store_case(home, "EXP-CASE-1", date(2025, 3, 1))
    inspector, other = person("检查组", "inspector"), person("另一检查组", "inspector")
    until = date.today() + timedelta(days=30)
    prepared = api.approvals.prepare_export(home, api.ExportFilters(kind="institution"), actor=DRAFTER,
                                            grantee="检查组", until=until)
    assert prepared.state == "awaiting" and prepared.cases == 1
    with pytest.raises(PermissionRefused, match="尚未批准|待审批"):
        api.approvals.export_file(home, prepared.export_id, actor=inspector)
    with pytest.raises(PermissionRefused, match="不能审批自己准备的导出"):
        api.approvals.review_export(home, prepared.export_id, actor=person("王档案", "approver"), approve=True,
                                    reason="同意")
    api.approvals.review_export(home, prepared.export_id, actor=APPROVER, approve=True, reason="同意提供检查组")
    path = api.approvals.export_file(home, prepared.export_id, actor=inspector)
    assert path.is_file() and api.export_verify(path, home=home).valid
    with pytest.raises(PermissionRefused, match="未授权给"):
        api.approvals.export_file(home, prepared.export_id, actor=other)
    with pytest.raises(PermissionRefused, match="无权接收导出"):
        api.approvals.export_file(home, prepared.export_id, actor=person("读者", "reader"))
    from pipeline.records.approvals import granted_export_file
    with pytest.raises(PermissionRefused, match="过期"):
        granted_export_file(home, prepared.export_id, actor=inspector, today=until + timedelta(days=1))
