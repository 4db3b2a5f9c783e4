"""Django's settings, made from the archive home (its `yuetan.toml` `[web]` section and its files) in one place.

Nothing else reads settings from the environment or from module globals: `configure(home)` is called once per
process (by `yuetan serve`, `yuetan user` and the tests) before anything imports a Django model.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path

from pipeline.api import ArchiveHome, ConfigurationError

WEB_DIR = Path(__file__).resolve().parent
UPLOAD_DIR = "web/uploads"                  # uploads are streamed here before the intake checks them
APPS = ["accounts", "cases", "intake", "keeping", "arrangement", "reports", "audit"]


@dataclass(frozen=True)
class WebSettings:
    """The `[web]` section of yuetan.toml; every key optional."""

    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
    behind_tls: bool = False            # behind a TLS proxy: Secure cookies, HSTS, the proxy's scheme header
    upload_max_mb: int = 200            # one request's upload, in MiB
    session_hours: int = 8
    lockout_failures: int = 5           # failed logins before the account (from that address) is locked
    lockout_minutes: int = 30
    workers: int = 2                    # gunicorn worker processes
    timeout_seconds: int = 600          # a synchronous ingest through the API may take minutes


def web_settings(home: ArchiveHome) -> WebSettings:
    raw = home.settings.raw.get("web", {})
    where = home.path / "yuetan.toml"
    if not isinstance(raw, dict):
        raise ConfigurationError(f"设置文件 {where} 中 web 应为 [web] 节，实为 {raw!r}")
    known = {f.name: f for f in fields(WebSettings)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigurationError(f"设置文件 {where} 的 [web] 节中有不认识的键：{'、'.join(unknown)}"
                                 f"（可用：{'、'.join(known)}）")
    values = {}
    for name, value in raw.items():
        default = getattr(WebSettings(), name)
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise ConfigurationError(f"设置文件 {where} 中 web.{name} 应为字符串列表，实为 {value!r}")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigurationError(f"设置文件 {where} 中 web.{name} 应为 true 或 false，实为 {value!r}")
        elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigurationError(f"设置文件 {where} 中 web.{name} 应为正整数，实为 {value!r}")
        values[name] = value
    return WebSettings(**values)


def read_secret_key(home: ArchiveHome) -> str:
    """The key `yuetan init` made; refused if others may read it."""
    path = home.web_secret_key
    try:
        mode = path.stat().st_mode
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise ConfigurationError(f"档案库 {home.path} 缺少网页服务的密钥 {path}：请运行 "
                                 f"yuetan --home {home.path} init（已有档案库不受影响，只补上缺少的密钥）") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"无法读取网页服务的密钥 {path}（{exc}）") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(f"网页服务的密钥 {path} 的权限为 {stat.S_IMODE(mode):04o}，他人可读："
                                 f"请执行 chmod 600 {path}")
    if len(key) < 40:
        raise ConfigurationError(f"网页服务的密钥 {path} 太短（{len(key)} 个字符），请删除后重新运行 yuetan init")
    return key


def database_settings(home: ArchiveHome) -> dict:
    """Django's tables live in the archive's own database: the catalog's SQLite file, or its PostgreSQL database
    for a province. `[catalog]` is read in one place (archive_store.database) for the archive and Django alike,
    so the two never point at different databases or read the password differently."""
    return {"default": home.catalog_location.django_database()}


def django_settings(home: ArchiveHome, *, testing: bool = False) -> dict:
    """Every Django setting, from the home. `testing` only adds the test client's host name."""
    web = web_settings(home)
    hosts = list(web.allowed_hosts) + (["testserver"] if testing else [])
    upload_dir = home.path / UPLOAD_DIR
    return dict(
        DEBUG=False,                                    # never: no traceback reaches a browser
        SECRET_KEY=read_secret_key(home),
        ALLOWED_HOSTS=hosts,
        YUETAN_HOME=str(home.path),
        YUETAN_WEB=web,
        INSTALLED_APPS=[
            "django.contrib.admin.apps.SimpleAdminConfig", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
            "django.contrib.messages", "whitenoise.runserver_nostatic", "django.contrib.staticfiles", "axes",
            "pipeline.web",
            *[f"pipeline.web.{app}" for app in APPS],
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "whitenoise.middleware.WhiteNoiseMiddleware",
            "pipeline.web.intake.uploads.UploadLimitMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "pipeline.web.accounts.middleware.TokenAuthenticationMiddleware",
            "pipeline.web.accounts.middleware.ArchiveMiddleware",
            "pipeline.web.errors.YuetanErrorMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
            "csp.middleware.CSPMiddleware",
            "axes.middleware.AxesMiddleware",
        ],
        ROOT_URLCONF="pipeline.web.urls",
        TEMPLATES=[{
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [WEB_DIR / "templates"],
            "APP_DIRS": True,
            "OPTIONS": {"context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pipeline.web.accounts.context.navigation",
            ]},
        }],
        WSGI_APPLICATION=None,
        DATABASES=database_settings(home),
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        AUTHENTICATION_BACKENDS=["axes.backends.AxesStandaloneBackend",
                                 "pipeline.web.accounts.backends.RoleBackend"],
        PASSWORD_HASHERS=["django.contrib.auth.hashers.Argon2PasswordHasher"],
        AUTH_PASSWORD_VALIDATORS=[
            {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
            {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
            {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
            {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
        ],
        LOGIN_URL="/login/",
        LOGIN_REDIRECT_URL="/",
        LOGOUT_REDIRECT_URL="/login/",
        LANGUAGE_CODE="zh-hans",
        TIME_ZONE="Asia/Shanghai",
        USE_I18N=True,
        USE_TZ=True,
        STATIC_URL="/static/",
        STATICFILES_DIRS=[WEB_DIR / "static"],
        STORAGES={"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
                  "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                              "OPTIONS": {"location": str(upload_dir)}}},
        WHITENOISE_USE_FINDERS=True,                   # serve straight from the package: no collectstatic step
        WHITENOISE_AUTOREFRESH=False,
        # Uploads: every file goes to disk (never held in memory), the request is refused past the limit.
        FILE_UPLOAD_HANDLERS=["pipeline.web.intake.uploads.LimitedUploadHandler"],
        FILE_UPLOAD_MAX_MEMORY_SIZE=0,
        FILE_UPLOAD_TEMP_DIR=str(upload_dir),
        FILE_UPLOAD_PERMISSIONS=0o600,
        DATA_UPLOAD_MAX_MEMORY_SIZE=2 * 1024 * 1024,
        DATA_UPLOAD_MAX_NUMBER_FIELDS=200,
        DATA_UPLOAD_MAX_NUMBER_FILES=50,
        YUETAN_UPLOAD_MAX_BYTES=web.upload_max_mb * 1024 * 1024,
        # Sessions and cookies.
        SESSION_ENGINE="django.contrib.sessions.backends.db",
        SESSION_COOKIE_AGE=web.session_hours * 3600,
        SESSION_EXPIRE_AT_BROWSER_CLOSE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="yuetan_session",
        SESSION_COOKIE_SECURE=web.behind_tls,
        CSRF_COOKIE_HTTPONLY=True,
        CSRF_COOKIE_SAMESITE="Lax",
        CSRF_COOKIE_SECURE=web.behind_tls,
        CSRF_FAILURE_VIEW="pipeline.web.errors.csrf_failure",
        SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https") if web.behind_tls else None,
        SECURE_HSTS_SECONDS=31536000 if web.behind_tls else 0,
        SECURE_CONTENT_TYPE_NOSNIFF=True,
        SECURE_REFERRER_POLICY="same-origin",
        SECURE_CROSS_ORIGIN_OPENER_POLICY="same-origin",
        X_FRAME_OPTIONS="DENY",
        CONTENT_SECURITY_POLICY={"DIRECTIVES": {
            "default-src": ["'self'"],
            "script-src": ["'self'"],                        # no inline script, no eval
            "style-src": ["'self'", "'unsafe-inline'"],      # ECharts positions its tooltips with style attributes
            "img-src": ["'self'", "data:"],
            "object-src": ["'none'"],
            "frame-src": ["'self'"],                         # the dossier viewer embeds our own PDF
            "frame-ancestors": ["'none'"],
            "base-uri": ["'self'"],
            "form-action": ["'self'"],
        }},
        # Lock-out after repeated failed logins (django-axes); the system administrator can lift it.
        AXES_FAILURE_LIMIT=web.lockout_failures,
        AXES_COOLOFF_TIME=timedelta(minutes=web.lockout_minutes),
        AXES_LOCKOUT_PARAMETERS=["username"],            # the account is locked, wherever the guesses come from
        AXES_LOCKOUT_TEMPLATE="accounts/locked.html",
        AXES_RESET_ON_SUCCESS=True,
        AXES_DISABLE_ACCESS_LOG=True,                    # our access log records logins, failures and reads
        AXES_VERBOSE=False,
        # Warnings to stderr once, in the command line's format (its root handler is not repeated: no propagation).
        LOGGING={"version": 1, "disable_existing_loggers": False,
                 "formatters": {"yuetan": {"format": "%(asctime)s %(name)s %(message)s", "datefmt": "%H:%M:%S"}},
                 "filters": {"refusals": {"()": "pipeline.web.errors.RefusalWithoutTraceback"}},
                 "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "yuetan",
                                          "filters": ["refusals"]}},
                 "loggers": {"django": {"handlers": ["console"], "level": "WARNING", "propagate": False},
                             "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False}}},
    )


_configured_home: Path | None = None


def configure(home: ArchiveHome, *, testing: bool = False) -> None:
    """Configure Django for this archive and load its apps; once per process."""
    global _configured_home
    import django
    from django.conf import settings

    if _configured_home is not None:
        if _configured_home != home.path.resolve():
            raise ConfigurationError(f"本进程已为档案库 {_configured_home} 配置网页服务，不能再用于 {home.path}")
        return
    (home.path / UPLOAD_DIR).mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(home.path / UPLOAD_DIR, 0o700)
    settings.configure(**django_settings(home, testing=testing))
    django.setup()
    _configured_home = home.path.resolve()


# the catalog migrate's advisory lock key (archive_store.migrate): "yuetan"
DJANGO_MIGRATE_LOCK = 0x79756574616E


def migrate(*, verbosity: int = 0) -> None:
    """Bring the catalog's own schema, then Django's tables, up to date in the archive's database (idempotent):
    account changes write their ledger entry in the same transaction, so the ledger must exist first."""
    from django.conf import settings
    from django.core.management import call_command

    from pipeline.api import open_archive

    open_archive(Path(settings.YUETAN_HOME)).catalog().close()
    from django.db import connection

    if connection.vendor != "postgresql":        # SQLite: the write lock serialises it already
        call_command("migrate", interactive=False, verbosity=verbosity)
        return
    # a province: several nodes may start at once; one at a time changes Django's tables (the catalog's own
    # migrate takes the same lock)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [DJANGO_MIGRATE_LOCK])
    try:
        call_command("migrate", interactive=False, verbosity=verbosity)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [DJANGO_MIGRATE_LOCK])
