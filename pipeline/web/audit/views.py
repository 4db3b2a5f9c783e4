"""审计, for the auditor only: the ledger with filters and its chain status, the access log, the archive's audit."""
from __future__ import annotations

from datetime import date

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_POST

from pipeline.api.labels import ACTION_LABELS
from pipeline.web import core
from pipeline.web.accounts.models import AccessEvent
from pipeline.web.errors import error_page
from pipeline.web.permissions import require

PAGE_SIZE = 50


class LedgerFilter(forms.Form):
    actor = forms.CharField(required=False, max_length=150, label="操作人")
    action = forms.ChoiceField(required=False, label="操作", choices=[("", "全部"), *ACTION_LABELS.items()])
    case = forms.CharField(required=False, max_length=100, label="案件编号")
    on_from = forms.DateField(required=False, label="自", input_formats=["%Y-%m-%d"])
    on_to = forms.DateField(required=False, label="至", input_formats=["%Y-%m-%d"])
    page = forms.IntegerField(required=False, min_value=1)


class AccessFilter(forms.Form):
    account = forms.CharField(required=False, max_length=150, label="账户")
    kind = forms.ChoiceField(required=False, label="事件", choices=[("", "全部"), *AccessEvent.KINDS.items()])
    on_from = forms.DateField(required=False, label="自", input_formats=["%Y-%m-%d"])
    on_to = forms.DateField(required=False, label="至", input_formats=["%Y-%m-%d"])
    page = forms.IntegerField(required=False, min_value=1)


def _on_day(stamp: str, first: date | None, last: date | None) -> bool:
    day = stamp[:10]
    return (first is None or day >= first.isoformat()) and (last is None or day <= last.isoformat())


@require("read_ledger")
def ledger(request):
    form = LedgerFilter(request.GET)
    if not form.is_valid():
        return error_page(request, 400, "筛选条件有误：日期应为 YYYY-MM-DD")
    f = form.cleaned_data
    entries = core.ledger_list(request.home, f.get("case") or None, actor=request.actor)
    chosen = [e for e in reversed(entries)
              if (not f.get("actor") or f["actor"] in e["actor"]) and (not f.get("action") or e["action"] == f["action"])
              and _on_day(e["at"], f.get("on_from"), f.get("on_to"))]
    page = Paginator(chosen, PAGE_SIZE).get_page(f.get("page") or 1)
    chain = core.ledger_verify(request.home, actor=request.actor)
    codes = core.archival_codes(request.home, [e["case_id"] for e in page if e["case_id"]], actor=request.actor)
    return render(request, "audit/ledger.html", {"form": form, "page": page, "chain": chain, "codes": codes,
                                                 "labels": ACTION_LABELS, "query": _without_page(request)})


@require("read_access_log")
def access(request):
    form = AccessFilter(request.GET)
    if not form.is_valid():
        return error_page(request, 400, "筛选条件有误：日期应为 YYYY-MM-DD")
    f = form.cleaned_data
    events = AccessEvent.objects.all()
    if f.get("account"):
        events = events.filter(account__contains=f["account"])
    if f.get("kind"):
        events = events.filter(kind=f["kind"])
    if f.get("on_from"):
        events = events.filter(at__date__gte=f["on_from"])
    if f.get("on_to"):
        events = events.filter(at__date__lte=f["on_to"])
    page = Paginator(events, PAGE_SIZE).get_page(f.get("page") or 1)
    named = {e.pk: (e.details or {}).get("case_id") or e.target for e in page
             if e.kind in (AccessEvent.CASE_VIEW, AccessEvent.DOSSIER_DOWNLOAD)}
    codes = core.archival_codes(request.home, named.values(), actor=request.actor)
    for event in page:
        event.archival_code = codes.get(named.get(event.pk, ""), "")
    return render(request, "audit/access.html", {"form": form, "page": page, "query": _without_page(request)})


def _without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@require("run_audit")
def check(request):
    return render(request, "audit/check.html", {})


@require_POST
@require("run_audit")
def run_check(request):
    """Every stored file re-hashed, catalog against store, index against catalog, the ledger chain."""
    return render(request, "audit/_check.html", {"report": core.audit(request.home, actor=request.actor)})


run_check.methods = ("post",)
