"""入库: upload case zips, see each checked, then ingested stage by stage; `POST /api/ingest` for programs."""
from __future__ import annotations

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from pipeline.web import core
from pipeline.web.errors import api_error
from pipeline.web.intake import jobs
from pipeline.web.intake.models import STAGES, IngestJob
from pipeline.web.permissions import require

PIPELINE_STAGES = [s for s in STAGES if s[0] not in ("upload", "done")]
SUCCESS = {"ingested": 201, "superseded": 201, "completed": 201, "unchanged": 200}
FAILURE = {"refused": 400, "conflict": 409, "failed": 500}


@require("ingest")
def upload(request):
    if request.method == "POST":
        files = request.FILES.getlist("bundle")
        if not files:
            messages.error(request, "请选择至少一个案件 zip 文件")
            return render(request, "intake/upload.html", _upload_context(), status=400)
        job = jobs.create_job(request.home, files, account=request.actor.name, role=request.actor.role)
        return redirect("intake:job", job_id=job.pk)
    jobs.mark_interrupted()
    return render(request, "intake/upload.html", _upload_context())


def _upload_context() -> dict:
    return {"recent": IngestJob.objects.prefetch_related("items")[:10]}


@require("ingest")
def job(request, job_id: int):
    return render(request, "intake/job.html", _job_context(job_id))


@require("ingest")
def progress(request, job_id: int):
    """The fragment htmx fetches every second while the job runs (it stops asking once finished)."""
    return render(request, "intake/_progress.html", _job_context(job_id))


def _job_context(job_id: int) -> dict:
    job = get_object_or_404(IngestJob, pk=job_id)
    items = list(job.items.all())
    for item in items:
        reached = [s for s, _ in STAGES].index(item.stage) if item.stage in dict(STAGES) else 0
        item.stage_marks = [(label, "done" if i + 1 < reached or item.stage == "done" else
                             "now" if i + 1 == reached and not item.finished else "")
                            for i, (_s, label) in enumerate(PIPELINE_STAGES)]
    return {"job": job, "items": items, "running": job.active}


@require_POST
@require("ingest")
def api_ingest(request):
    """One case zip in the multipart field `bundle`: 201 with the ingest row, or 4xx with the check's errors
    and nothing stored."""
    uploaded = request.FILES.get("bundle")
    if uploaded is None:
        return api_error(400, "请在 multipart 字段 bundle 中上传一个案件 zip")
    name = f"api-{request.actor.name.encode('utf-8').hex()[:16]}-{id(uploaded):x}.zip"
    path = jobs.keep_upload(request.home, uploaded, name)
    try:
        if not jobs.is_zip(path):
            return api_error(400, "上传的不是 zip 文件", errors=jobs.refusal_for_non_zip(uploaded.name or "bundle"))
        report = core.check(path)
        if not report["valid"]:
            return api_error(400, f"案件不符合数据契约，共 {len(report['errors'])} 处问题，未入库",
                             errors=report["errors"])
        row = core.ingest(request.home, path, actor=request.actor)
    finally:
        path.unlink(missing_ok=True)
    status = SUCCESS.get(row["status"]) or FAILURE.get(row["status"], 500)
    return JsonResponse(row, status=status, json_dumps_params={"ensure_ascii": False})


api_ingest.methods = ("post",)
