"""Each procedure finding of the Measures, true and false, with holiday edges and the calendar's end."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from pipeline.case.contract import Case
from pipeline.case.findings import assess_procedure

from .conftest import load_example


def findings_of(name: str, change: Callable[[dict], object] | None = None) -> dict[str, list]:
    data = load_example(name)
    if change:
        change(data)
    found: dict[str, list] = {}
    for f in assess_procedure(Case.model_validate(data)):
        found.setdefault(f.code, []).append(f)
    return found


def articles(name: str, change=None) -> set[str]:
    return {f.article for fs in findings_of(name, change).values() for f in fs}


def test_refused_to_sign_example():
    found = findings_of("refused-to-sign")
    late = found["notice_served_late"][0]
    assert late.article == "第十三条" and late.evidence["working_days"] == 1
    assert late.evidence["served_on"] == "2025-09-29" and late.evidence["interview_on"] == "2025-10-09"
    assert found["record_signature_refused"][0].article == "第十五条"
    plan = found["plan_late"][0]
    assert plan.article == "第十六条" and plan.evidence["due_on"] == "2025-10-15"
    assert plan.evidence["plan_submitted_on"] == "2025-10-20"


@pytest.mark.parametrize("name", ["institution-onsite", "bureau-video"])
def test_clean_examples_have_no_lead_time_or_plan_findings(name):
    assert not {"第十三条", "第十六条"} & articles(name)


def set_dates(served: str, interview: str):
    def change(d):
        d["notice"]["issued_on"] = served
        d["notice"]["served_on"] = served
        d["interview"]["scheduled_at"] = d["interview"]["held_at"] = f"{interview}T09:30:00+08:00"
    return change


@pytest.mark.parametrize("served, interview, late", [
    ("2025-07-11", "2025-07-16", True),    # Fri → Wed: Mon, Tue only
    ("2025-07-11", "2025-07-17", False),   # Fri → Thu: Mon, Tue, Wed
    ("2025-09-26", "2025-10-09", False),   # the Sunday make-up day 9-28 counts: 9-28, 9-29, 9-30
    ("2025-09-28", "2025-10-09", True),    # served on the make-up Sunday: 9-29, 9-30 only
    ("2025-07-14", "2025-07-17", True),    # Mon → Thu: the day of service is not counted
])
def test_notice_lead_time_working_days(served, interview, late):
    def change(d):
        set_dates(served, interview)(d)
        d["approval"]["approved_on"] = "2025-07-01"
    assert ("notice_served_late" in findings_of("institution-onsite", change)) is late


def test_notice_lead_time_beyond_calendar_cannot_be_verified():
    def change(d):
        set_dates("2026-12-28", "2027-01-05")(d)
        d["approval"]["approved_on"] = "2026-12-20"
        d["rectification"]["plan_submitted_on"] = "2027-01-08"
        d["rectification"]["report_submitted_on"] = "2027-02-01"
        d["rectification"]["report_reviewed_on"] = "2027-01-30"
        d["rectification"]["followups"][0]["on"] = "2027-02-10"
        d["closed_on"] = "2027-02-20"
    found = findings_of("institution-onsite", change)
    assert "notice_served_late" not in found
    unverifiable = found["notice_lead_unverifiable"][0]
    assert unverifiable.article == "第十三条" and "2027" in unverifiable.message and "无法核验" in unverifiable.message
    assert found["plan_due_unverifiable"][0].evidence["uncovered_date"].startswith("2027")


def test_organizer_staff_too_few():
    def one(d):
        d["interview"]["organizer_staff"] = d["interview"]["organizer_staff"][:1]
    assert findings_of("bureau-video", one)["organizer_staff_too_few"][0].article == "第十二条"

    def same_person_twice(d):
        d["interview"]["organizer_staff"] = [d["interview"]["host"], d["interview"]["host"]]
    assert "organizer_staff_too_few" in findings_of("bureau-video", same_person_twice)
    assert "organizer_staff_too_few" not in findings_of("bureau-video")


def test_recused_person_among_staff_host_or_recorder():
    def recorder_recused(d):
        d["interview"]["recusals"] = [{"name": "曾敏", "reason": "与约谈对象存在利害关系"}]
    f = findings_of("refused-to-sign", recorder_recused)["recused_person_participated"][0]
    assert f.article == "第十二条" and "记录人" in f.evidence["capacities"]
    assert "recused_person_participated" not in findings_of("refused-to-sign")   # 钟立 recused and stayed away


def test_attendee_role_of_the_other_kind():
    def change(d):
        d["interview"]["attendees"].append({"name": "李四", "role": "section_head", "title": "科长"})
    f = findings_of("institution-onsite", change)["attendee_role_wrong_kind"][0]
    assert f.article == "第十条" and f.evidence["attendee"] == "李四"
    assert "attendee_role_wrong_kind" not in findings_of("institution-onsite")


def test_missing_roles_the_notice_asks_for():
    missing = findings_of("refused-to-sign")["required_role_missing"]
    assert {tuple(f.evidence["missing_roles"]) for f in missing} == {("quality_manager",), ("authorized_signatory",)}

    def principal_instead(d):
        d["interview"]["attendees"][0]["role"] = "authorized_principal"
    assert "required_role_missing" not in findings_of("institution-onsite", principal_instead)

    def no_handler(d):
        d["interview"]["attendees"] = d["interview"]["attendees"][:2]
    f = findings_of("bureau-video", no_handler)["required_role_missing"][0]
    assert f.evidence["missing_roles"] == ["case_handler"]


def test_absent_target_means_key_supervision():
    def absent(d):
        d["interview"]["record_signature"] = "absent"
        d["interview"]["attendees"] = []
    found = findings_of("institution-onsite", absent)
    assert found["interview_absent"][0].article == "第十五条"
    assert found["interview_absent"][0].evidence["key_supervision"] is True
    assert "required_role_missing" not in found
    assert "record_signature_refused" not in findings_of("institution-onsite")


@pytest.mark.parametrize("plan, late", [("2025-10-15", False), ("2025-10-16", True)])
def test_plan_due_counts_the_make_up_saturday(plan, late):
    found = findings_of("refused-to-sign", lambda d: d["rectification"].update(plan_submitted_on=plan))
    assert ("plan_late" in found) is late


def test_plan_missing_for_an_institution():
    found = findings_of("institution-onsite", lambda d: d["rectification"].pop("plan_submitted_on"))
    assert found["plan_missing"][0].severity == "violation"


def test_report_reviewed_after_submission_or_not_at_all():
    after = findings_of("institution-onsite", lambda d: d["rectification"].update(report_reviewed_on="2025-08-20"))
    assert after["report_reviewed_after_submission"][0].article == "第十六条"

    def unreviewed(d):
        del d["rectification"]["report_reviewed_on"], d["rectification"]["report_reviewed_by"]
    assert "report_not_reviewed" in findings_of("institution-onsite", unreviewed)
    other = findings_of("institution-onsite", lambda d: d["rectification"].update(report_reviewed_by="某咨询公司"))
    assert "report_reviewed_by_other" in other
    clean = findings_of("institution-onsite")
    assert not {"report_reviewed_after_submission", "report_not_reviewed", "report_reviewed_by_other"} & set(clean)


def test_outcome_not_allowed_for_the_kind():
    found = findings_of("bureau-video", lambda d: d["rectification"].update(outcome="administrative_penalty"))
    assert found["outcome_wrong_kind"][0].article == "第十七条"
    assert "outcome_wrong_kind" not in findings_of("bureau-video")


def test_completed_while_last_followup_unsatisfied():
    found = findings_of("refused-to-sign", lambda d: d["rectification"].update(outcome="completed"))
    assert found["completed_despite_unsatisfied"][0].evidence["last_followup_on"] == "2025-10-27"

    def later_satisfied(d):
        d["rectification"]["outcome"] = "completed"
        d["rectification"]["followups"].append(
            {"on": "2025-11-05", "method": "document_review", "finding": "已整改", "satisfied": True})
    assert "completed_despite_unsatisfied" not in findings_of("refused-to-sign", later_satisfied)


def test_approval_after_notice_issued():
    found = findings_of("institution-onsite", lambda d: d["approval"].update(approved_on="2025-07-08"))
    assert found["approval_after_notice"][0].article == "第八条"
    assert "approval_after_notice" not in findings_of("institution-onsite")


def test_higher_bureau_must_copy_the_local_bureau():
    found = findings_of("institution-onsite", lambda d: d["notice"].update(cc=[]))
    assert found["local_bureau_not_copied"][0].article == "第九条"

    def county_own_institution(d):
        d["organizer"].update(name="南昌市市场监督管理局", level="city")
        d["notice"]["cc"] = []
    assert "local_bureau_not_copied" not in findings_of("institution-onsite", county_own_institution)


def test_dates_out_of_order():
    found = findings_of("institution-onsite", lambda d: d.update(closed_on="2025-07-01"))
    assert any(f.evidence.get("closed_on") == "2025-07-01" for f in found["dates_out_of_order"])
    assert "dates_out_of_order" not in findings_of("institution-onsite")


def test_every_finding_names_its_article_and_speaks_chinese():
    for fs in findings_of("refused-to-sign").values():
        for f in fs:
            assert f.article.startswith("第") and f.article.endswith("条")
            assert any("\u4e00" <= ch <= "\u9fff" for ch in f.message)
