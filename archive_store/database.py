"""Where the catalog lives: the ONE place that turns `[catalog]` in yuetan.toml into connection settings, for
the archive's own SQLAlchemy engine and for Django's DATABASES alike (the web application keeps its tables in
the same database), so the two can never point at different databases or read the password differently.

    [catalog]
    url = "postgresql://yuetan@db.example.gov.cn:5432/yuetan?sslmode=verify-full"
    password_env = "YUETAN_CATALOG_PASSWORD"      # read first
    password_file = "secrets/catalog-password"    # else this file (relative to the home, mode 0600)

Without `url` the catalog is the SQLite file catalog.sqlite in the home: a single office needs no server.
A password written into the URL is refused: yuetan.toml is read by many and copied into backups.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from .errors import ConfigurationError

CATALOG_FILE = "catalog.sqlite"
DEFAULT_PASSWORD_ENV = "YUETAN_CATALOG_PASSWORD"
DEFAULT_PASSWORD_FILE = "secrets/catalog-password"
SQLITE_BUSY_TIMEOUT_S = 60
_KEYS = {"url", "password_env", "password_file", "pool_size"}


@dataclass(frozen=True)
class CatalogLocation:
    """A resolved catalog: SQLite (`path`) or PostgreSQL (host, port, database, user, password, options)."""

    dialect: str                       # "sqlite" or "postgresql"
    path: Path | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    user: str | None = None
    password: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    pool_size: int = 5

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def describe(self) -> str:
        """For messages and `yuetan migrate`: never shows the password."""
        if self.is_sqlite:
            return str(self.path)
        return f"postgresql://{self.user or ''}@{self.host or ''}:{self.port or 5432}/{self.database}"

    def sqlalchemy_url(self):
        from sqlalchemy.engine import URL

        if self.is_sqlite:
            return URL.create("sqlite", database=str(self.path))
        return URL.create("postgresql+psycopg", username=self.user, password=self.password, host=self.host,
                          port=self.port, database=self.database, query=dict(self.options))

    def django_database(self) -> dict:
        """Django's DATABASES["default"] for the same database (Django itself is never imported here)."""
        if self.is_sqlite:
            # WAL, waits for the write lock instead of failing, the same pragmas as the catalog's engine
            return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(self.path),
                    "OPTIONS": {"timeout": SQLITE_BUSY_TIMEOUT_S, "transaction_mode": "IMMEDIATE",
                                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                                                f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}"},
                    "CONN_MAX_AGE": 0}
        return {"ENGINE": "django.db.backends.postgresql", "NAME": self.database, "USER": self.user or "",
                "PASSWORD": self.password or "", "HOST": self.host or "", "PORT": str(self.port or ""),
                "OPTIONS": dict(self.options), "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}


def catalog_location(raw_settings: dict, home_path: Path, *, settings_file: Path | None = None) -> CatalogLocation:
    """Read `[catalog]` from the parsed yuetan.toml; the password from the environment or a 0600 file."""
    where = settings_file or Path(home_path) / "yuetan.toml"
    section = raw_settings.get("catalog", {})
    if not isinstance(section, dict):
        raise ConfigurationError(f"设置文件 {where} 中 catalog 应为 [catalog] 节，实为 {section!r}")
    unknown = sorted(set(section) - _KEYS)
    if unknown:
        raise ConfigurationError(f"设置文件 {where} 的 [catalog] 中有不认识的设置：{'、'.join(unknown)}"
                                 f"（可用：{'、'.join(sorted(_KEYS))}）")
    pool_size = section.get("pool_size", 5)
    if not isinstance(pool_size, int) or not 1 <= pool_size <= 100:
        raise ConfigurationError(f"设置文件 {where} 中 catalog.pool_size 应为 1 到 100 的整数，实为 {pool_size!r}")
    url = section.get("url")
    if url is None or url == "":
        return CatalogLocation("sqlite", path=Path(home_path) / CATALOG_FILE)
    if not isinstance(url, str):
        raise ConfigurationError(f"设置文件 {where} 中 catalog.url 应为字符串，实为 {url!r}")
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///relative/to/home.sqlite or sqlite:////absolute/path.sqlite
        path = Path(unquote(parts.path[1:] if parts.path.startswith("/") else parts.path))
        if not str(path):
            raise ConfigurationError(f"设置文件 {where} 中 catalog.url 缺少 SQLite 文件路径：{url}")
        return CatalogLocation("sqlite", path=path if path.is_absolute() else Path(home_path) / path)
    if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise ConfigurationError(f"设置文件 {where} 中 catalog.url 的类型“{parts.scheme}”不受支持："
                                 "应为 postgresql://用户@主机:端口/数据库，或不写（使用档案库中的 SQLite 文件）")
    if parts.password is not None:
        raise ConfigurationError(f"设置文件 {where} 的 catalog.url 中写有口令：口令不得写入 yuetan.toml，"
                                 "请删去，改用环境变量（catalog.password_env）或 0600 权限的口令文件（catalog.password_file）")
    database = unquote(parts.path.lstrip("/"))
    if not database or not parts.hostname:
        raise ConfigurationError(f"设置文件 {where} 中 catalog.url 应写明主机和数据库名，如 "
                                 "postgresql://yuetan@db.example.gov.cn:5432/yuetan")
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"设置文件 {where} 中 catalog.url 的端口无效：{url}") from None
    password = _password(section, Path(home_path), where)
    return CatalogLocation("postgresql", host=parts.hostname, port=port, database=database,
                           user=unquote(parts.username) if parts.username else None, password=password,
                           options=tuple(parse_qsl(parts.query)), pool_size=pool_size)


def _password(section: dict, home_path: Path, where: Path) -> str | None:
    env_name = section.get("password_env", DEFAULT_PASSWORD_ENV)
    file_name = section.get("password_file", DEFAULT_PASSWORD_FILE)
    for key, value in (("password_env", env_name), ("password_file", file_name)):
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"设置文件 {where} 中 catalog.{key} 应为非空字符串，实为 {value!r}")
    if os.environ.get(env_name):
        return os.environ[env_name]
    path = Path(file_name) if Path(file_name).is_absolute() else home_path / file_name
    try:
        info = path.stat()
    except FileNotFoundError:
        return None          # libpq's own ways remain: ~/.pgpass, PGPASSWORD, peer or certificate auth
    except OSError as exc:
        raise ConfigurationError(f"无法读取目录数据库口令文件 {path}（{exc.strerror}）") from None
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise ConfigurationError(f"目录数据库口令文件 {path} 的权限为 {stat.S_IMODE(info.st_mode):04o}，"
                                 f"其他用户可读：请执行 chmod 600 {path}")
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n") or None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"无法读取目录数据库口令文件 {path}（{exc}）") from None


# --- engines -------------------------------------------------------------------------------------------------

WRITE = {"yuetan_write": True}


def make_engine(location: CatalogLocation):
    """A SQLAlchemy engine for the catalog.

    SQLite: WAL, FULL sync, foreign keys, a 60 s busy wait; transactions BEGIN DEFERRED, or BEGIN IMMEDIATE on a
    connection with execution options `WRITE`, so a read-then-write cannot race another process.
    PostgreSQL: psycopg 3, a small pool checked before use; writers across machines are serialised by row and
    advisory locks taken by the catalog, ledger and number register themselves.
    """
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool

    if location.is_sqlite:
        # no pool: a connection is closed when its work is done, as before SQLAlchemy, so the last one to close
        # folds the WAL back into the file and the file alone holds the catalog between uses (a copy or backup of
        # catalog.sqlite taken then is whole)
        engine = create_engine(location.sqlalchemy_url(), poolclass=NullPool,
                               connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False,
                                             "isolation_level": None})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON",
                           f"busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}"):
                dbapi_connection.execute(f"PRAGMA {pragma}")

        @event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("yuetan_write")
                                 else "BEGIN")

        return engine
    return create_engine(location.sqlalchemy_url(), pool_size=location.pool_size, max_overflow=location.pool_size,
                         pool_pre_ping=True, pool_recycle=1800)
