"""整理与移交: the year's 案卷目录 (shown, and as XLSX and PDF to download) and the yearly handover to the
comprehensive archive (prepared by an archivist for a receiving unit, kept in the archive, found again through
its ledger entry). Thin over pipeline.api: who may do what is the core's table, the files are the core's to find
(by year, or by the handover's id in the ledger), never a path from the request."""
from __future__ import annotations

import tempfile
from pathlib import Path

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from pipeline import api
from pipeline.web.accounts.access import record_access
from pipeline.web.accounts.models import AccessEvent
from pipeline.web.core import as_actor
from pipeline.web.permissions import require

# The handover's copies by the names the URLs use (the core's own names are Chinese file names).
COPIES = {"form.pdf": "移交清单.pdf", "catalogue.xlsx": "案卷目录.xlsx", "catalogue.pdf": "案卷目录.pdf"}


class HandoverForm(forms.Form):
    year = forms.IntegerField(min_value=1900, max_value=2999, label="年度（结案年度）")
    receiver = forms.CharField(max_length=100, min_length=2, label="接收单位", strip=True,
                               help_text="印在移交清单上，如：江西省档案馆")

    def clean_receiver(self):
        """The core's rule for text that is archived (no control or bidi characters), with its message."""
        receiver = self.cleaned_data["receiver"]
        try:
            return api.plain_text(receiver, "接收单位")
        except api.InvalidArgument as exc:
            raise forms.ValidationError(exc.message) from None


def _catalogue_year(request, years: list[dict]) -> int | None:
    asked = request.GET.get("year", "").strip()
    if asked:
        if not asked.isdigit() or not 1900 <= int(asked) <= 2999:
            raise Http404(asked)
        return int(asked)
    return int(years[0]["key"]) if years else None


@require("read_catalogue")
def index(request):
    actor = as_actor(request.actor)
    years = [y.model_dump(mode="json") for y in api.catalogue_years(request.home, actor=actor)]
    year = _catalogue_year(request, years)
    catalogue = api.catalogue(request.home, year, actor=actor).model_dump(mode="json") if year else None
    handovers = [h.model_dump(mode="json") for h in api.handovers(request.home, actor=actor)]
    form = HandoverForm(initial={"year": year})
    return render(request, "arrangement/index.html", {
        "years": years, "year": year, "year_key": str(year or ""), "catalogue": catalogue, "handovers": handovers, "form": form,
        "handed_over": [h for h in handovers if h["year"] == year]})


@require("read_catalogue")
def catalogue_file(request, year: int, fmt: str):
    """The year's catalogue written by the core into a private temporary folder and sent; nothing is kept."""
    actor = as_actor(request.actor)
    found = api.catalogue(request.home, year, actor=actor)
    if not found.rows:
        raise Http404(f"{year} 年度没有档号")
    tmp = tempfile.TemporaryDirectory(prefix="yuetan-web-")
    path = Path(tmp.name) / f"catalogue.{fmt}"
    try:
        written = api.catalogue(request.home, year, path, actor=actor)
    except BaseException:
        tmp.cleanup()
        raise
    record_access(request, AccessEvent.CATALOGUE_DOWNLOAD, target=str(year),
                  details={"format": fmt, "rows": len(written.rows)})
    response = FileResponse(path.open("rb"), as_attachment=True, filename=f"{year}年度{written.title}.{fmt}")
    response._resource_closers.append(tmp.cleanup)
    return response


@require_POST
@require("hand_over")
def prepare_handover(request):
    form = HandoverForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}：{'，'.join(errors)}" if label else "，".join(errors))
        return redirect("arrangement:index")
    year, receiver = form.cleaned_data["year"], form.cleaned_data["receiver"]
    try:
        done = api.keep_handover(request.home, year, actor=as_actor(request.actor), receiver=receiver)
    except api.authority.PermissionRefused:
        raise
    except api.InvalidArgument as exc:          # nothing to hand over, a dossier that fails verification
        messages.error(request, f"未编制 {year} 年度移交：{exc.message}")
        return redirect(f"/arrangement/?year={year}")
    messages.success(request, f"已编制 {year} 年度移交 {done.handover_id}：{len(done.archival_codes)} 卷、{done.pages} 页，"
                              f"移交给{receiver}（台账第 {done.ledger_seq} 条）")
    return redirect(f"/arrangement/?year={year}#handover-{done.handover_id}")


prepare_handover.methods = ("post",)


def _handover_file(request, handover_id: str, name: str, filename: str) -> FileResponse:
    try:
        path = api.handover_file(request.home, handover_id, name, actor=as_actor(request.actor))
    except api.authority.PermissionRefused:
        raise
    except api.InvalidArgument:
        raise Http404(handover_id) from None
    record_access(request, AccessEvent.HANDOVER_DOWNLOAD, target=f"{handover_id}/{name}")
    response = FileResponse(path.open("rb"), as_attachment=True, filename=filename)
    response["Cache-Control"] = "private, no-store"
    return response


@require("hand_over")
def handover_package(request, handover_id: str):
    """The package (every dossier of the year): only for who hands the year over."""
    return _handover_file(request, handover_id, "package", f"{handover_id}.zip")


@require("read_catalogue")
def handover_copy(request, handover_id: str, name: str):
    """The 移交清单 and the catalogue as handed over, to check and sign."""
    if name not in COPIES:
        raise Http404(name)
    return _handover_file(request, handover_id, COPIES[name], f"{handover_id}-{COPIES[name]}")
