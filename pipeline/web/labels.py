"""Chinese names for the core's codes, for templates (one place)."""
from __future__ import annotations

from django import template

from pipeline.api.labels import CASE_STATUS_LABELS as STATUS_LABELS
from pipeline.api.labels import (
    KIND_LABELS,
    OUTCOMES,
    ROLE_LABELS,
    ground_text,
    region_label,
)

register = template.Library()
register.filter("kind_label", lambda v: KIND_LABELS.get(v, v))
register.filter("outcome_label", lambda v: OUTCOMES.get(v, v))
register.filter("ground_label", ground_text)
register.filter("role_label", lambda v: ROLE_LABELS.get(v, v) if v else "")
register.filter("case_status", lambda v: STATUS_LABELS.get(v, v))
register.filter("region_label", region_label)
register.filter("get_item", lambda mapping, key: mapping.get(key) if hasattr(mapping, "get") else None)
