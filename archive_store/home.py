"""The archive home: one folder holding settings, catalog, blobs and ledger.

Chosen by `--home`, else `$YUETAN_HOME`, else `./yuetan-archive`.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from archive_store.numbers import NoticeNumberRegistry

from .errors import ConfigurationError

if TYPE_CHECKING:
    from archive_store.blobs import FilesystemBlobStore
    from archive_store.catalog import Catalog

HOME_ENV = "YUETAN_HOME"
DEFAULT_HOME = "yuetan-archive"
SETTINGS_FILE = "yuetan.toml"
CATALOG_FILE = "catalog.sqlite"

DEFAULT_SETTINGS = """\
# yuetan 档案库设置（修改后对之后生成的文书生效）

[documents]
# GB/T 9704 字体：标题（小标宋）、正文（仿宋）、一级标题（黑体）。
# 已安装方正小标宋、仿宋_GB2312 的单位可在此改为相应字体名。
title_font = "Noto Serif CJK SC"
body_font = "Noto Serif CJK SC"
heading_font = "Noto Sans CJK SC"

[retention]
# 约谈档案保存期限（《实施办法》第二十条：六年）
years = 6

[seal]
# 案卷电子印章：用本单位印章证书（PKCS#12，.p12/.pfx）对整个案卷做 PAdES 签名。
# pkcs12 为证书文件路径，相对路径以档案库文件夹为准。yuetan init 时若此处是下面的默认文件且文件不存在，
# 会生成一个自签名的“开发测试用印章”（签名中注明“开发测试用印章，非正式”），正式归档前请换成本单位的印章证书。
pkcs12 = "seal/development-seal.p12"
# 证书口令：先读 passphrase_env 所指的环境变量；未设置时读 passphrase_file 文件（相对档案库文件夹，
# 权限应为 0600，只含口令）。两者都没有时按无口令打开证书。
passphrase_env = "YUETAN_SEAL_PASSPHRASE"
passphrase_file = "seal/passphrase"
# 开发测试用印章的证书（PEM）在 pkcs12 同一文件夹、同名、扩展名 .crt，可供 yuetan verify --trust 使用。

[index]
# 全文检索引擎：whoosh（默认，纯 Python）或 tantivy（大型档案库，十万件以上）。
# 修改后运行 yuetan reindex 按新引擎重建索引；重建之前仍使用现有索引。
engine = "whoosh"
"""
DEFAULT_SEAL_PKCS12 = "seal/development-seal.p12"
DEFAULT_PASSPHRASE_ENV = "YUETAN_SEAL_PASSPHRASE"
DEFAULT_PASSPHRASE_FILE = "seal/passphrase"


@dataclass(frozen=True)
class DocumentFontNames:
    title: str = "Noto Serif CJK SC"
    body: str = "Noto Serif CJK SC"
    heading: str = "Noto Sans CJK SC"


@dataclass(frozen=True)
class SealSettings:
    pkcs12: str = DEFAULT_SEAL_PKCS12              # relative to the home unless absolute
    passphrase_env: str = DEFAULT_PASSPHRASE_ENV
    passphrase_file: str = DEFAULT_PASSPHRASE_FILE


@dataclass(frozen=True)
class Settings:
    fonts: DocumentFontNames = field(default_factory=DocumentFontNames)
    retention_years: int = 6
    seal: SealSettings = field(default_factory=SealSettings)
    raw: dict = field(default_factory=dict)


def resolve_home(option: str | os.PathLike | None) -> Path:
    if option:
        return Path(option)
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV])
    return Path.cwd() / DEFAULT_HOME


@dataclass(frozen=True)
class ArchiveHome:
    path: Path
    settings: Settings

    @property
    def catalog_path(self) -> Path:
        return self.path / CATALOG_FILE

    def numbers(self) -> NoticeNumberRegistry:
        return NoticeNumberRegistry(self.catalog_path)

    def catalog(self) -> "Catalog":
        from archive_store.catalog import Catalog
        return Catalog(self.catalog_path)

    def blobs(self) -> "FilesystemBlobStore":
        from archive_store.blobs import FilesystemBlobStore
        return FilesystemBlobStore(self.path / "blobs")

    @property
    def index_dir(self) -> Path:
        return self.path / "index"

    @property
    def staging_dir(self) -> Path:
        return self.path / "staging"

    @property
    def index_lock(self) -> Path:
        """Ingest holds it shared while it indexes a case; reindex holds it alone while it rebuilds."""
        return self.path / "index.lock"

    @property
    def seal_pkcs12(self) -> Path:
        return self.path / self.settings.seal.pkcs12

    @property
    def seal_passphrase_file(self) -> Path:
        return self.path / self.settings.seal.passphrase_file

    def seal_passphrase(self) -> bytes | None:
        """From the environment variable the settings name, else the passphrase file, else none."""
        seal = self.settings.seal
        if os.environ.get(seal.passphrase_env):
            return os.environ[seal.passphrase_env].encode("utf-8")
        try:
            return self.seal_passphrase_file.read_bytes().rstrip(b"\r\n") or None
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigurationError(f"无法读取印章口令文件 {self.seal_passphrase_file}（{exc.strerror}）") from None


def create_home(path: Path) -> tuple[ArchiveHome, bool]:
    """Create the home folder, its settings and catalog if needed; returns (home, created).
    An existing home is left as it is."""
    path = Path(path)
    settings_file = path / SETTINGS_FILE
    created = not settings_file.exists()
    if path.exists() and not path.is_dir():
        raise ConfigurationError(f"档案库路径 {path} 已存在且不是文件夹，请换一个路径")
    path.mkdir(parents=True, exist_ok=True)
    if created:
        tmp = settings_file.with_suffix(".toml.tmp")
        tmp.write_text(DEFAULT_SETTINGS, encoding="utf-8")
        os.replace(tmp, settings_file)
    home = open_home(path)
    home.numbers().close()
    return home, created


def write_private_once(dest: Path, data: bytes) -> None:
    """Write a 0600 file by temp + fsync + link: a file already there (a concurrent init) wins."""
    dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, dest)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def open_home(path: Path) -> ArchiveHome:
    path = Path(path)
    settings_file = path / SETTINGS_FILE
    if not settings_file.is_file():
        raise ConfigurationError(f"档案库 {path} 尚未初始化：请先运行 yuetan --home {path} init")
    return ArchiveHome(path=path, settings=load_settings(settings_file))


def load_settings(settings_file: Path) -> Settings:
    try:
        raw = tomllib.loads(settings_file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"设置文件 {settings_file} 无法解析（{exc}），请修正后重试") from None
    docs = raw.get("documents", {})
    defaults = DocumentFontNames()
    fonts = DocumentFontNames(
        title=docs.get("title_font", defaults.title),
        body=docs.get("body_font", defaults.body),
        heading=docs.get("heading_font", defaults.heading))
    years = raw.get("retention", {}).get("years", 6)
    if not isinstance(years, int) or years < 1:
        raise ConfigurationError(f"设置文件 {settings_file} 中 retention.years 应为正整数，实为 {years!r}")
    seal_raw = raw.get("seal", {})
    if not isinstance(seal_raw, dict):
        raise ConfigurationError(f"设置文件 {settings_file} 中 seal 应为 [seal] 节，实为 {seal_raw!r}")
    seal_values = {key: seal_raw.get(key, default) for key, default in vars(SealSettings()).items()}
    for key, value in seal_values.items():
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"设置文件 {settings_file} 中 seal.{key} 应为非空字符串，实为 {value!r}")
    seal = SealSettings(**seal_values)
    return Settings(fonts=fonts, retention_years=years, seal=seal, raw=raw)
