"""Chinese names for the core's codes, for templates (one place)."""
from __future__ import annotations

from django import template

from pipeline.case.contract import OUTCOME_LABELS, ground_label
from pipeline.records.authority import ROLE_LABELS

KIND_LABELS = {"institution": "检验检测机构", "bureau": "下级市场监管部门"}
OUTCOMES = {str(k.value): v for k, v in OUTCOME_LABELS.items()}
STATUS_LABELS = {"current": "现行", "superseded": "已被新版本取代", "purged": "已销毁"}


def ground_text(code: str) -> str:
    """"6.2" → 第六条第（二）项; "6" → 第六条."""
    try:
        article, _, item = str(code).partition(".")
        return ground_label(int(article), int(item) if item else None)
    except ValueError:
        return str(code)


register = template.Library()
register.filter("kind_label", lambda v: KIND_LABELS.get(v, v))
register.filter("outcome_label", lambda v: OUTCOMES.get(v, v))
register.filter("ground_label", ground_text)
register.filter("role_label", lambda v: ROLE_LABELS.get(v, v) if v else "")
register.filter("case_status", lambda v: STATUS_LABELS.get(v, v))
register.filter("get_item", lambda mapping, key: mapping.get(key) if hasattr(mapping, "get") else None)
