"""Uploads kept under names the server chooses, checked by the same intake as the command line before anything is
stored, then ingested one by one in a background thread whose progress (stage per case) lives in the database, so
any server process can show it."""
from __future__ import annotations

import logging
import os
import shutil
import threading
from pathlib import Path

from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from pipeline.api import ArchiveHome
from pipeline.web import core
from pipeline.web.accounts.roles import WebActor
from pipeline.web.config import UPLOAD_DIR
from pipeline.web.intake.models import IngestItem, IngestJob

log = logging.getLogger("pipeline.web")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def upload_folder(home: ArchiveHome) -> Path:
    return home.path / UPLOAD_DIR


def keep_upload(home: ArchiveHome, uploaded, name: str) -> Path:
    """Move Django's temporary upload file to `name` (server-chosen) in the upload folder."""
    dest = upload_folder(home) / name
    temporary = getattr(uploaded, "temporary_file_path", None)
    if temporary is not None:
        shutil.move(temporary(), dest)
    else:                                        # not reached with our handlers; kept for completeness
        with dest.open("wb") as out:
            for chunk in uploaded.chunks():
                out.write(chunk)
    os.chmod(dest, 0o600)
    return dest


def is_zip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) in ZIP_MAGIC


def refusal_for_non_zip(name: str) -> list[dict]:
    return [{"path": name, "message": "不是 zip 文件：请把案件文件夹（含 case.json 与上传材料）压缩为 zip 后上传"}]


def create_job(home: ArchiveHome, files, *, account: str, role: str) -> IngestJob:
    """Keep every upload, check each; refused ones are finished at once with their problems, nothing stored."""
    with transaction.atomic():
        job = IngestJob.objects.create(account=account, role=role, pid=os.getpid())
    for seq, uploaded in enumerate(files, start=1):
        item = IngestItem(job=job, seq=seq, name=os.path.basename(uploaded.name or "")[:255] or f"第{seq}个文件",
                          size=uploaded.size, upload=f"job{job.pk}-{seq}.zip", stage="check")
        path = keep_upload(home, uploaded, item.upload)
        if not is_zip(path):
            _refuse(item, path, refusal_for_non_zip(item.name))
            continue
        report = core.check(path)
        if not report["valid"]:
            _refuse(item, path, report["errors"])
            continue
        item.case_id = report["case_id"] or ""
        item.notice_number = report["notice_number"] or ""
        item.save()
    if job.items.filter(status=IngestItem.PENDING).exists():
        start(home, job)
    else:
        _finish(job)
    return job


def _refuse(item: IngestItem, path: Path, problems: list[dict]) -> None:
    path.unlink(missing_ok=True)
    item.status, item.stage, item.problems = "refused", "check", problems
    item.message = f"不符合数据契约，共 {len(problems)} 处问题，未入库"
    item.save()


def start(home: ArchiveHome, job: IngestJob) -> threading.Thread:
    thread = threading.Thread(target=_run, args=(home, job.pk), name=f"ingest-job-{job.pk}", daemon=True)
    thread.start()
    return thread


def _run(home: ArchiveHome, job_id: int) -> None:
    close_old_connections()
    try:
        job = IngestJob.objects.get(pk=job_id)
        IngestJob.objects.filter(pk=job_id).update(state=IngestJob.RUNNING, pid=os.getpid())
        for item in job.items.filter(status=IngestItem.PENDING).order_by("seq"):
            path = upload_folder(home) / item.upload
            IngestItem.objects.filter(pk=item.pk).update(status="running", stage="check")

            def on_stage(stage: str, pk=item.pk) -> None:
                IngestItem.objects.filter(pk=pk).update(stage=stage)
            try:
                row = core.ingest(home, path, actor=WebActor(job.account, job.role), on_stage=on_stage)
            except Exception as exc:  # noqa: BLE001 - the core reports failures as rows; this is the last guard
                log.exception("ingest job %s item %s", job_id, item.seq)
                row = {"status": "failed", "message": f"内部错误（{type(exc).__name__}），该案件未入库"}
            finally:
                path.unlink(missing_ok=True)
            IngestItem.objects.filter(pk=item.pk).update(
                status=row["status"], stage="done", result=row, message=row.get("message") or "",
                case_id=row.get("case_id") or item.case_id, notice_number=row.get("notice_number") or "",
                problems=row.get("problems") or [])
        _finish(IngestJob.objects.get(pk=job_id))
    finally:
        connection.close()


def _finish(job: IngestJob) -> None:
    IngestJob.objects.filter(pk=job.pk).update(state=IngestJob.FINISHED, finished_at=timezone.now())


def mark_interrupted() -> int:
    """Jobs whose server process is gone will never finish: say so (their cases were ingested whole or not
    at all; uploading again completes them)."""
    stale = [j.pk for j in IngestJob.objects.filter(state__in=[IngestJob.QUEUED, IngestJob.RUNNING])
             if not _alive(j.pid)]
    return IngestJob.objects.filter(pk__in=stale).update(state=IngestJob.INTERRUPTED, finished_at=timezone.now())


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
