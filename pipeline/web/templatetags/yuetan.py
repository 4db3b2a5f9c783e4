"""{% load yuetan %}: the labels and the search-snippet marking."""
from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import mark_safe

from pipeline.web.labels import register


@register.filter
def marked(snippet: str) -> str:
    """The core marks matches as 【…】; shown as <mark>, everything else escaped."""
    text = escape(snippet)
    out, depth = [], 0
    for ch in text:
        if ch == "【":
            depth += 1
            out.append("<mark>")
        elif ch == "】" and depth:
            depth -= 1
            out.append("</mark>")
        else:
            out.append(ch)
    out.extend("</mark>" * depth)
    return mark_safe("".join(out))
