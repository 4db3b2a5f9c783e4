"""The archive home: one folder holding settings, catalog, blobs and ledger.

Chosen by `--home`, else `$YUETAN_HOME`, else `./yuetan-archive`.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import ConfigurationError

from .numbers import NoticeNumberRegistry

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
"""


@dataclass(frozen=True)
class DocumentFontNames:
    title: str = "Noto Serif CJK SC"
    body: str = "Noto Serif CJK SC"
    heading: str = "Noto Sans CJK SC"


@dataclass(frozen=True)
class Settings:
    fonts: DocumentFontNames = field(default_factory=DocumentFontNames)
    retention_years: int = 6
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


def init_home(path: Path) -> tuple[ArchiveHome, bool]:
    """Create the home if needed; returns (home, created). An existing home is left as it is."""
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
    return Settings(fonts=fonts, retention_years=years, raw=raw)
