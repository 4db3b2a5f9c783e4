"""Approvals are rows, and the core keeps their rules whatever face asks: the drafter of a destruction plan never
approves it, two 监销人 other than the approver confirm before it runs, and an export reaches only the inspector
it was granted to, after an approver who did not prepare it agreed, until the granted date."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from pipeline import api
from pipeline.api.authority import PermissionRefused

from .stored_cases import store_case

pytestmark = pytest.mark.catalog     # runs on PostgreSQL too (the per-subject advisory lock, the new tables)
YUETAN = Path(sys.executable).parent / "yuetan"


def person(name: str, role: str) -> api.Actor:
    return api.Actor(name=name, role=api.Role(role))


DRAFTER, APPROVER = person("王档案", "archivist"), person("张局长", "approver")
WITNESS_1, WITNESS_2 = person("刘监销", "archivist"), person("陈监销", "approver")


def test_a_destruction_plan_is_approved_by_another_and_witnessed_by_two(new_home, tmp_path):
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


def test_the_command_line_cannot_name_the_drafter_as_approver(new_home, tmp_path):
    home = new_home(tmp_path / "home")
    store_case(home, "OLD-1", date(2015, 3, 1))
    plan = api.purge_plan(home, tmp_path / "plan", actor=person("王档案", "console"))
    with pytest.raises(PermissionRefused, match="不能又是它的批准人"):
        api.purge_execute(home, tmp_path / "plan" / "plan.json", approved_by="王档案",
                          actor=person("王档案", "console"))
    assert plan.plan_id and api.show(home, "OLD-1", actor=DRAFTER).status == "current"


def yuetan(home, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(YUETAN), "--home", str(home.path), *args], capture_output=True, text=True, timeout=300)


def test_the_command_line_walks_a_kept_plan_through_the_same_approvals(new_home, tmp_path):
    """purge plan (kept in the archive), review, witness twice, execute by its id: the core's rules refuse the
    drafter as approver, the approver as witness and an early execution, each with its exit status; the ledger
    has every step under the names given, in the console role."""
    home = new_home(tmp_path / "home")
    store_case(home, "OLD-1", date(2015, 3, 1))
    store_case(home, "NEW-1", date(2025, 5, 1))
    drafted = yuetan(home, "purge", "plan", "--actor", "王档案", "--json")
    assert drafted.returncode == 0, drafted.stderr
    plan_id = json.loads(drafted.stdout)["plan_id"]
    listed = yuetan(home, "purge", "list")
    assert listed.returncode == 0 and plan_id in listed.stdout and "待审批" in listed.stdout

    refused = yuetan(home, "purge", "review", plan_id, "--approve", "--reason", "同意", "--actor", "王档案")
    assert refused.returncode == 2 and "不能审批自己编制的清册" in refused.stderr
    assert yuetan(home, "purge", "review", plan_id, "--reason", "同意", "--actor", "张局长").returncode == 2
    early = yuetan(home, "purge", "execute", plan_id, "--actor", "王档案")
    assert early.returncode != 0 and "尚未批准" in early.stderr
    approved = yuetan(home, "purge", "review", plan_id, "--approve", "--reason", "经鉴定同意销毁", "--actor", "张局长")
    assert approved.returncode == 0 and "已批准，待监销" in approved.stdout
    refused = yuetan(home, "purge", "witness", plan_id, "--actor", "张局长")
    assert refused.returncode == 2 and "不能同时担任监销人" in refused.stderr
    assert yuetan(home, "purge", "witness", plan_id, "--actor", "刘监销").returncode == 0
    early = yuetan(home, "purge", "execute", plan_id, "--actor", "王档案")
    assert early.returncode != 0 and "监销人确认不足 2 人" in early.stderr
    assert api.show(home, "OLD-1", actor=DRAFTER).status == "current"
    assert yuetan(home, "purge", "witness", plan_id, "--actor", "陈监销").returncode == 0

    done = yuetan(home, "purge", "execute", plan_id, "--actor", "王档案", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["approved_by"] == "张局长"
    assert api.show(home, "OLD-1", actor=DRAFTER).status == "purged"
    assert api.show(home, "NEW-1", actor=DRAFTER).status == "current"
    states = [json.loads(line) for line in yuetan(home, "purge", "list", "--json").stdout.splitlines()]
    assert [(s["plan_id"], s["state"], s["witnesses"]) for s in states] == [(plan_id, "executed", ["刘监销", "陈监销"])]
    auditor = person("审计", "auditor")
    trail = [(e.action, e.actor, e.role) for e in api.ledger_list(home, actor=auditor).entries
             if e.action in ("purge_plan", "plan_review", "plan_witness", "purge")]
    assert trail == [("purge_plan", "王档案", "console"), ("plan_review", "张局长", "console"),
                     ("plan_witness", "刘监销", "console"), ("plan_witness", "陈监销", "console"),
                     ("purge", "王档案", "console")]


def test_a_plan_written_outside_the_archive_is_executed_from_its_file(new_home, tmp_path):
    """A plan drafted with -o has no copy in the archive: executing it by id says to give its plan.json."""
    home = new_home(tmp_path / "home")
    store_case(home, "OLD-1", date(2015, 3, 1))
    plan = api.purge_plan(home, tmp_path / "plan", actor=person("王档案", "console"))
    api.approvals.review_plan(home, plan.plan_id, actor=APPROVER, approve=True, reason="同意")
    for witness in (WITNESS_1, WITNESS_2):
        api.approvals.witness_plan(home, plan.plan_id, actor=witness)
    with pytest.raises(api.InvalidArgument, match="写在档案库之外.*--approved-by 张局长"):
        api.approvals.execute_plan(home, plan.plan_id, actor=DRAFTER)
    assert api.show(home, "OLD-1", actor=DRAFTER).status == "current"


def test_an_export_reaches_only_its_inspector_after_approval_until_the_date(new_home, tmp_path):
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
