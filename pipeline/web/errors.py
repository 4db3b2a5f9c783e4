"""Error pages in Chinese, never a traceback: 400/403/404/500, the CSRF refusal, and the core's own errors
(each YuetanError class has its HTTP status here, as it has its exit status for the command line)."""
from __future__ import annotations

import logging

from django.http import HttpResponse, JsonResponse
from django.template import loader

from pipeline.api import ExitCode, InvalidCase, YuetanError
from pipeline.api.authority import PermissionRefused

log = logging.getLogger("pipeline.web")

TITLES = {400: "请求有误", 401: "请先登录", 403: "无权访问", 404: "未找到", 405: "不支持的操作", 409: "与档案库现状冲突",
          413: "上传文件过大", 422: "核验未通过", 500: "服务器内部错误", 503: "服务暂不可用"}


def is_api(request) -> bool:
    return request.path.startswith("/api/")


def api_error(status: int, message: str, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status, json_dumps_params={"ensure_ascii": False})


def error_page(request, status: int, message: str, **extra) -> HttpResponse:
    if request is not None and is_api(request):
        return api_error(status, message, **extra)
    try:
        body = loader.render_to_string("errors/error.html", {
            "status": status, "title": TITLES.get(status, "出错了"), "message": message, **extra}, request=request)
    except Exception:  # noqa: BLE001 - the error page itself must not fail
        log.exception("error page could not be rendered")
        body = f"<!doctype html><meta charset=utf-8><title>{status}</title><h1>{TITLES.get(status, '出错了')}</h1>"
    return HttpResponse(body, status=status)


# The HTTP status of each exit status of the exception hierarchy (archive_store.errors.ExitCode).
HTTP_STATUS = {ExitCode.invalid_input: 400, ExitCode.archive_conflict: 409, ExitCode.failed_check: 422,
               ExitCode.configuration: 503, ExitCode.external_program: 503, ExitCode.conversion_failed: 500}


def status_of(exc: YuetanError) -> int:
    if isinstance(exc, PermissionRefused):
        return 403
    return HTTP_STATUS.get(exc.exit_code, 500)


def bad_request(request, exception=None):
    return error_page(request, 400, "请求无法处理：请检查所填内容后重试。")


def permission_denied(request, exception=None):
    message = str(exception) if exception and str(exception) else "您的账户无权访问此页面。"
    return error_page(request, 403, message)


def page_not_found(request, exception=None):
    return error_page(request, 404, "您要找的页面或文件不存在。")


def server_error(request):
    return error_page(request, 500, "服务器处理请求时出错，已记录。请稍后重试；如一再出现，请联系系统管理员。")


def csrf_failure(request, reason=""):
    return error_page(request, 403, "表单已过期或来源不明（CSRF 校验未通过）：请返回上一页刷新后重新提交。")


class YuetanErrorMiddleware:
    """A core error raised in a view becomes its Chinese message with the matching status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, YuetanError):
            extra = {}
            if isinstance(exception, InvalidCase):
                extra["errors"] = [{"path": p.path, "message": p.message} for p in exception.problems]
            return error_page(request, status_of(exception), exception.message, **extra)
        return None


class RefusalWithoutTraceback(logging.Filter):
    """A 403 is an account lacking a role, not a fault: Django's one-line warning stays, its traceback goes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
