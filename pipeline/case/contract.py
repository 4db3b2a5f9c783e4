"""The case contract (schema_version 1) as pydantic models.

Key names are fixed by `contract/case.md`; unknown keys are kept (``extra="allow"``) so that nothing an
upstream system sends is lost on its way into the archive.
"""
from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from archive_store import text as safe_text
from pipeline.case.outcomes import OUTCOME_LABELS, Outcome  # noqa: F401  (part of the contract)

DEFAULT_NOTICE_PREFIX = "赣市监检约"


class Contract(BaseModel):
    model_config = ConfigDict(extra="allow", use_enum_values=False, str_strip_whitespace=True)

    @model_validator(mode="after")
    def _extra_text_is_plain(self):
        """Keys the contract does not know are kept as they are, so their text is checked here (newlines allowed)."""
        for path, value in strings_in(self.model_extra or {}):
            found = safe_text.problem(value, multiline=True)
            if found:
                raise PydanticCustomError("unsafe_text", "契约之外的键 {path}{found}", {"path": path, "found": found})
        return self


def strings_in(value, path: str = ""):
    """(key path, string) for every key and string value under `value`."""
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            yield sub, str(key)
            yield from strings_in(item, sub)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from strings_in(item, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, value


class OrganizerLevel(StrEnum):
    province = "province"
    city = "city"
    county = "county"


class TargetKind(StrEnum):
    institution = "institution"
    bureau = "bureau"


class FindingSource(StrEnum):
    supervision_inspection = "supervision_inspection"
    complaint = "complaint"
    special_sampling = "special_sampling"
    proficiency_testing = "proficiency_testing"
    other = "other"


class InterviewMode(StrEnum):
    onsite = "onsite"
    video = "video"


class AttendeeRole(StrEnum):
    legal_representative = "legal_representative"
    authorized_principal = "authorized_principal"
    technical_manager = "technical_manager"
    quality_manager = "quality_manager"
    authorized_signatory = "authorized_signatory"
    principal_leader = "principal_leader"
    deputy_leader = "deputy_leader"
    section_head = "section_head"
    case_handler = "case_handler"


class InvitedCapacity(StrEnum):
    expert = "expert"
    legal_counsel = "legal_counsel"
    other_department = "other_department"


class RecordSignature(StrEnum):
    signed = "signed"
    refused = "refused"
    absent = "absent"


class FollowupMethod(StrEnum):
    document_review = "document_review"
    onsite_recheck = "onsite_recheck"


class AttachmentRole(StrEnum):
    rectification_plan = "rectification_plan"
    rectification_report = "rectification_report"
    followup_record = "followup_record"
    statement = "statement"
    evidence = "evidence"
    other = "other"


# --- Domain facts the checks and documents share -------------------------------------------------

ROLES_BY_KIND: dict[TargetKind, frozenset[AttendeeRole]] = {
    TargetKind.institution: frozenset({
        AttendeeRole.legal_representative, AttendeeRole.authorized_principal,
        AttendeeRole.technical_manager, AttendeeRole.quality_manager, AttendeeRole.authorized_signatory}),
    TargetKind.bureau: frozenset({
        AttendeeRole.principal_leader, AttendeeRole.deputy_leader,
        AttendeeRole.section_head, AttendeeRole.case_handler}),
}

OUTCOMES_BY_KIND: dict[TargetKind, frozenset[Outcome]] = {
    TargetKind.institution: frozenset({
        Outcome.completed, Outcome.ordered_to_correct, Outcome.administrative_penalty,
        Outcome.certificate_revoked, Outcome.case_filed}),
    TargetKind.bureau: frozenset({
        Outcome.completed, Outcome.circulated_criticism, Outcome.three_letters_one_notice,
        Outcome.escalated}),
}

# Grounds: 第六条 items (一)–(十) for institutions, 第七条 items (一)–(五) for bureaus.
GROUND_ARTICLE_BY_KIND: dict[TargetKind, int] = {TargetKind.institution: 6, TargetKind.bureau: 7}
GROUND_ITEMS: dict[int, int] = {6: 10, 7: 5}

ROLE_LABELS: dict[AttendeeRole, str] = {
    AttendeeRole.legal_representative: "法定代表人",
    AttendeeRole.authorized_principal: "授权的主要负责人",
    AttendeeRole.technical_manager: "技术负责人",
    AttendeeRole.quality_manager: "质量负责人",
    AttendeeRole.authorized_signatory: "授权签字人",
    AttendeeRole.principal_leader: "主要领导",
    AttendeeRole.deputy_leader: "分管领导",
    AttendeeRole.section_head: "相关科（股）室主要负责人",
    AttendeeRole.case_handler: "具体业务经办人",
}

FINDING_SOURCE_LABELS: dict[FindingSource, str] = {
    FindingSource.supervision_inspection: "监督检查",
    FindingSource.complaint: "投诉举报",
    FindingSource.special_sampling: "专项抽查",
    FindingSource.proficiency_testing: "能力验证",
    FindingSource.other: "其他监管工作",
}

ATTACHMENT_ROLE_LABELS: dict[AttachmentRole, str] = {
    AttachmentRole.rectification_plan: "整改方案",
    AttachmentRole.rectification_report: "整改报告",
    AttachmentRole.followup_record: "跟踪检查记录",
    AttachmentRole.statement: "情况说明",
    AttachmentRole.evidence: "证据材料",
    AttachmentRole.other: "其他材料",
}

_CN_DIGITS = "零一二三四五六七八九十"


def chinese_numeral(n: int) -> str:
    """一 … 十九 for article and item numbers, as the Measures write them; larger numbers stay Arabic."""
    if 0 <= n <= 10:
        return _CN_DIGITS[n]
    if n < 20:
        return "十" + _CN_DIGITS[n - 10]
    return str(n)


def ground_label(article: int, item: int | None = None) -> str:
    """6, 2 → 第六条第（二）项; an article alone → 第六条."""
    text = f"第{chinese_numeral(article)}条"
    return text + (f"第（{chinese_numeral(item)}）项" if item else "")


# --- Field checks ----------------------------------------------------------------------------------

_CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_digit(first17: str) -> str:
    """GB 32100-2015 check character for the first 17 characters of a 统一社会信用代码."""
    total = sum(_CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_CODE_WEIGHTS))
    return _CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(value: str) -> bool:
    return (len(value) == 18 and all(c in _CREDIT_CODE_ALPHABET for c in value)
            and credit_code_check_digit(value[:17]) == value[17])


def _valid_credit_code(value: str) -> str:
    if len(value) != 18:
        raise PydanticCustomError("credit_code", "统一社会信用代码应为 18 位，实为 {n} 位", {"n": len(value)})
    bad = [c for c in value if c not in _CREDIT_CODE_ALPHABET]
    if bad:
        raise PydanticCustomError(
            "credit_code", "统一社会信用代码含有不允许的字符“{c}”（不得含 I、O、Z、S、V 及小写字母）",
            {"c": bad[0]})
    expected = credit_code_check_digit(value[:17])
    if value[17] != expected:
        raise PydanticCustomError(
            "credit_code", "统一社会信用代码校验码不符（GB 32100）：末位应为“{e}”，实为“{a}”，请核对代码",
            {"e": expected, "a": value[17]})
    return value


NOTICE_NUMBER_RE = re.compile(r"^(?P<prefix>[^〔〕]+)〔(?P<year>\d{4})〕(?P<seq>[1-9]\d*)号$")


def _valid_notice_number(value: str) -> str:
    if NOTICE_NUMBER_RE.match(value) is None:
        raise PydanticCustomError(
            "notice_number",
            "文号“{v}”格式不对：应为“机关代字〔年份〕序号号”，如“赣市监检约〔2025〕3号”"
            "（年份用六角括号〔〕，序号为阿拉伯数字且不编虚位）", {"v": value})
    return value


def _valid_region_code(value: str) -> str:
    if not re.fullmatch(r"\d{6}", value):
        raise PydanticCustomError("region_code", "行政区划代码应为 6 位数字，实为“{v}”", {"v": value})
    return value


def _plain_line(value: str) -> str:
    found = safe_text.problem(value)
    if found:
        raise PydanticCustomError("unsafe_text", "{found}", {"found": found})
    return value


def _plain_paragraphs(value: str) -> str:
    found = safe_text.problem(value, multiline=True)
    if found:
        raise PydanticCustomError("unsafe_text", "{found}", {"found": found})
    return value


CreditCode = Annotated[str, AfterValidator(_valid_credit_code)]
NoticeNumber = Annotated[str, AfterValidator(_valid_notice_number)]
RegionCode = Annotated[str, AfterValidator(_valid_region_code)]
# One line: names, titles, places. Paragraphs (newline and tab allowed): the interview's statements and facts.
Text = Annotated[str, Field(min_length=1), AfterValidator(_plain_line)]
Paragraphs = Annotated[str, Field(min_length=1), AfterValidator(_plain_paragraphs)]


# --- The models ------------------------------------------------------------------------------------

class Contact(Contract):
    name: Text
    phone: Text


class Organizer(Contract):
    name: Text
    level: OrganizerLevel
    region_code: RegionCode
    lead_department: Text
    joint_departments: list[Text] = Field(default_factory=list)
    notice_prefix: Text = DEFAULT_NOTICE_PREFIX
    contact: Contact


class Target(Contract):
    kind: TargetKind
    name: Text
    credit_code: CreditCode | None = None
    cma_certificate: Text | None = None
    local_bureau: Text | None = None
    region_code: RegionCode | None = None
    principal: Contact


class Collective(Contract):
    campaign: Text
    group_id: Text | None = None


class Ground(Contract):
    article: int
    item: int
    facts: list[Paragraphs] = Field(min_length=1)


class Approval(Contract):
    proposed_by: Text
    approved_by: Text
    approved_on: date


class Notice(Contract):
    number: NoticeNumber | None = None
    issued_on: date
    served_on: date
    materials: list[Text] | None = None
    cc: list[Text] = Field(default_factory=list)


class Person(Contract):
    name: Text
    title: Text


class Attendee(Contract):
    name: Text
    role: AttendeeRole
    title: Text


class LocalBureauAttendee(Contract):
    name: Text
    title: Text


class Invited(Contract):
    name: Text
    affiliation: Text
    capacity: InvitedCapacity


class Recusal(Contract):
    name: Text
    reason: Text


class Proceedings(Contract):
    purpose_and_basis: Paragraphs
    issues_and_evidence: Paragraphs
    statement: Paragraphs
    opinions: Paragraphs
    requirements: list[Paragraphs] = Field(default_factory=list)
    deadline: date | None = None
    commitment: Paragraphs


class Interview(Contract):
    scheduled_at: AwareDatetime
    held_at: AwareDatetime | None = None
    mode: InterviewMode
    venue: Text
    address: Text | None = None
    host: Person
    recorder: Person
    organizer_staff: list[Person]
    attendees: list[Attendee] = Field(default_factory=list)
    local_bureau_attendees: list[LocalBureauAttendee] = Field(default_factory=list)
    invited: list[Invited] = Field(default_factory=list)
    recusals: list[Recusal] = Field(default_factory=list)
    proceedings: Proceedings
    record_signature: RecordSignature


class Followup(Contract):
    on: date
    method: FollowupMethod
    finding: Paragraphs
    satisfied: bool


class Rectification(Contract):
    plan_submitted_on: date | None = None
    report_submitted_on: date | None = None
    report_reviewed_by: Text | None = None
    report_reviewed_on: date | None = None
    followups: list[Followup] = Field(default_factory=list)
    outcome: Outcome


class Attachment(Contract):
    role: AttachmentRole
    file: Text
    title: Text
    submitted_on: date | None = None


class Case(Contract):
    """A closed interview case as the upstream case system hands it over."""

    schema_version: Literal[1]
    case_id: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_plain_line)]
    organizer: Organizer
    target: Target
    collective: Collective | None = None
    finding_source: FindingSource
    activity: Text | None = None
    grounds: list[Ground] = Field(default_factory=list)
    approval: Approval
    notice: Notice
    interview: Interview
    rectification: Rectification
    attachments: list[Attachment] = Field(default_factory=list)
    closed_on: date

    @property
    def interview_date(self) -> date:
        """The day the interview was held, else the day it was scheduled for."""
        return (self.interview.held_at or self.interview.scheduled_at).date()


def case_json_schema() -> dict:
    schema = Case.model_json_schema()
    schema["$id"] = "https://yuetan.invalid/schema/case-v1.json"
    schema["title"] = "约谈案件（schema_version 1）"
    return schema
