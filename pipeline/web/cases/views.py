"""检索 and 案件: parse, check the role, call the core, render. Files are found by catalog lookup only."""
from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST

from pipeline.api import InvalidArgument
from pipeline.web import core
from pipeline.web.accounts.access import record_access
from pipeline.web.accounts.models import AccessEvent
from pipeline.web.cases.forms import PAGE_SIZE, SearchForm
from pipeline.web.errors import api_error, error_page
from pipeline.web.labels import KIND_LABELS, OUTCOMES, ground_text, region_label
from pipeline.web.permissions import require

JSON = {"ensure_ascii": False}
FACET_TITLES = [("kind", "约谈对象"), ("ground", "约谈事由"), ("region", "行政区划"), ("year", "年度"),
                ("outcome", "处理结果")]


def _search(request, form: SearchForm, *, limit: int, offset: int) -> dict:
    result = core.search(request.home, form.cleaned_data.get("q") or "", actor=request.actor, limit=limit,
                         offset=offset, **form.query())
    record_access(request, AccessEvent.SEARCH, target=form.cleaned_data.get("q") or "",
                  details={k: str(v) for k, v in form.query().items() if v} | {"total": result["total"]})
    return result


@require("search")
def search(request):
    form = SearchForm(request.GET)
    if not form.is_valid():
        return error_page(request, 400, f"检索条件有误：{form.problems()}")
    asked = bool(request.GET)
    result = _search(request, form, limit=PAGE_SIZE, offset=(form.page_number - 1) * PAGE_SIZE) if asked else None
    context = {"form": form, "result": result, "asked": asked}
    if result is not None:
        pages = max(1, -(-result["total"] // PAGE_SIZE))
        context.update(page=form.page_number, pages=pages, first=(form.page_number - 1) * PAGE_SIZE + 1,
                       last=(form.page_number - 1) * PAGE_SIZE + len(result["hits"]),
                       previous_url=_with(request, page=form.page_number - 1) if form.page_number > 1 else None,
                       next_url=_with(request, page=form.page_number + 1) if form.page_number < pages else None,
                       facets=_facets(request, result.get("facets") or {}, form))
    return render(request, "cases/search.html", context)


def _with(request, **changes) -> str:
    """This search's URL with some parameters changed ('' removes one); a new filter starts at page 1."""
    params = request.GET.copy()
    if "page" not in changes:
        params.pop("page", None)
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + params.urlencode()


def _facets(request, facets: dict, form: SearchForm) -> list[dict]:
    """Each facet's values with counts, and the link that applies (or, when applied, removes) its filter."""
    chosen = form.cleaned_data
    out = []
    for key, title in FACET_TITLES:
        values = facets.get(key) or {}
        if not values:
            continue
        if key == "region":
            values = _rolled_up(values)
        rows = []
        for value, count in sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:12]:
            if key == "year":
                label, params = f"{value} 年", {"from": f"{value}-01-01", "to": f"{value}-12-31"}
                on = str(chosen.get("from") or "").startswith(str(value))
            else:
                label = {"kind": lambda v: KIND_LABELS.get(v, v), "ground": ground_text, "region": region_label,
                         "outcome": lambda v: OUTCOMES.get(v, v)}.get(key, str)(value)
                params, on = {key: value}, str(chosen.get(key) or "") == str(value)
            url = _with(request, **{k: "" for k in params}) if on else _with(request, **params)
            rows.append({"label": label, "count": count, "url": url, "on": on})
        out.append({"key": key, "title": title, "rows": rows})
    return out


def _region_prefix(code: str) -> str:
    """What the region filter matches: the code without its trailing pairs of zeros (360400 → 3604, every county
    of 九江市), as the engine reads it (pipeline.search.query.filter_nodes)."""
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def _rolled_up(counts: dict[str, int]) -> dict[str, int]:
    """The region facet counts each case under its own region code; its link filters by prefix, which takes in
    the counties of a city too. Each code's count is made what its link finds: its own and those under it."""
    return {code: sum(n for other, n in counts.items() if other.startswith(_region_prefix(code)))
            for code in counts}


@require("search")
def api_search(request):
    form = SearchForm(request.GET)
    if not form.is_valid():
        return api_error(400, f"检索条件有误：{form.problems()}")
    limit = form.cleaned_data.get("limit") or 20
    return JsonResponse(_search(request, form, limit=limit, offset=(form.page_number - 1) * limit), json_dumps_params=JSON)


def _show(request, reference: str) -> dict:
    try:
        info = core.show(request.home, reference, actor=request.actor)
    except InvalidArgument:
        raise Http404(reference) from None
    record_access(request, AccessEvent.CASE_VIEW, target=reference,
                  details={"case_id": (info.get("record") or info.get("tombstone") or {}).get("case_id")})
    return info


@require("view_case")
def case(request, reference: str):
    info = _show(request, reference)
    if info["status"] == "purged":
        stone = info["tombstone"]
        codes = core.archival_codes(request.home, [stone["case_id"]], actor=request.actor)
        return render(request, "cases/tombstone.html", {"info": info, "stone": stone,
                                                        "archival_code": codes.get(stone["case_id"])})
    by_article: dict[str, list] = {}
    for finding in info["findings"]:
        by_article.setdefault(finding["article"], []).append(finding)
    active = [h for h in info["holds"] if not h.get("released_at")]
    return render(request, "cases/case.html", {"info": info, "r": info["record"], "by_article": by_article,
                                               "active_holds": active})


@require("view_case")
def api_case(request, reference: str):
    return JsonResponse(_show(request, reference), json_dumps_params=JSON)


@contextmanager
def _dossier(request, case_id: str):
    """(record, a private copy of the sealed dossier): found by the catalog, never by a path from the request."""
    try:
        with core.dossier_copy(request.home, case_id, actor=request.actor) as (record, path):
            yield record, path
    except InvalidArgument:
        raise Http404(case_id) from None


@require("download_dossier")
def dossier(request, case_id: str):
    """The sealed dossier, its hash checked on the way out."""
    tmp = tempfile.TemporaryFile()
    with _dossier(request, case_id) as (record, copy), copy.open("rb") as source:
        while chunk := source.read(1 << 20):
            tmp.write(chunk)
    tmp.seek(0)
    record_access(request, AccessEvent.DOSSIER_DOWNLOAD, target=record["case_id"],
                  details={"version": record["version"], "dossier_sha256": record["dossier_sha256"]})
    inline = request.GET.get("inline") == "1"
    response = FileResponse(tmp, content_type="application/pdf", as_attachment=not inline,
                            filename=f"{record['notice_number'] or record['case_id']}.pdf")
    response["Cache-Control"] = "private, no-store"
    return response


@require("download_dossier")
def viewer(request, case_id: str):
    """The dossier in the browser, page by page, each document openable at its first page."""
    with _dossier(request, case_id) as (record, copy):
        outline = core.outline(copy)
    count, documents = outline["pages"], outline["documents"]
    try:
        page = min(max(int(request.GET.get("page", "1")), 1), count)
    except ValueError:
        page = 1
    current = next((d for d in documents if d["first_page"] <= page <= d["last_page"]), None)
    return render(request, "cases/viewer.html", {"r": record, "documents": documents, "count": count,
                                                 "page": page, "current": current})


@require("download_dossier")
@cache_control(private=True, max_age=3600)
def page_image(request, case_id: str, page: int):
    with _dossier(request, case_id) as (record, copy), tempfile.TemporaryDirectory() as tmp:
        if not 1 <= page <= core.outline(copy)["pages"]:
            raise Http404(page)
        data = core.page_png(copy, page, Path(tmp) / "page.png").read_bytes()
    return HttpResponse(data, content_type="image/png")


@require_POST
@require("view_case")
def verify(request, case_id: str):
    """核验: every check of the stored dossier, against the archive's own seal certificate when it has one."""
    trust = request.home.seal_pkcs12.with_suffix(".crt")
    with _dossier(request, case_id) as (record, copy):
        report = core.verify(copy, trust=trust if trust.is_file() else None)
    return render(request, "cases/_verify.html", {"report": report, "r": record})


verify.methods = ("post",)
