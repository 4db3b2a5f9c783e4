"""保管与销毁, 导出: thin views over the core's retention, holds, destruction plans and inspector exports. Every rule
(who drafts, approves, witnesses, executes; who receives an export and until when) is the core's."""
from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from pipeline import api
from pipeline.web.accounts.access import record_access
from pipeline.web.accounts.models import AccessEvent
from pipeline.web.core import as_actor
from pipeline.web.errors import api_error
from pipeline.web.labels import KIND_LABELS, OUTCOMES
from pipeline.web.permissions import require

JSON = {"ensure_ascii": False}
PLAN_FILES = ("销毁清册.pdf", "销毁清册.xlsx", "plan.json")


def _dump(model) -> dict:
    return model.model_dump(mode="json")


# --- retention and holds ----------------------------------------------------------------------------------

@require("view_retention")
def retention(request):
    result = _dump(api.retention(request.home, actor=as_actor(request.actor)))
    focus = request.GET.get("case", "").strip()
    rows = [r for r in result["cases"] if not focus or focus in (r["case_id"], r["notice_number"])]
    plans = [_dump(p) for p in api.approvals.plans(request.home, actor=as_actor(request.actor))]
    return render(request, "keeping/retention.html", {"result": result, "rows": rows, "focus": focus, "plans": plans,
                                                      "labels": api.approvals.STATE_LABELS})


@require("view_retention")
def api_retention(request):
    return JsonResponse(_dump(api.retention(request.home, actor=as_actor(request.actor))), json_dumps_params=JSON)


def _hold(request, case: str, reason: str, action: str):
    change = api.hold if action == "hold" else api.release
    return change(request.home, case, reason=reason, actor=as_actor(request.actor))


@require_POST
@require("hold")
def hold(request):
    case, reason = request.POST.get("case", "").strip(), request.POST.get("reason", "").strip()
    action = request.POST.get("action", "hold")
    if not case or not reason or action not in ("hold", "release"):
        messages.error(request, "请写明案件和理由")
        return redirect("keeping:retention")
    done = _hold(request, case, reason, action)
    messages.success(request, f"{'已冻结' if action == 'hold' else '已解除冻结'}：{done.notice_number}（台账第 {done.ledger_seq} 条）")
    return redirect(f"/keeping/?case={done.case_id}")


@require_POST
@require("hold")
def api_holds(request):
    """POST /api/holds with `case`, `reason` and `action` (hold, the default, or release), as form fields or JSON."""
    data = request.POST
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return api_error(400, "请求体不是有效的 JSON")
    case, reason = str(data.get("case", "")).strip(), str(data.get("reason", "")).strip()
    action = str(data.get("action", "hold"))
    if not case or not reason or action not in ("hold", "release"):
        return api_error(400, "请给出 case（案件编号或文号）、reason（理由），action 为 hold 或 release")
    return JsonResponse(_dump(_hold(request, case, reason, action)), status=201, json_dumps_params=JSON)


hold.methods = api_holds.methods = ("post",)


# --- destruction plans --------------------------------------------------------------------------------------

@require_POST
@require("draft_plan")
def draft(request):
    plan = api.approvals.draft_plan(request.home, actor=as_actor(request.actor))
    if plan is None:
        messages.info(request, "目前没有到期且未冻结的案件，未编制销毁清册")
        return redirect("keeping:retention")
    messages.success(request, f"已编制销毁清册 {plan.plan_id}（{plan.cases} 卷），待审批人审批")
    return redirect("keeping:plan", plan_id=plan.plan_id)


draft.methods = ("post",)


def _name_codes(request, cases: list[dict]) -> None:
    """Each case's 档号, looked up for rows written before the core put it there (an older plan.json)."""
    missing = [c["case_id"] for c in cases if not c.get("archival_code")]
    codes = api.archival_codes(request.home, missing, actor=as_actor(request.actor)) if missing else {}
    for case in cases:
        case["archival_code"] = case.get("archival_code") or codes.get(case["case_id"], "")


def _plan(request, plan_id: str) -> dict:
    try:
        return _dump(api.approvals.plan_state(request.home, plan_id, actor=as_actor(request.actor)))
    except api.InvalidArgument:
        raise Http404(plan_id) from None


@require("view_retention")
def plan(request, plan_id: str):
    state = _plan(request, plan_id)
    _name_codes(request, state["plan"].get("cases", []))
    me = request.user.username
    context = {"p": state, "label": api.approvals.STATE_LABELS[state["state"]], "files": PLAN_FILES,
               "needed": api.approvals.WITNESSES_NEEDED,
               "may_review": state["state"] == "drafted" and me != state["created_by"],
               "may_witness": state["state"] == "approved" and me != state["approver"] and me not in state["witnesses"],
               "may_execute": state["state"] == "witnessed"}
    return render(request, "keeping/plan.html", context)


@require("view_retention")
def plan_file(request, plan_id: str, name: str):
    try:
        path = api.approvals.plan_file(request.home, plan_id, name, actor=as_actor(request.actor))
    except api.InvalidArgument:
        raise Http404(name) from None
    record_access(request, AccessEvent.PLAN_DOWNLOAD, target=f"{plan_id}/{name}")
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"{plan_id}-{name}")


@require_POST
@require("approve_plan")
def review(request, plan_id: str):
    decision = request.POST.get("decision")
    if decision not in ("approve", "reject"):
        messages.error(request, "请选择批准或驳回")
        return redirect("keeping:plan", plan_id=plan_id)
    api.approvals.review_plan(request.home, plan_id, actor=as_actor(request.actor), approve=decision == "approve",
                              reason=request.POST.get("reason", ""))
    messages.success(request, f"已{'批准' if decision == 'approve' else '驳回'}销毁清册 {plan_id}")
    return redirect("keeping:plan", plan_id=plan_id)


@require_POST
@require("witness_destruction")
def witness(request, plan_id: str):
    api.approvals.witness_plan(request.home, plan_id, actor=as_actor(request.actor),
                               reason=request.POST.get("reason") or "到场监销")
    messages.success(request, f"已确认监销销毁清册 {plan_id}")
    return redirect("keeping:plan", plan_id=plan_id)


@require_POST
@require("execute_plan")
def execute(request, plan_id: str):
    result = api.approvals.execute_plan(request.home, plan_id, actor=as_actor(request.actor))
    purged = sum(1 for c in result.cases if c.status == "purged")
    messages.success(request, f"销毁清册 {plan_id} 已执行：销毁 {purged} 卷，保留销毁记录（批准人 {result.approved_by}）")
    return redirect("keeping:plan", plan_id=plan_id)


review.methods = witness.methods = execute.methods = ("post",)


# --- exports for inspectors ---------------------------------------------------------------------------------

class ExportForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="检索词")
    kind = forms.ChoiceField(required=False, choices=[("", "全部")] + list(KIND_LABELS.items()), label="约谈对象")
    ground = forms.RegexField(required=False, regex=r"^\d{1,2}(\.\d{1,2})?$", max_length=8, label="事由")
    organizer = forms.CharField(required=False, max_length=100, label="组织方")
    region = forms.RegexField(required=False, regex=r"^\d{2,12}$", max_length=12, label="区划")
    outcome = forms.ChoiceField(required=False, choices=[("", "全部")] + list(OUTCOMES.items()), label="处理结果")
    date_from = forms.DateField(required=False, label="约谈日期自")
    date_to = forms.DateField(required=False, label="约谈日期至")
    grantee = forms.ChoiceField(label="接收的检查人员账户")
    until = forms.DateField(label="授权截止日期")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        inspectors = User.objects.filter(groups__name="inspector", is_active=True).order_by("username")
        self.fields["grantee"].choices = [(u.username, f"{u.first_name or u.username}（{u.username}）")
                                          for u in inspectors]

    def filters(self) -> api.ExportFilters:
        d = self.cleaned_data
        return api.ExportFilters(query=d["q"] or None, kind=d["kind"] or None, ground=d["ground"] or None,
                                 organizer=d["organizer"] or None, region=d["region"] or None,
                                 outcome=d["outcome"] or None, date_from=d["date_from"], date_to=d["date_to"])


@require("view_exports")
def exports(request):
    return _exports_page(request, ExportForm())


def _exports_page(request, form, status: int = 200):
    listed = [_dump(e) for e in api.approvals.exports(request.home, actor=as_actor(request.actor))]
    codes = api.archival_codes(request.home, [c for e in listed for c in e["case_ids"]], actor=as_actor(request.actor))
    for export in listed:
        export["cases_named"] = [{"case_id": c, "archival_code": codes.get(c, "")} for c in export["case_ids"]]
    return render(request, "keeping/exports.html", {"form": form, "exports": listed,
                                                    "labels": api.approvals.STATE_LABELS}, status=status)


@require_POST
@require("prepare_export")
def prepare_export(request):
    form = ExportForm(request.POST)
    if not form.is_valid():
        return _exports_page(request, form, status=400)
    done = api.approvals.prepare_export(request.home, form.filters(), actor=as_actor(request.actor),
                                        grantee=form.cleaned_data["grantee"], until=form.cleaned_data["until"])
    messages.success(request, f"已准备导出 {done.export_id}（{done.cases} 个案件），待审批人审批")
    return redirect("keeping:exports")


prepare_export.methods = ("post",)


@require_POST
@require("approve_export")
def review_export(request, export_id: str):
    decision = request.POST.get("decision")
    if decision not in ("approve", "reject"):
        messages.error(request, "请选择批准或驳回")
        return redirect("keeping:exports")
    try:
        api.approvals.review_export(request.home, export_id, actor=as_actor(request.actor),
                                    approve=decision == "approve", reason=request.POST.get("reason", ""))
    except api.InvalidArgument as exc:
        if "没有导出" in exc.message:
            raise Http404(export_id) from None
        raise
    messages.success(request, f"已{'批准' if decision == 'approve' else '驳回'}导出 {export_id}")
    return redirect("keeping:exports")


review_export.methods = ("post",)


@require("receive_export")
def granted(request):
    mine = [_dump(e) for e in api.approvals.exports(request.home, actor=as_actor(request.actor),
                                                   grantee=request.user.username)]
    return render(request, "keeping/granted.html", {"exports": mine, "labels": api.approvals.STATE_LABELS})


@require("receive_export")
def download_export(request, export_id: str):
    try:
        path = api.approvals.export_file(request.home, export_id, actor=as_actor(request.actor))
    except api.authority.PermissionRefused:
        raise
    except api.InvalidArgument:
        raise Http404(export_id) from None
    record_access(request, AccessEvent.EXPORT_DOWNLOAD, target=export_id)
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"{export_id}.zip")
