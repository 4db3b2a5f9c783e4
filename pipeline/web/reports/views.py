"""信用档案 and 统计: the core's answers as tables, ECharts charts (options built here from the same counts, drawn
by the vendored ECharts from a JSON block, no inline script) and XLSX downloads."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

from django.http import FileResponse
from django.shortcuts import render

from pipeline import api
from pipeline.web.core import as_actor
from pipeline.web.errors import error_page
from pipeline.web.permissions import require

CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
CHARTS = [("by_year", "按年度", "bar"), ("by_organizer", "按约谈组织方", "hbar"), ("by_region", "按地区", "bar"),
          ("by_ground", "按约谈事由", "hbar"), ("by_outcome", "按处理结果", "pie"), ("by_kind", "按约谈对象", "pie"),
          ("findings_by_article", "程序核查发现：按条款", "bar"), ("findings_by_organizer", "程序核查发现：按组织方", "hbar")]


def _xlsx(write, filename: str) -> FileResponse:
    """Run `write(path)` into a private temporary file and send it; the file goes when the response is closed."""
    tmp = tempfile.TemporaryDirectory(prefix="yuetan-web-")
    path = Path(tmp.name) / "table.xlsx"
    write(path)
    response = FileResponse(path.open("rb"), as_attachment=True, filename=filename)
    response._resource_closers.append(tmp.cleanup)
    return response


@require("view_credit")
def credit(request):
    code = request.GET.get("code", "").strip().upper()
    if code and not CREDIT_CODE.match(code):
        return error_page(request, 400, f"统一社会信用代码“{code}”格式不对：应为 18 位数字或大写字母")
    actor = as_actor(request.actor)
    if request.GET.get("format") == "xlsx":
        return _xlsx(lambda path: api.credit(request.home, code or None, actor=actor, dest=path),
                     f"信用档案-{code or '全部机构'}.xlsx")
    result = api.credit(request.home, code or None, actor=actor).model_dump(mode="json")
    return render(request, "reports/credit.html", {"result": result, "code": code})


def _chart(title: str, kind: str, counts: list[dict]) -> dict:
    labels, values = [c["label"] for c in counts], [c["count"] for c in counts]
    if kind == "pie":
        return {"title": {"text": title, "left": "center", "textStyle": {"fontSize": 14}}, "tooltip": {"trigger": "item"},
                "series": [{"type": "pie", "radius": ["35%", "65%"],
                            "data": [{"name": n, "value": v} for n, v in zip(labels, values)]}]}
    horizontal = kind == "hbar"
    category = {"type": "category", "data": list(reversed(labels)) if horizontal else labels,
                "axisLabel": {"interval": 0, "width": 160, "overflow": "truncate"}}
    value = {"type": "value", "minInterval": 1}
    return {"title": {"text": title, "left": "center", "textStyle": {"fontSize": 14}},
            "tooltip": {"trigger": "axis"}, "grid": {"left": 170 if horizontal else 50, "right": 20, "bottom": 40},
            "xAxis": value if horizontal else category, "yAxis": category if horizontal else value,
            "series": [{"type": "bar", "data": list(reversed(values)) if horizontal else values,
                        "itemStyle": {"color": "#b5121b"}}]}


@require("view_statistics")
def statistics(request):
    actor = as_actor(request.actor)
    if request.GET.get("format") == "xlsx":
        return _xlsx(lambda path: api.statistics(request.home, actor=actor, dest=path), "约谈档案统计.xlsx")
    result = api.statistics(request.home, actor=actor).model_dump(mode="json")
    charts = [{"id": f"chart-{key}", "title": title, "rows": result[key], "option": _chart(title, kind, result[key]),
               "findings": key.startswith("findings")} for key, title, kind in CHARTS]
    return render(request, "reports/statistics.html", {"result": result, "charts": charts})
