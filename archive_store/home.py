"""The archive home: one folder holding settings, catalog, blobs and ledger.

Chosen by `--home`, else `$YUETAN_HOME`, else `./yuetan-archive`.
"""
from __future__ import annotations

import os
import re
import string
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .durable import write_atomically
from .errors import ConfigurationError, InvalidArgument
from .text import problem as text_problem

if TYPE_CHECKING:
    from archive_store.blobs import BlobStore
    from archive_store.catalog import Catalog
    from archive_store.database import CatalogLocation
    from archive_store.numbers import NoticeNumberRegistry

HOME_ENV = "YUETAN_HOME"
DEFAULT_HOME = "yuetan-archive"
SETTINGS_FILE = "yuetan.toml"
CATALOG_FILE = "catalog.sqlite"

NonEmpty = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1)]

class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value):
        """Settings are printed on documents (全宗名称 on the cover, the catalogue, the 移交清单): plain text only."""
        if isinstance(value, str) and (found := text_problem(value)):
            raise ValueError(found)
        return value


class DocumentsSettings(_Section):
    """[documents]: GB/T 9704 fonts for the title (小标宋), body (仿宋) and first-level headings (黑体)."""

    title_font: NonEmpty = "Noto Serif CJK SC"
    body_font: NonEmpty = "Noto Serif CJK SC"
    heading_font: NonEmpty = "Noto Sans CJK SC"


MAX_RETENTION_YEARS = 100          # dates stay far inside what the calendar code can count


class RetentionSettings(_Section):
    """[retention]: how long a case is kept (《实施办法》第二十条: six years)."""

    years: StrictInt = Field(default=6, ge=1, le=MAX_RETENTION_YEARS)   # dates stay inside what the calendar counts


class SealSettings(_Section):
    """[seal]: the PKCS#12 seal the dossiers are signed with, and where its passphrase comes from."""

    pkcs12: NonEmpty = "seal/development-seal.p12"          # relative to the home unless absolute
    passphrase_env: NonEmpty = "YUETAN_SEAL_PASSPHRASE"
    passphrase_file: NonEmpty = "seal/passphrase"


ARCHIVAL_CODE_PARTS = ("fonds", "category", "year", "retention", "organization", "number")
STAMP_POSITIONS = ("top-right", "top-centre", "top-left")
UNITS = ("件", "卷")
Stripped = Annotated[StrictStr, StringConstraints(strip_whitespace=True)]


class ArrangementSettings(_Section):
    """[arrangement]: how the 档号 is built and the 归档章 drawn - the choices DA/T 22, DA/T 13 and GB/T 9705 leave
    to the archive. Unset, retention_code is "D" + [retention] years (see Settings)."""

    fonds_code: NonEmpty = "J036"
    fonds_name: Stripped = ""
    category_code: NonEmpty = "WS"
    organization_code: Stripped = "JCK"
    retention_code: NonEmpty = "D6"
    unit: NonEmpty = "件"
    number_digits: StrictInt = 4
    pattern: NonEmpty = Field(default="{fonds}-{category}·{year}-{retention}-{organization}-{number}",
                              validate_default=True)     # checked against organization_code even when not set
    stamp_position: NonEmpty = "top-right"
    stamp_organization: StrictBool = True
    stamp_pages: StrictBool = True

    @field_validator("retention_code")
    @classmethod
    def _retention_code(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9A-Za-z]+", value):
            raise ValueError("应为字母与数字，如 D6、D10、Y")
        return value

    @field_validator("unit")
    @classmethod
    def _unit(cls, value: str) -> str:
        if value not in UNITS:
            raise ValueError("应为“件”或“卷”")
        return value

    @field_validator("number_digits")
    @classmethod
    def _digits(cls, value: int) -> int:
        if not 1 <= value <= 8:
            raise ValueError("应为 1 到 8 之间的整数")
        return value

    @field_validator("stamp_position")
    @classmethod
    def _position(cls, value: str) -> str:
        if value not in STAMP_POSITIONS:
            raise ValueError(f"应为 {'、'.join(STAMP_POSITIONS)} 之一")
        return value

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str, info: ValidationInfo) -> str:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError:
            raise ValueError("不是有效的格式（花括号不成对）") from None
        unknown = names - set(ARCHIVAL_CODE_PARTS)
        if unknown:
            raise ValueError(f"含未知的部分 {{{'}、{'.join(sorted(unknown))}}}，可用 "
                             + "、".join(f"{{{p}}}" for p in ARCHIVAL_CODE_PARTS))
        for needed in ("number", "year"):
            if needed not in names:
                raise ValueError(f"必须含 {{{needed}}}")
        if "organization" in names and not info.data.get("organization_code", "x"):
            raise ValueError("含 {organization}，但 organization_code 为空：请填写代码或从 pattern 中删去该段")
        return value

    @property
    def number_label(self) -> str:
        return "卷号" if self.unit == "卷" else "件号"

    def series(self, year: int) -> str:
        """The code without its number: the group within which numbers run on."""
        return self.pattern.format(**self._parts(year), number="#")

    def code(self, year: int, number: int) -> str:
        return self.pattern.format(**self._parts(year), number=self.format_number(number))

    def format_number(self, number: int) -> str:
        return f"{number:0{self.number_digits}d}"

    def _parts(self, year: int) -> dict:
        return {"fonds": self.fonds_code, "category": self.category_code, "year": f"{year:04d}",
                "retention": self.retention_code, "organization": self.organization_code}


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
    arrangement: ArrangementSettings = ArrangementSettings()
    raw: dict = Field(default_factory=dict, exclude=True)     # the whole file, sections yuetan does not know too

    @model_validator(mode="before")
    @classmethod
    def _retention_code_from_years(cls, data):
        """An [arrangement] without retention_code files under "D" + the retention years (D6, D10, ...)."""
        if not isinstance(data, dict):
            return data
        arrangement, retention = data.get("arrangement", {}), data.get("retention", {})
        if isinstance(arrangement, dict) and "retention_code" not in arrangement and isinstance(retention, dict):
            years = retention.get("years", RetentionSettings().years)
            if isinstance(years, int) and not isinstance(years, bool):
                data = {**data, "arrangement": {**arrangement, "retention_code": f"D{years}"}}
        return data

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
[arrangement]
# 档案整理（DA/T 22-2015《归档文件整理规则》、DA/T 13《档号编制规则》、GB/T 9705《文书档案案卷格式》）。
# 档号在入库时给定，按 pattern 由以下各部分组成；件号（卷号）在同一组（pattern 中除号码外的部分相同）内连续编号，
# 不重复使用；更正后的新版本沿用原档号。修改本节只影响之后入库的案件。
# 全宗号：档案馆给本单位（立档单位）编制的代号，请改为档案馆给定的全宗号。
fonds_code = "{DEFAULTS.arrangement.fonds_code}"
# 全宗名称：立档单位全称或规范化简称，印在案卷封面、案卷目录与移交清单上；留空则用约谈组织方名称。
fonds_name = ""
# 档案门类代码（文书档案 WS）。
category_code = "{DEFAULTS.arrangement.category_code}"
# 机构（问题）代码；不按机构（问题）分类的单位留空，并从 pattern 中删去 -{{organization}}。
organization_code = "{DEFAULTS.arrangement.organization_code}"
# 保管期限代码。标准代码为 Y（永久）、D30（定期30年）、D10（定期10年）；《实施办法》第二十条的六年没有标准代码。
# 不设置时为 D 加 [retention] years 的年数（默认 D6）；按本单位规定归入标准期限的，在此写明，如 retention_code = "D10"。
# retention_code = "D6"
# 整理单位："件"（DA/T 22，每个案件为一件，档号末段为件号）或 "卷"（GB/T 9705，档号末段为案卷号）。
unit = "{DEFAULTS.arrangement.unit}"
# 件号（卷号）位数，不足补零（DA/T 13：件号 4 位，案卷号 3 位）。
number_digits = {DEFAULTS.arrangement.number_digits}
# 档号格式：{{fonds}} 全宗号、{{category}} 门类代码、{{year}} 年度（结案年度）、{{retention}} 保管期限代码、
# {{organization}} 机构（问题）代码、{{number}} 件号或卷号。
pattern = "{DEFAULTS.arrangement.pattern}"
# 归档章的位置（文件首页上端空白处）：top-right（右上）、top-centre（居中）或 top-left（左上）。
stamp_position = "{DEFAULTS.arrangement.stamp_position}"
# 归档章是否填写选择项“机构（问题）”与“页数”（全宗号、年度、保管期限、件号为必备项）。
stamp_organization = true
stamp_pages = true
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
        """The SQLite catalog file of a home without `[catalog] url` (where it would be otherwise)."""
        return self.path / CATALOG_FILE

    @property
    def catalog_location(self) -> "CatalogLocation":
        """Where the catalog is: `[catalog]` of yuetan.toml, the one place read for the archive and for Django."""
        from archive_store.database import catalog_location
        return catalog_location(self.settings.raw, self.path)

    def numbers(self, *, check_head: bool = True) -> NoticeNumberRegistry:
        from archive_store.numbers import NoticeNumberRegistry
        return NoticeNumberRegistry(self.catalog_location, check_head=check_head)

    def catalog(self, *, check_head: bool = True) -> "Catalog":
        """`check_head=False` only for audit and ledger verify, which report a catalog the mirror disagrees with."""
        from archive_store.catalog import Catalog
        return Catalog(self.catalog_location, check_head=check_head)

    def catalog_is_sound(self) -> bool:
        """A SQLite catalog seen to be at the head of its schema and the mirror's ledger head, read with sqlite3
        alone (archive_store.catalog_probe); False means "open the full catalog and let it say", never damage."""
        location = self.catalog_location
        if not location.is_sqlite:
            return False
        from archive_store import catalog_probe
        return catalog_probe.sound(location.path)

    def current_archival_codes(self, case_ids: list[str]) -> dict[str, str | None]:
        """The 档号 of the current version of each case named (Catalog.current_archival_codes); from a SQLite
        catalog read with sqlite3 alone, so a search needs no SQLAlchemy."""
        location = self.catalog_location
        if location.is_sqlite:
            from archive_store import catalog_probe
            codes = catalog_probe.current_archival_codes(location.path, case_ids)
            if codes is not None:
                return codes
        with self.catalog() as catalog:
            return catalog.current_archival_codes(case_ids)

    def blobs(self) -> "BlobStore":
        """The home's blobs/ folder, or the S3 bucket `[store]` names."""
        from archive_store.stores import open_blob_store
        return open_blob_store(self.settings.raw, self.path)

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

    def protected_paths(self) -> tuple[set[Path], set[Path]]:
        """(folders, files) that only the archive writes, resolved: the home with its blobs, index and staging
        (which may be links to other disks), and the seal's files wherever the settings put them."""
        folders = {_resolved(p) for p in (self.path, self.path / "blobs", self.index_dir, self.staging_dir)}
        files = {_resolved(p) for p in (self.seal_pkcs12, self.seal_pkcs12.with_suffix(".crt"),
                                        self.seal_passphrase_file)}
        return folders, files

    def refuse_output_inside(self, dest: Path) -> None:
        """An output a user names (-o) never lands among the archive's own files, whatever links lie on the way:
        both the path as given (its folder resolved) and the file a link there points at are checked."""
        dest = Path(dest)
        folders, files = self.protected_paths()
        for candidate in {_resolved(dest), _resolved(dest.parent) / dest.name}:
            if candidate in files or any(candidate.is_relative_to(f) for f in folders):
                where = "" if candidate == _resolved(Path.cwd()) / dest or candidate == dest else f"（实际位置 {candidate}）"
                raise InvalidArgument(
                    f"输出路径 {dest} 位于档案库 {self.path} 之内{where}：档案库中的文件只能由 yuetan 自己写入，"
                    "请把输出写到档案库文件夹之外")

    def output_file(self, dest: Path, *, make_folder: bool = True) -> Path:
        """Check an output file a user names (-o) and make its folder: outside the archive, and replacing only
        a regular file (never a device such as /dev/full, a pipe or a folder)."""
        dest = Path(dest)
        self.refuse_output_inside(dest)
        target = _resolved(dest)
        if target.exists() and not target.is_file():
            kind = "文件夹" if target.is_dir() else "设备、管道等特殊文件"
            raise InvalidArgument(f"输出路径 {dest} 是{kind}，不是普通文件：请给出要写入的文件名（不会替换{kind}）")
        if make_folder:
            _make_folder(dest.parent)
        return dest

    def output_folder(self, folder: Path, *, make: bool = True) -> Path:
        """Check an output folder a user names (-o): outside the archive; made if missing."""
        folder = Path(folder)
        self.refuse_output_inside(folder)
        if folder.exists() and not folder.is_dir():
            raise InvalidArgument(f"输出位置 {folder} 已存在且不是文件夹")
        if make:
            _make_folder(folder)
        return folder

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


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InvalidArgument(f"输出位置 {folder} 已存在且不是文件夹") from None
    except NotADirectoryError:
        raise InvalidArgument(f"输出位置 {folder} 的上级路径中有一个不是文件夹") from None
    except OSError as exc:
        raise InvalidArgument(f"无法创建输出文件夹 {folder}（{exc.strerror}）") from None


def _resolved(path: Path) -> Path:
    """Absolute, with every symbolic link that exists on the way followed (also a dangling last one)."""
    return Path(os.path.realpath(path))


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
    home = open_home(path)       # creates the catalog, the archive's identity and its ledger-head mirror
    home.numbers().close()
    return home, created


def write_private_once(dest: Path, data: bytes) -> None:
    """Write a 0600 file by temp + fsync + link: a file already there (a concurrent init) wins."""
    dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        write_atomically(dest, data, mode=0o600, exclusive=True)
    except FileExistsError:
        pass


def open_home(path: Path, *, check_head: bool = True, open_catalog: bool = True) -> ArchiveHome:
    """The home at `path`; its catalog is opened once here, so a lost or replaced one stops every command at
    once (ArchiveDamaged) instead of case by case. Only `restore` skips that (`open_catalog=False`)."""
    path = Path(path)
    settings_file = path / SETTINGS_FILE
    if not settings_file.is_file():
        raise ConfigurationError(f"档案库 {path} 尚未初始化：请先运行 yuetan --home {path} init")
    home = ArchiveHome(path=path, settings=load_settings(settings_file))
    if open_catalog and not (check_head and home.catalog_is_sound()):
        home.catalog(check_head=check_head).close()
    return home


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
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])
    if error["type"] == "bool_type":
        return "应为 true 或 false"
    if error["type"] in ("model_type", "model_attributes_type", "dict_type"):
        return f"应为 [{error['loc'][0]}] 节"
    if error["type"].startswith(("int", "greater_than", "less_than")):
        return f"应为 1 至 {MAX_RETENTION_YEARS} 的整数"
    return "应为非空字符串"
