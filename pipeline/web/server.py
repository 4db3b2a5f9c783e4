"""gunicorn running the Django application for one archive."""
from __future__ import annotations

import click
from gunicorn.app.base import BaseApplication

from pipeline.api import ArchiveHome


class YuetanServer(BaseApplication):
    def __init__(self, application, options: dict):
        self.application = application
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.application


def run(home: ArchiveHome, *, host: str, port: int, workers: int | None) -> None:
    """Serve until interrupted; Django is already configured and migrated for `home`."""
    from django.core.wsgi import get_wsgi_application
    from django.db import connections

    from pipeline.web.config import web_settings

    web = web_settings(home)
    application = get_wsgi_application()
    connections.close_all()                     # no connection shared across the workers' fork
    click.echo(f"约谈档案网页服务：http://{host}:{port}/ （档案库 {home.path.resolve()}；Ctrl+C 停止）")
    YuetanServer(application, {
        "bind": f"{host}:{port}", "workers": workers or web.workers, "worker_class": "sync",
        "timeout": web.timeout_seconds, "graceful_timeout": 30, "accesslog": None, "errorlog": "-",
        "loglevel": "warning", "proc_name": "yuetan-serve", "forwarded_allow_ips": "127.0.0.1",
        "limit_request_line": 8190,
    }).run()
