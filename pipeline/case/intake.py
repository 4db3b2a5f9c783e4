"""Reading a closed case: a folder, a .zip of one, or a bare case.json, checked against the contract.

Every problem is collected and reported at once (`InvalidCase`), each with its key path or file name.
Nothing is written outside a temporary folder that is removed on exit.
"""
from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ValidationError

from archive_store.errors import CaseProblem, InvalidCase
from pipeline.case import safezip
from pipeline.case.contract import (
    DEFAULT_NOTICE_PREFIX,
    GROUND_ARTICLE_BY_KIND,
    GROUND_ITEMS,
    NOTICE_NUMBER_RE,
    Attachment,
    Case,
    TargetKind,
    chinese_numeral,
    strings_in,
)
from pipeline.case.media import MEDIA_TYPE_LABELS, expected_media_type, sniff_media_type

CASE_FILE = "case.json"
MAX_CASE_JSON_BYTES = 4 * 1024 * 1024
MAX_JSON_DEPTH = 32          # a case is about five levels deep; deeper is not a case (and would exhaust recursion)


@dataclass(frozen=True)
class AttachmentFile:
    """An upload named by `attachments[index]`, found inside the case folder and sniffed."""

    index: int
    attachment: Attachment
    path: Path
    media_type: str


@dataclass(frozen=True)
class CaseBundle:
    """A valid case with its folder; the folder lives only as long as `open_case`'s context."""

    case: Case
    case_dir: Path
    case_json: bytes
    attachments: list[AttachmentFile]
    source: str
    unknown_keys: list[str] = field(default_factory=list)


@contextmanager
def open_case(source: Path) -> Iterator[CaseBundle]:
    """Open and validate a case; raises `InvalidCase` listing every problem."""
    source = Path(source)
    label = str(source)
    if not source.exists():
        raise InvalidCase([CaseProblem(label, "路径不存在，请检查案件文件夹、zip 或 case.json 的位置")])
    if source.is_file() and source.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory(prefix="yuetan-case-") as tmp:
            case_dir = _extract_zip(source, Path(tmp))
            yield _read_case_dir(case_dir, label)
        return
    if source.is_dir():
        yield _read_case_dir(source, label)
    elif source.is_file():
        yield _read_case_dir(source.parent, label, case_file=source)
    else:
        raise InvalidCase([CaseProblem(label, "既不是文件夹，也不是 zip 或 case.json")])


# --- zip ---------------------------------------------------------------------------------------------

def _extract_zip(archive: Path, dest: Path) -> Path:
    """Unpack by the one set of zip rules (`safezip`), refusing the case at the first problem."""
    label = archive.name
    cases = sorted(n for n in safezip.member_names(archive) if PurePosixPath(n.replace("\\", "/")).name == CASE_FILE)
    problems = []
    if len(cases) > 1:
        problems.append(safezip.ZipProblem("", f"zip 内有 {len(cases)} 个 case.json（{'、'.join(cases[:5])}），"
                                               "一个 zip 只能装一个案件"))
    problems += safezip.extract(archive, dest, safezip.CASE_ZIP, all_or_nothing=True)
    if problems:
        raise InvalidCase([CaseProblem(f"{label}:{p.member}" if p.member else label, p.message) for p in problems])
    return _case_root(dest, label)


def _case_root(dest: Path, label: str) -> Path:
    """case.json at the zip's root, or inside its single top-level folder."""
    if (dest / CASE_FILE).is_file():
        return dest
    candidates = sorted(p.parent for p in dest.glob(f"*/{CASE_FILE}"))
    if len(candidates) == 1:
        return candidates[0]
    raise InvalidCase([CaseProblem(label, "zip 中找不到 case.json（应在根目录或唯一的顶层文件夹内）")])


# --- case.json ------------------------------------------------------------------------------------------

def _read_case_dir(case_dir: Path, label: str, case_file: Path | None = None) -> CaseBundle:
    case_file = case_file or case_dir / CASE_FILE
    raw_bytes, raw = _load_json(case_file)
    undecodable = _surrogate_problems(raw)
    if undecodable:      # the contract's own JSON parser refuses these without saying where
        raise InvalidCase(undecodable, source=label)
    problems = _contract_problems(raw_bytes)
    problems += _cross_field_problems(raw)
    attachments, attachment_problems = _attachment_files(raw, case_dir)
    problems += attachment_problems
    if problems:
        raise InvalidCase(problems, source=label)
    case = Case.model_validate_json(raw_bytes, strict=True)
    resolved = [
        AttachmentFile(i, att, path, media)
        for (i, path, media), att in zip(attachments, case.attachments)
    ]
    return CaseBundle(case=case, case_dir=case_dir, case_json=raw_bytes, attachments=resolved,
                      source=label, unknown_keys=unknown_keys(case))


def _load_json(case_file: Path) -> tuple[bytes, Any]:
    name = case_file.name
    if not case_file.is_file():
        raise InvalidCase([CaseProblem(CASE_FILE, "案件文件夹中没有 case.json")])
    if case_file.stat().st_size > MAX_CASE_JSON_BYTES:
        raise InvalidCase([CaseProblem(name, "case.json 过大（超过 4 MiB），请检查是否误放了其他文件")])
    data = case_file.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidCase([CaseProblem(name, f"不是 UTF-8 编码（第 {exc.start} 字节起无法解码），请以 UTF-8 另存")]) from None
    if text.startswith("\ufeff"):
        raise InvalidCase([CaseProblem(name, "文件以 BOM 开头，请以不带 BOM 的 UTF-8 另存")])
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidCase([CaseProblem(name, f"JSON 格式错误：第 {exc.lineno} 行第 {exc.colno} 列（{_json_reason(exc.msg)}）")]) from None
    except RecursionError:
        raise InvalidCase([CaseProblem(name, f"JSON 嵌套过深（超过 {MAX_JSON_DEPTH} 层），不是案件数据")]) from None
    except ValueError as exc:       # e.g. an integer of more digits than Python converts
        raise InvalidCase([CaseProblem(name, f"JSON 中有无法读取的值（{str(exc)[:120]}）")]) from None
    if not isinstance(raw, dict):
        raise InvalidCase([CaseProblem(name, "顶层应为 JSON 对象 {…}")])
    if _depth(raw) > MAX_JSON_DEPTH:
        raise InvalidCase([CaseProblem(name, f"JSON 嵌套过深（超过 {MAX_JSON_DEPTH} 层），不是案件数据")])
    return data, raw


def _depth(value: Any) -> int:
    """How deeply objects and arrays nest, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item if isinstance(child, (dict, list)))
    return deepest


def _surrogate_problems(raw: Any) -> list[CaseProblem]:
    """Strings (or keys) holding a lone UTF-16 surrogate escape such as "\\ud800": not text at all."""
    return [CaseProblem(path or CASE_FILE, "含有孤立的 UTF-16 代理项转义（如 \\ud800），不是有效的文字")
            for path, value in strings_in(raw) if any(0xD800 <= ord(c) <= 0xDFFF for c in value)]


def _json_reason(msg: str) -> str:
    reasons = {
        "Expecting value": "此处缺少值",
        "Expecting ',' delimiter": "缺少逗号",
        "Expecting ':' delimiter": "缺少冒号",
        "Expecting property name enclosed in double quotes": "键名须用英文双引号",
        "Unterminated string starting at": "字符串未闭合",
        "Extra data": "结尾有多余内容",
        "Invalid control character at": "字符串中有控制字符",
    }
    return reasons.get(msg, msg)


def _contract_problems(raw_bytes: bytes) -> list[CaseProblem]:
    try:
        Case.model_validate_json(raw_bytes, strict=True)
    except ValidationError as exc:
        return [CaseProblem(key_path(err["loc"]), chinese_message(err)) for err in exc.errors()]
    return []


def key_path(loc: tuple) -> str:
    """('grounds', 0, 'item') → 'grounds[0].item'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in str(part) and str(part).endswith("]"):
            continue  # union/function tags pydantic adds to locations
        else:
            out += f".{part}" if out else str(part)
    return out


_MESSAGES = {
    "missing": "缺少必填项",
    "string_type": "应为字符串",
    "string_too_short": "不能为空",
    "string_too_long": "过长（最多 {max_length} 个字符）",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "list_type": "应为数组 […]",
    "model_type": "应为对象 {{…}}",
    "model_attributes_type": "应为对象 {{…}}",
    "dict_type": "应为对象 {{…}}",
    "too_short": "至少应有 {min_length} 项",
    "date_type": "应为日期字符串 YYYY-MM-DD（如 2025-07-15）",
    "date_parsing": "日期“{input}”无效：应为存在的日期，格式 YYYY-MM-DD（如 2025-07-15）",
    "date_from_datetime_parsing": "日期“{input}”无效：应为存在的日期，格式 YYYY-MM-DD（如 2025-07-15）",
    "date_from_datetime_inexact": "应为日期 YYYY-MM-DD，不要带时间",
    "datetime_type": "应为带时区的时间字符串，如 2025-07-15T09:30:00+08:00",
    "datetime_parsing": "时间“{input}”无效：应为存在的时间，如 2025-07-15T09:30:00+08:00",
    "datetime_from_date_parsing": "时间“{input}”无效：应为存在的时间，如 2025-07-15T09:30:00+08:00",
    "timezone_aware": "时间缺少时区偏移，请写明如 2025-07-15T09:30:00+08:00",
    "enum": "取值“{input}”无效，应为以下之一：{expected}",
    "literal_error": "取值 {input} 不受支持，应为 {expected}",
    "extra_forbidden": "不认识的键",
}


def chinese_message(err: dict) -> str:
    kind = err["type"]
    ctx = dict(err.get("ctx") or {})
    ctx.setdefault("input", err.get("input"))
    if "expected" in ctx:
        ctx["expected"] = str(ctx["expected"]).replace("'", "").replace(" or ", "、").replace(", ", "、")
    if kind in {"credit_code", "notice_number", "region_code", "unsafe_text"}:
        return err["msg"]
    if kind == "literal_error" and err["loc"] and err["loc"][0] == "schema_version":
        return f"只支持 schema_version 1，实为 {json.dumps(err.get('input'), ensure_ascii=False)}"
    template = _MESSAGES.get(kind)
    if template is None:
        return f"取值无效（{err['msg']}）"
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return template


# --- cross-field rules of the contract -----------------------------------------------------------------

def _get(raw: Any, *keys: str | int) -> Any:
    for key in keys:
        if isinstance(key, int):
            if not isinstance(raw, list) or key >= len(raw):
                return None
            raw = raw[key]
        else:
            if not isinstance(raw, dict):
                return None
            raw = raw.get(key)
    return raw


def _cross_field_problems(raw: dict) -> list[CaseProblem]:
    problems = _notice_number_prefix(raw)
    kind = _get(raw, "target", "kind")
    if not isinstance(kind, str) or kind not in {k.value for k in TargetKind}:
        return problems
    kind = TargetKind(kind)
    problems += _kind_requirements(raw, kind)
    problems += _ground_problems(raw, kind)
    return problems


def _notice_number_prefix(raw: dict) -> list[CaseProblem]:
    number = _get(raw, "notice", "number")
    prefix = _get(raw, "organizer", "notice_prefix")
    prefix = prefix if isinstance(prefix, str) and prefix.strip() else DEFAULT_NOTICE_PREFIX
    if not isinstance(number, str):
        return []
    match = NOTICE_NUMBER_RE.match(number.strip())
    if match and match["prefix"] != prefix.strip():
        return [CaseProblem("notice.number", f"文号的机关代字“{match['prefix']}”与 organizer.notice_prefix“{prefix}”不一致")]
    return []


def _kind_requirements(raw: dict, kind: TargetKind) -> list[CaseProblem]:
    problems = []
    target = _get(raw, "target") or {}
    if kind is TargetKind.institution:
        for key, what in (("credit_code", "统一社会信用代码"), ("local_bureau", "属地市场监管部门")):
            if target.get(key) in (None, ""):
                problems.append(CaseProblem(f"target.{key}", f"约谈对象为检验检测机构时必须填写{what}"))
        if _get(raw, "activity") in (None, "") and _get(raw, "collective") is None:
            problems.append(CaseProblem("activity", "约谈对象为检验检测机构时必须填写通知书所列的检验检测活动"))
    else:
        if target.get("region_code") in (None, ""):
            problems.append(CaseProblem("target.region_code", "约谈对象为下级市场监管部门时必须填写其行政区划代码"))
    return problems


def _ground_problems(raw: dict, kind: TargetKind) -> list[CaseProblem]:
    grounds = _get(raw, "grounds")
    if grounds in (None, []) and _get(raw, "collective") is None:
        return [CaseProblem("grounds", "约谈事由不能为空（仅集体约谈可不列事由）")]
    if not isinstance(grounds, list):
        return []
    expected_article = GROUND_ARTICLE_BY_KIND[kind]
    kind_label = "检验检测机构" if kind is TargetKind.institution else "下级市场监管部门"
    problems = []
    for i, ground in enumerate(grounds):
        article, item = _get(ground, "article"), _get(ground, "item")
        if type(article) is int and article != expected_article:
            problems.append(CaseProblem(
                f"grounds[{i}].article",
                f"约谈{kind_label}的事由应依据第{chinese_numeral(expected_article)}条，不能依据第{chinese_numeral(article)}条"))
        elif type(article) is int and type(item) is int and not 1 <= item <= GROUND_ITEMS[article]:
            problems.append(CaseProblem(
                f"grounds[{i}].item",
                f"第{chinese_numeral(article)}条只有第（一）至（{chinese_numeral(GROUND_ITEMS[article])}）项，没有第 {item} 项"))
    return problems


# --- attachments ------------------------------------------------------------------------------------------

def _attachment_files(raw: dict, case_dir: Path) -> tuple[list[tuple[int, Path, str]], list[CaseProblem]]:
    found: list[tuple[int, Path, str]] = []
    problems: list[CaseProblem] = []
    attachments = _get(raw, "attachments")
    if not isinstance(attachments, list):
        return found, problems
    root = case_dir.resolve()
    for i, att in enumerate(attachments):
        name = _get(att, "file")
        if not isinstance(name, str) or not name.strip():
            continue  # the contract check already names it
        path, problem = _attachment_file(name, root, f"attachments[{i}].file")
        if problem:
            problems.append(problem)
        else:
            found.append((i, path, expected_media_type(name)))
    return found, problems


def _attachment_file(name: str, root: Path, key: str) -> tuple[Path | None, CaseProblem | None]:
    def refuse(message: str):
        return None, CaseProblem(key, f"附件“{name}”{message}")

    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or name.startswith(("/", "\\")) or (pure.parts and ":" in pure.parts[0]):
        return refuse("是绝对路径：附件路径应相对于案件文件夹")
    if ".." in pure.parts:
        return refuse("含有“..”，指向案件文件夹之外")
    path = root.joinpath(*pure.parts)
    if root not in path.resolve().parents:
        return refuse("经符号链接指向案件文件夹之外，已拒收")
    if not path.exists():
        return refuse("不存在：请确认文件已放入案件文件夹，文件名与 case.json 一致")
    if not path.is_file():
        return refuse("不是普通文件")
    if path.stat().st_size == 0:
        return refuse("是空文件（0 字节），请重新上传")
    expected = expected_media_type(name)
    if expected is None:
        return refuse("的类型不受支持：只接受 PDF、DOCX、JPEG、PNG（.pdf .docx .jpg .jpeg .png）")
    actual = sniff_media_type(path)
    if actual != expected:
        shown = MEDIA_TYPE_LABELS.get(actual, "无法识别的内容") if actual else "无法识别的内容"
        return refuse(f"的扩展名表明是{MEDIA_TYPE_LABELS[expected]}，但内容是{shown}，请上传正确的文件")
    return path, None


# --- unknown keys -----------------------------------------------------------------------------------------

def unknown_keys(model: BaseModel, prefix: str = "") -> list[str]:
    """Key paths the contract does not define; they are kept in the case, and reported."""
    found = [f"{prefix}{k}" for k in (model.model_extra or {})]
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if isinstance(item, BaseModel):
                sub = f"{prefix}{name}[{i}]." if isinstance(value, list) else f"{prefix}{name}."
                found += unknown_keys(item, sub)
    return found
