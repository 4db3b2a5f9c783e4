"""An ingest started from the browser: a job of one or several uploaded case zips, each an item whose stage and
result the page shows as it goes. The uploads themselves are files with names the server chose."""
from __future__ import annotations

from django.db import models
from django.utils import timezone

STAGES = [("upload", "上传"), ("check", "核验"), ("normalise", "规范化"), ("render", "生成公文"), ("convert", "转换"),
          ("assemble", "组卷"), ("seal", "封存"), ("store", "存储"), ("index", "编入索引"), ("done", "完成")]
STAGE_LABELS = dict(STAGES)


class IngestJob(models.Model):
    QUEUED, RUNNING, FINISHED, INTERRUPTED = "queued", "running", "finished", "interrupted"
    STATES = {QUEUED: "排队中", RUNNING: "入库中", FINISHED: "已完成", INTERRUPTED: "已中断（服务重启），请重新上传"}

    account = models.CharField(max_length=150)
    role = models.CharField(max_length=20)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=12, default=QUEUED)
    pid = models.IntegerField(default=0)           # the server process running it: a dead one means interrupted

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def state_label(self) -> str:
        return self.STATES.get(self.state, self.state)

    @property
    def active(self) -> bool:
        return self.state in (self.QUEUED, self.RUNNING)


class IngestItem(models.Model):
    PENDING = "pending"
    job = models.ForeignKey(IngestJob, on_delete=models.CASCADE, related_name="items")
    seq = models.IntegerField()
    name = models.CharField(max_length=255)                 # the uploaded file's name, shown only
    upload = models.CharField(max_length=100, blank=True)   # file name in the upload folder, chosen by the server
    size = models.BigIntegerField(default=0)
    stage = models.CharField(max_length=12, default="upload")
    status = models.CharField(max_length=12, default=PENDING)    # pending, running, or the core's ingest status
    case_id = models.CharField(max_length=100, blank=True)
    notice_number = models.CharField(max_length=100, blank=True)
    message = models.TextField(blank=True)
    problems = models.JSONField(default=list, blank=True)       # the check's problems, by key path
    result = models.JSONField(default=dict, blank=True)         # the ingest row, as `yuetan ingest --json`

    class Meta:
        ordering = ["job", "seq"]
        unique_together = [("job", "seq")]

    @property
    def stage_label(self) -> str:
        return STAGE_LABELS.get(self.stage, self.stage)

    @property
    def finished(self) -> bool:
        return self.status not in (self.PENDING, "running")

    @property
    def failed(self) -> bool:
        return self.status in ("refused", "conflict", "failed")
