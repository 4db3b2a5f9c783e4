"""Uploads go straight to disk in the archive's upload folder and stop at the configured size."""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from pipeline.web.errors import error_page


def limit_text() -> str:
    return f"{settings.YUETAN_UPLOAD_MAX_BYTES // (1024 * 1024)} MiB"


class UploadLimitMiddleware:
    """A request that announces a body over the limit is refused (413) before a byte of it is read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.YUETAN_UPLOAD_MAX_BYTES:
            return error_page(request, 413, f"上传内容共 {length // (1024 * 1024)} MiB，超过 {limit_text()} 的上限："
                                            "请分批上传，或请系统管理员调整 yuetan.toml 的 [web] upload_max_mb")
        return self.get_response(request)


class LimitedUploadHandler(TemporaryFileUploadHandler):
    """Every file to a temporary file on disk (none held in memory), counting the bytes of a body whose
    length was not announced (chunked), and stopping at the limit."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.YUETAN_UPLOAD_MAX_BYTES:
            raise RequestDataTooBig(f"上传内容超过 {limit_text()} 的上限")
        return super().receive_data_chunk(raw_data, start)
