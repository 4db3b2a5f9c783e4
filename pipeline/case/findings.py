"""Procedure findings: what the Measures required and the closed case shows was (not) done.

A case is history: findings never refuse it; they are recorded in the catalog, printed on the 备考表
and searchable. Each carries the article, a Chinese message and the evidence (the dates or names).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from pipeline.case.contract import (
    OUTCOME_LABELS,
    OUTCOMES_BY_KIND,
    ROLE_LABELS,
    ROLES_BY_KIND,
    AttendeeRole,
    Case,
    Outcome,
    RecordSignature,
    TargetKind,
)
from pipeline.case.working_days import (
    CalendarUnavailable,
    add_working_days,
    working_days_between,
)

NOTICE_LEAD_WORKING_DAYS = 3      # 第十三条
PLAN_DUE_WORKING_DAYS = 5         # 第十六条
MIN_ORGANIZER_STAFF = 2           # 第十二条


class Severity(StrEnum):
    violation = "violation"   # the Measures were not followed
    warning = "warning"       # needs a look; may be legitimate
    info = "info"             # recorded consequence (e.g. key supervision)


SEVERITY_LABELS = {Severity.violation: "违反程序", Severity.warning: "需关注", Severity.info: "记录"}


@dataclass(frozen=True)
class Finding:
    code: str
    article: str
    severity: Severity
    message: str
    evidence: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"code": self.code, "article": self.article, "severity": self.severity.value,
                "message": self.message, "evidence": self.evidence}


def assess_procedure(case: Case) -> list[Finding]:
    """Every finding for a valid case, in the order of the Measures' articles."""
    findings: list[Finding] = []
    for rule in RULES:
        findings.extend(rule(case))
    return sorted(findings, key=lambda f: _ARTICLE_ORDER.get(f.article, 99))


_ARTICLE_ORDER = {a: i for i, a in enumerate(
    ["第八条", "第九条", "第十条", "第十二条", "第十三条", "第十四条", "第十五条", "第十六条", "第十七条",
     "第二十条"])}


def _d(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _unverifiable(code: str, article: str, what: str, exc: CalendarUnavailable, **evidence) -> Finding:
    return Finding(
        code, article, Severity.warning,
        f"无法核验{what}：{exc.day.year} 年的法定节假日安排不在所装日历数据内，工作日无法确定，请人工核对",
        {**evidence, "uncovered_date": exc.day.isoformat()})


# --- 第八条 approval ---------------------------------------------------------------------------------

def approval_after_notice(case: Case) -> Iterator[Finding]:
    approved, issued = case.approval.approved_on, case.notice.issued_on
    if approved > issued:
        yield Finding("approval_after_notice", "第八条", Severity.violation,
                      f"约谈于 {approved} 才获批准，晚于通知书签发日 {issued}：应先经分管领导或主要领导批准再组织实施",
                      {"approved_on": _d(approved), "issued_on": _d(issued), "approved_by": case.approval.approved_by})


# --- 第九条 copying the local bureau ------------------------------------------------------------------

def local_bureau_not_copied(case: Case) -> Iterator[Finding]:
    local = case.target.local_bureau
    if case.target.kind is not TargetKind.institution or not local or local == case.organizer.name:
        return
    if local not in case.notice.cc:
        yield Finding("local_bureau_not_copied", "第九条", Severity.violation,
                      f"上级部门直接约谈下级管辖的机构，通知书未抄送属地市场监管部门“{local}”",
                      {"organizer": case.organizer.name, "local_bureau": local, "cc": list(case.notice.cc)})
    if not case.interview.local_bureau_attendees and case.interview.held_at is not None:
        yield Finding("local_bureau_absent", "第九条", Severity.warning,
                      f"属地市场监管部门“{local}”未派人参加约谈",
                      {"local_bureau": local})


# --- 第十条 who attends ------------------------------------------------------------------------------

_REQUIRED_ROLES: dict[TargetKind, list[tuple[AttendeeRole, ...]]] = {
    TargetKind.institution: [
        (AttendeeRole.legal_representative, AttendeeRole.authorized_principal),
        (AttendeeRole.technical_manager,), (AttendeeRole.quality_manager,), (AttendeeRole.authorized_signatory,)],
    TargetKind.bureau: [
        (AttendeeRole.principal_leader, AttendeeRole.deputy_leader),
        (AttendeeRole.section_head,), (AttendeeRole.case_handler,)],
}


def attendee_roles(case: Case) -> Iterator[Finding]:
    kind = case.target.kind
    attendees = case.interview.attendees
    for i, person in enumerate(attendees):
        if person.role not in ROLES_BY_KIND[kind]:
            yield Finding("attendee_role_wrong_kind", "第十条", Severity.violation,
                          f"参加人员 {person.name} 的身份“{ROLE_LABELS[person.role]}”不属于此类约谈对象的参加人员",
                          {"attendee": person.name, "role": person.role.value, "index": i, "target_kind": kind.value})
    if case.interview.record_signature is RecordSignature.absent:
        return
    present = {a.role for a in attendees}
    for alternatives in _REQUIRED_ROLES[kind]:
        if not present.intersection(alternatives):
            label = "或".join(ROLE_LABELS[r] for r in alternatives)
            yield Finding("required_role_missing", "第十条", Severity.warning,
                          f"通知书要求参加的“{label}”未参加约谈",
                          {"missing_roles": [r.value for r in alternatives]})


# --- 第十二条 staff and recusal ----------------------------------------------------------------------

def organizer_staff(case: Case) -> Iterator[Finding]:
    interview = case.interview
    names = [p.name for p in interview.organizer_staff]
    if len(set(names)) < MIN_ORGANIZER_STAFF:
        yield Finding("organizer_staff_too_few", "第十二条", Severity.violation,
                      f"约谈组织方参加人员仅 {len(set(names))} 人，少于 {MIN_ORGANIZER_STAFF} 人",
                      {"organizer_staff": names})
    roles = [("约谈组织方参加人员", n) for n in names] + \
        [("主持人", interview.host.name), ("记录人", interview.recorder.name)]
    for recusal in interview.recusals:
        capacities = sorted({cap for cap, name in roles if name == recusal.name})
        if capacities:
            yield Finding("recused_person_participated", "第十二条", Severity.violation,
                          f"{recusal.name} 已申请回避（{recusal.reason}），却仍作为{'、'.join(capacities)}参加约谈",
                          {"name": recusal.name, "reason": recusal.reason, "capacities": capacities})


# --- 第十三条 notice served 3 working days before ---------------------------------------------------

def notice_lead_time(case: Case) -> Iterator[Finding]:
    served, interview_day = case.notice.served_on, case.interview_date
    evidence = {"served_on": _d(served), "interview_on": _d(interview_day), "required": NOTICE_LEAD_WORKING_DAYS}
    try:
        lead = working_days_between(served, interview_day)
    except CalendarUnavailable as exc:
        yield _unverifiable("notice_lead_unverifiable", "第十三条", "通知书送达时限", exc, **evidence)
        return
    if lead < NOTICE_LEAD_WORKING_DAYS:
        yield Finding("notice_served_late", "第十三条", Severity.violation,
                      f"通知书于 {served} 送达，距约谈日 {interview_day} 仅 {lead} 个工作日"
                      f"（送达日与约谈日不计），少于 {NOTICE_LEAD_WORKING_DAYS} 个工作日",
                      {**evidence, "working_days": lead})


# --- 第十五条 refusal → key supervision -------------------------------------------------------------

def key_supervision(case: Case) -> Iterator[Finding]:
    signature = case.interview.record_signature
    if signature is RecordSignature.refused:
        yield Finding("record_signature_refused", "第十五条", Severity.info,
                      "约谈对象拒绝在《约谈记录》上签字，视为拒绝落实监管要求，应实施重点监管",
                      {"record_signature": signature.value, "key_supervision": True})
    elif signature is RecordSignature.absent:
        yield Finding("interview_absent", "第十五条", Severity.info,
                      "约谈对象无正当理由未参加约谈，视为拒绝落实监管要求，应实施重点监管",
                      {"record_signature": signature.value, "key_supervision": True})
    if case.interview.held_at is None and signature is not RecordSignature.absent:
        yield Finding("interview_not_held", "第十四条", Severity.warning,
                      "案件未记载约谈实际举行时间（interview.held_at），但约谈记录状态不是“未参加”",
                      {"record_signature": signature.value})


# --- 第十六条 plan and report ----------------------------------------------------------------------

def rectification_plan(case: Case) -> Iterator[Finding]:
    plan = case.rectification.plan_submitted_on
    interview_day = case.interview_date
    if case.target.kind is TargetKind.bureau:
        if plan is None:
            yield Finding("plan_missing", "第十六条", Severity.warning, "被约谈的下级市场监管部门未提交整改方案", {})
        return
    if plan is None:
        yield Finding("plan_missing", "第十六条", Severity.violation,
                      "被约谈的检验检测机构未提交整改方案", {"interview_on": _d(interview_day)})
        return
    try:
        due = add_working_days(interview_day, PLAN_DUE_WORKING_DAYS)
    except CalendarUnavailable as exc:
        yield _unverifiable("plan_due_unverifiable", "第十六条", "整改方案提交时限", exc,
                            interview_on=_d(interview_day), plan_submitted_on=_d(plan))
        return
    if plan > due:
        yield Finding("plan_late", "第十六条", Severity.violation,
                      f"整改方案于 {plan} 提交，晚于约谈后 {PLAN_DUE_WORKING_DAYS} 个工作日的期限 {due}",
                      {"interview_on": _d(interview_day), "due_on": _d(due), "plan_submitted_on": _d(plan)})


def rectification_report(case: Case) -> Iterator[Finding]:
    if case.target.kind is not TargetKind.institution:
        return
    r = case.rectification
    if r.report_submitted_on is None:
        yield Finding("report_missing", "第十六条", Severity.warning, "案件未记载整改报告的提交", {})
        return
    evidence = {"report_submitted_on": _d(r.report_submitted_on), "report_reviewed_by": r.report_reviewed_by,
                "report_reviewed_on": _d(r.report_reviewed_on), "local_bureau": case.target.local_bureau}
    if r.report_reviewed_on is None or not r.report_reviewed_by:
        yield Finding("report_not_reviewed", "第十六条", Severity.violation,
                      "整改报告未经属地市场监管部门审核认可即提交", evidence)
        return
    if r.report_reviewed_on > r.report_submitted_on:
        yield Finding("report_reviewed_after_submission", "第十六条", Severity.violation,
                      f"整改报告于 {r.report_submitted_on} 提交，属地审核却在 {r.report_reviewed_on}：应先审核认可再提交",
                      evidence)
    if case.target.local_bureau and r.report_reviewed_by != case.target.local_bureau:
        yield Finding("report_reviewed_by_other", "第十六条", Severity.warning,
                      f"整改报告由“{r.report_reviewed_by}”审核，而非属地市场监管部门“{case.target.local_bureau}”",
                      evidence)


# --- 第十七条 outcome ----------------------------------------------------------------------------------

def outcome(case: Case) -> Iterator[Finding]:
    kind, result = case.target.kind, case.rectification.outcome
    if result not in OUTCOMES_BY_KIND[kind]:
        yield Finding("outcome_wrong_kind", "第十七条", Severity.violation,
                      f"处理结果“{OUTCOME_LABELS[result]}”不适用于此类约谈对象",
                      {"outcome": result.value, "target_kind": kind.value})
    followups = sorted(case.rectification.followups, key=lambda f: f.on)
    if result is Outcome.completed and followups and not followups[-1].satisfied:
        last = followups[-1]
        yield Finding("completed_despite_unsatisfied", "第十七条", Severity.violation,
                      f"处理结果为“整改完成”，但最后一次跟踪检查（{last.on}）认定整改不到位",
                      {"last_followup_on": _d(last.on), "finding": last.finding})
    if result is Outcome.completed and not followups:
        yield Finding("completed_without_followup", "第十七条", Severity.warning,
                      "处理结果为“整改完成”，但没有跟踪检查记录", {})


# --- dates out of order ------------------------------------------------------------------------------

def dates_in_order(case: Case) -> Iterator[Finding]:
    r = case.rectification
    day = case.interview_date
    pairs = [
        ("第十三条", "notice.issued_on", case.notice.issued_on, "notice.served_on", case.notice.served_on),
        ("第十三条", "notice.served_on", case.notice.served_on, "interview", day),
        ("第十六条", "interview", day, "rectification.plan_submitted_on", r.plan_submitted_on),
        ("第十六条", "interview", day, "rectification.report_submitted_on", r.report_submitted_on),
        ("第十六条", "rectification.plan_submitted_on", r.plan_submitted_on,
         "rectification.report_submitted_on", r.report_submitted_on),
    ]
    pairs += [("第十七条", "interview", day, f"rectification.followups[{i}].on", f.on)
              for i, f in enumerate(r.followups)]
    later = [("notice.issued_on", case.notice.issued_on), ("interview", day),
             ("rectification.report_submitted_on", r.report_submitted_on)]
    later += [(f"rectification.followups[{i}].on", f.on) for i, f in enumerate(r.followups)]
    pairs += [("第二十条", key, value, "closed_on", case.closed_on) for key, value in later]
    if case.interview.held_at and case.interview.held_at < case.interview.scheduled_at.replace(hour=0, minute=0):
        yield Finding("dates_out_of_order", "第十三条", Severity.warning,
                      "约谈实际举行日期早于通知书所定日期",
                      {"scheduled_at": case.interview.scheduled_at.isoformat(),
                       "held_at": case.interview.held_at.isoformat()})
    for article, first_key, first, second_key, second in pairs:
        if first and second and second < first:
            yield Finding("dates_out_of_order", article, Severity.warning,
                          f"日期顺序不合理：{_DATE_LABELS.get(second_key, second_key)}（{second}）"
                          f"早于{_DATE_LABELS.get(first_key, first_key)}（{first}）",
                          {first_key: _d(first), second_key: _d(second)})


_DATE_LABELS = {
    "notice.issued_on": "通知书签发日", "notice.served_on": "通知书送达日", "interview": "约谈日",
    "rectification.plan_submitted_on": "整改方案提交日", "rectification.report_submitted_on": "整改报告提交日",
    "closed_on": "结案日",
}


RULES: list[Callable[[Case], Iterator[Finding]]] = [
    approval_after_notice, local_bureau_not_copied, attendee_roles, organizer_staff, notice_lead_time,
    key_supervision, rectification_plan, rectification_report, outcome, dates_in_order,
]
