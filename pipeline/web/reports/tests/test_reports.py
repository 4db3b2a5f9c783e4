"""信用档案 and 统计: the core's counts as tables and chart options, XLSX downloads that open with the same numbers."""
from __future__ import annotations

import io
import json
import re

from openpyxl import load_workbook


def test_statistics_page_charts_tables_and_xlsx(web_home, stored_cases, client_for):
    from pipeline import api

    client = client_for("rea")
    page = client.get("/reports/statistics/")
    html = page.content.decode()
    assert page.status_code == 200 and "vendor/echarts.min.js" in html and "<script>" not in html
    blocks = re.findall(r'<script id="(chart-[a-z_]+)" type="application/json">(.*?)</script>', html, re.S)
    options = {name: json.loads(body) for name, body in blocks}
    assert {"chart-by_year", "chart-by_organizer", "chart-findings_by_article"} <= set(options)
    assert all(f'data-chart="{name}"' in html for name in options)
    years = options["chart-by_year"]
    # the session's archive is shared (a walk may have destroyed some cases): the chart equals the core's counts
    core = api.statistics(web_home, actor=api.Actor(name="t", role="reader"))
    assert sum(years["series"][0]["data"]) == core.cases >= 1 and "2025" in years["xAxis"]["data"]
    download = client.get("/reports/statistics/", {"format": "xlsx"})
    book = load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    by_year = {row[0]: row[1] for row in book["按年度"].iter_rows(min_row=2, values_only=True)}
    assert dict(zip(years["xAxis"]["data"], years["series"][0]["data"])) == by_year
    assert client_for("aud").get("/reports/statistics/").status_code == 403


def test_credit_file_and_xlsx(client_for):
    client = client_for("rea")
    page = client.get("/reports/credit/")
    assert page.status_code == 200 and "信用档案" in page.content.decode()
    assert client.get("/reports/credit/", {"code": "bad"}).status_code == 400
    download = client.get("/reports/credit/", {"format": "xlsx"})
    assert download.status_code == 200 and b"".join(download.streaming_content)[:2] == b"PK"
