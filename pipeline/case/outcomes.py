"""How a case ended (`rectification.outcome`) and its Chinese names: apart from the contract's models, so that
what only shows an outcome (a search hit) does not build them."""
from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    completed = "completed"
    ordered_to_correct = "ordered_to_correct"
    administrative_penalty = "administrative_penalty"
    certificate_revoked = "certificate_revoked"
    case_filed = "case_filed"
    circulated_criticism = "circulated_criticism"
    three_letters_one_notice = "three_letters_one_notice"
    escalated = "escalated"


OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.completed: "整改完成",
    Outcome.ordered_to_correct: "责令限期改正",
    Outcome.administrative_penalty: "行政处罚",
    Outcome.certificate_revoked: "撤销资质认定证书",
    Outcome.case_filed: "立案调查",
    Outcome.circulated_criticism: "通报批评",
    Outcome.three_letters_one_notice: "下发“三书一函”",
    Outcome.escalated: "提级办理或督办",
}
