"""Control characters and bidirectional overrides never get into the archive or onto the screen (issue 17, item 4)."""
from __future__ import annotations

import json
import os
import subprocess
from datetime import date

import pytest

from archive_store import ledger
from archive_store.text import visible

from .stored_cases import store_case
from .test_cli import YUETAN, yuetan


@pytest.mark.parametrize("name, shown", [
    ("江西\u0000检测有限公司", "U+0000"), ("江西\u001b[2J检测", "U+001B"), ("江西\u0001检测", "U+0001"),
    ("江西\u202e司公限有测检", "U+202E"), ("江西检测\n有限公司", "U+000A"), ("江西\u0085检测", "U+0085"),
    ("江西\u2028检测", "U+2028"), ("江西\u2066检测\u2069", "U+2066"),
])
def test_check_refuses_control_and_bidi_characters_naming_the_key(make_case, name, shown):
    folder = make_case(change=lambda d: d["target"].update(name=name))
    result = yuetan("check", "--json", str(folder))
    assert result.returncode == 2, result.stdout
    errors = json.loads(result.stdout)["errors"]
    assert [e["path"] for e in errors] == ["target.name"] and shown in errors[0]["message"]


def test_paragraphs_may_hold_newlines_but_names_and_escapes_may_not(make_case):
    def change(d):
        d["interview"]["proceedings"]["statement"] = "第一段陈述。\n第二段陈述。"
        d["grounds"][0]["facts"][0] += "\n（续）"
    assert yuetan("check", str(make_case(change=change))).returncode == 0
    bad = make_case(change=lambda d: (d["interview"]["proceedings"].update(statement="陈述\u001b[1A已改"),
                                      d["interview"]["host"].update(name="张\t三"),
                                      d.update(remark={"备注\u202e": "x"})))
    errors = json.loads(yuetan("check", "--json", str(bad)).stdout)["errors"]
    assert {e["path"] for e in errors} == {"interview.proceedings.statement", "interview.host.name"}


def test_a_lone_surrogate_escape_is_refused_with_its_key_path(make_case):
    data = json.loads(make_case().joinpath("case.json").read_text(encoding="utf-8"))
    data["target"]["name"] = "\ud800"
    folder = make_case(raw=json.dumps(data, ensure_ascii=True).encode("ascii"))
    result = yuetan("check", "--json", str(folder))
    assert result.returncode == 2
    assert [e["path"] for e in json.loads(result.stdout)["errors"]] == ["target.name"]


def test_command_line_free_text_is_refused_and_the_ledger_is_untouched(new_home, tmp_path):
    home = new_home(tmp_path / "home")
    store_case(home, "GZ-1", date(2025, 3, 1))

    def head():
        with home.catalog() as catalog:
            return ledger.head(catalog).seq
    before = head()
    for args in (["hold", "GZ-1", "--reason", "复议中\n已解除全部冻结"], ["hold", "GZ-1", "--reason", "复议\u202e中"],
                 ["hold", "GZ-1", "--reason", "正常", "--actor", "王\u0001五"],
                 ["reindex", "--actor", "王\u001b]0;x\u0007五"]):
        result = yuetan("--home", str(home.path), *args)
        assert result.returncode == 2 and "含有不允许的字符" in result.stderr, (args, result.stderr)
    invalid_utf8 = subprocess.run([str(YUETAN), "--home", str(home.path), "hold", "GZ-1", "--reason", b"\xff\xfe"],
                                  capture_output=True, env={**os.environ, "LC_ALL": "C.UTF-8"}, timeout=60)
    assert invalid_utf8.returncode == 2 and "不是有效的 UTF-8" in invalid_utf8.stderr.decode("utf-8")
    assert head() == before
    plan = tmp_path / "plan.json"
    plan.write_text("{}", encoding="utf-8")
    approved = yuetan("--home", str(home.path), "purge", "--execute", str(plan), "--approved-by", "张\u202e局长")
    assert approved.returncode == 2 and "批准人" in approved.stderr


def test_output_never_carries_raw_control_characters():
    reference = "JX\u202e710-ZR\u001b[2J\u2028伪造的一行"
    result = yuetan("--home", "/nonexistent-home", "show", reference)
    assert result.returncode == 5 or result.returncode == 2
    text = result.stdout + result.stderr
    assert not any(c in text for c in "\u202e\u001b\u2028")
    human = yuetan("check", f"/no/such/{reference}")
    assert "\\u202e" in human.stdout and "\u202e" not in human.stdout and "\u2028" not in human.stdout
    as_json = yuetan("check", "--json", f"/no/such/{reference}")
    assert "\u202e" not in as_json.stdout
    assert json.loads(as_json.stdout)["errors"][0]["path"] == f"/no/such/{reference}"   # same text, escaped


def test_visible_escapes_what_it_must_and_nothing_else():
    assert visible("赣市监检约〔2025〕3号\n\t第二行") == "赣市监检约〔2025〕3号\n\t第二行"
    assert visible("a\rb\u202ec\x00d\udc80") == "a\\rb\\u202ec\\u0000d\\udc80"


def test_approval_reasons_and_grantees_from_any_face_are_plain_text(new_home, tmp_path):
    """The web face's free text (review reasons, the inspector account) meets the same rule in the core."""
    from pipeline import api

    home = new_home(tmp_path / "home")
    store_case(home, "OLD-1", date(2015, 3, 1))
    drafter = api.Actor(name="王档案", role=api.Role("archivist"))
    approver = api.Actor(name="张局长", role=api.Role("approver"))
    plan = api.approvals.draft_plan(home, actor=drafter)
    for reason in ("同意\u202e销毁", "同意\u001b[2J", "同意\u2028（另一行）"):
        with pytest.raises(api.InvalidArgument, match="含有不允许的字符"):
            api.approvals.review_plan(home, plan.plan_id, actor=approver, approve=True, reason=reason)
    assert api.approvals.plan_state(home, plan.plan_id, actor=drafter).state == "drafted"
    reviewed = api.approvals.review_plan(home, plan.plan_id, actor=approver, approve=True, reason="经鉴定，\n同意销毁")
    assert reviewed.state == "approved"
    with pytest.raises(api.InvalidArgument, match="检查人员账户含有不允许的字符"):
        api.approvals.prepare_export(home, api.ExportFilters(), actor=drafter, grantee="检查\u202e员",
                                     until=date(2099, 1, 1))


def test_export_filters_that_would_reach_bag_info_and_the_ledger_are_plain_text(new_home, tmp_path):
    home = new_home(tmp_path / "home")
    store_case(home, "GZ-1", date(2025, 3, 1))
    for args in (["--organizer", "赣州\u202e市"], ["检验\u001b[2J报告"]):
        result = yuetan("--home", str(home.path), "export", *args, "-o", str(tmp_path / "e.zip"))
        assert result.returncode == 2 and "筛选条件" in result.stderr and "含有不允许的字符" in result.stderr
    assert not (tmp_path / "e.zip").exists()
