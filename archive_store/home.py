"""The archive home: one folder holding settings, catalog, blobs and ledger.

Chosen by `--home`, else `$YUETAN_HOME`, else `./yuetan-archive`.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
)

from archive_store.numbers import NoticeNumberRegistry

from .durable import write_atomically
from .errors import ConfigurationError

if TYPE_CHECKING:
    from archive_store.blobs import FilesystemBlobStore
    from archive_store.catalog import Catalog

HOME_ENV = "YUETAN_HOME"
DEFAULT_HOME = "yuetan-archive"
SETTINGS_FILE = "yuetan.toml"
CATALOG_FILE = "catalog.sqlite"

NonEmpty = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1)]

class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class DocumentsSettings(_Section):
    """[documents]: GB/T 9704 fonts for the title (小标宋), body (仿宋) and first-level headings (黑体)."""

    title_font: NonEmpty = "Noto Serif CJK SC"
    body_font: NonEmpty = "Noto Serif CJK SC"
    heading_font: NonEmpty = "Noto Sans CJK SC"


class RetentionSettings(_Section):
    """[retention]: how long a case is kept (《实施办法》第二十条: six years)."""

    years: StrictInt = Field(default=6, ge=1)


class SealSettings(_Section):
    """[seal]: the PKCS#12 seal the dossiers are signed with, and where its passphrase comes from."""

    pkcs12: NonEmpty = "seal/development-seal.p12"          # relative to the home unless absolute
    passphrase_env: NonEmpty = "YUETAN_SEAL_PASSPHRASE"
    passphrase_file: NonEmpty = "seal/passphrase"


@dataclass(frozen=True)
class DocumentFontNames:
    """The three fonts a document is set in (what pipeline.documents.render applies)."""

    title: str = DocumentsSettings.model_fields["title_font"].default
    body: str = DocumentsSettings.model_fields["body_font"].default
    heading: str = DocumentsSettings.model_fields["heading_font"].default


class Settings(_Section):
    """yuetan.toml, parsed by this one model: every default is here (and the file `init` writes quotes them)."""

    documents: DocumentsSettings = DocumentsSettings()
    retention: RetentionSettings = RetentionSettings()
    seal: SealSettings = SealSettings()
    raw: dict = Field(default_factory=dict, exclude=True)     # the whole file, sections yuetan does not know too

    @property
    def fonts(self) -> DocumentFontNames:
        d = self.documents
        return DocumentFontNames(title=d.title_font, body=d.body_font, heading=d.heading_font)

    @property
    def retention_years(self) -> int:
        return self.retention.years


DEFAULTS = Settings()
DEFAULT_SEAL_PKCS12 = DEFAULTS.seal.pkcs12
DEFAULT_PASSPHRASE_ENV = DEFAULTS.seal.passphrase_env
DEFAULT_PASSPHRASE_FILE = DEFAULTS.seal.passphrase_file

DEFAULT_SETTINGS = f"""\
# yuetan 档案库设置（修改后对之后生成的文书生效）

[documents]
# GB/T 9704 字体：标题（小标宋）、正文（仿宋）、一级标题（黑体）。
# 已安装方正小标宋、仿宋_GB2312 的单位可在此改为相应字体名。
title_font = "{DEFAULTS.documents.title_font}"
body_font = "{DEFAULTS.documents.body_font}"
heading_font = "{DEFAULTS.documents.heading_font}"

[retention]
# 约谈档案保存期限（《实施办法》第二十条：六年）
years = {DEFAULTS.retention.years}

[seal]
# 案卷电子印章：用本单位印章证书（PKCS#12，.p12/.pfx）对整个案卷做 PAdES 签名。
# pkcs12 为证书文件路径，相对路径以档案库文件夹为准。yuetan init 时若此处是下面的默认文件且文件不存在，
# 会生成一个自签名的“开发测试用印章”（签名中注明“开发测试用印章，非正式”），正式归档前请换成本单位的印章证书。
pkcs12 = "{DEFAULTS.seal.pkcs12}"
# 证书口令：先读 passphrase_env 所指的环境变量；未设置时读 passphrase_file 文件（相对档案库文件夹，
# 权限应为 0600，只含口令）。两者都没有时按无口令打开证书。
passphrase_env = "{DEFAULTS.seal.passphrase_env}"
passphrase_file = "{DEFAULTS.seal.passphrase_file}"
# 开发测试用印章的证书（PEM）在 pkcs12 同一文件夹、同名、扩展名 .crt，可供 yuetan verify --trust 使用。

[index]
# 全文检索引擎：whoosh（默认，纯 Python）或 tantivy（大型档案库，十万件以上）。
# 修改后运行 yuetan reindex 按新引擎重建索引；重建之前仍使用现有索引。
engine = "whoosh"
"""


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
    def web_secret_key(self) -> Path:
        """The web application's secret key (sessions, CSRF), made by `init`, mode 0600."""
        return self.path / "web" / "secret-key"

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
        write_atomically(settings_file, DEFAULT_SETTINGS.encode("utf-8"))
    home = open_home(path)
    home.numbers().close()
    return home, created


def write_private_once(dest: Path, data: bytes) -> None:
    """Write a 0600 file by temp + fsync + link: a file already there (a concurrent init) wins."""
    dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        write_atomically(dest, data, mode=0o600, exclusive=True)
    except FileExistsError:
        pass


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
    try:
        return Settings.model_validate({**raw, "raw": raw})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise ConfigurationError(f"设置文件 {settings_file} 中 {key} {_expected(first)}，"
                                 f"实为 {first.get('input')!r}") from None


def _expected(error: dict) -> str:
    if error["type"] in ("model_type", "model_attributes_type", "dict_type"):
        return f"应为 [{error['loc'][0]}] 节"
    if error["type"].startswith(("int", "greater_than")):
        return "应为正整数"
    return "应为非空字符串"
