"""Text that is safe to archive and to show: no control characters, no bidirectional overrides.

A C0/C1 control breaks the XMP of a dossier (XML forbids most of them), ESC and CR rewrite a terminal line, a
bidirectional override (RLO …) shows text reversed, a line separator forges an extra line of output, and a lone
surrogate (undecodable bytes from the command line, or "\\ud800" in JSON) cannot even be written as UTF-8.
Newline (and tab) are allowed only where a field is meant to hold paragraphs.
"""
from __future__ import annotations

import re

from .errors import InvalidArgument

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Always refused: C0 but tab and newline, DEL, C1, bidi controls, line/paragraph separators, BOM, non-characters
# XML forbids, surrogates.
_ALWAYS = "\x00-\x08\x0b-\x1f\x7f-\x9f" + BIDI_CONTROLS + "\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff"
_UNSAFE = re.compile(f"[{_ALWAYS}]")
_UNSAFE_SINGLE_LINE = re.compile(f"[{_ALWAYS}\t\n]")
_NAMES = {0x00: "空字符 NUL", 0x09: "制表符", 0x0A: "换行符", 0x0D: "回车符", 0x1B: "转义符 ESC", 0x7F: "删除符 DEL",
          0x85: "下一行 NEL", 0x061C: "阿拉伯字母标记", 0x200E: "从左至右标记", 0x200F: "从右至左标记",
          0x202A: "从左至右嵌入", 0x202B: "从右至左嵌入", 0x202C: "方向格式结束", 0x202D: "从左至右强制",
          0x202E: "从右至左强制，可使文字倒序显示", 0x2066: "从左至右隔离", 0x2067: "从右至左隔离",
          0x2068: "方向隔离", 0x2069: "方向隔离结束", 0x2028: "行分隔符", 0x2029: "段落分隔符",
          0xFEFF: "零宽不换行空格（BOM）"}


def unsafe_characters(text: str, *, multiline: bool = False) -> list[str]:
    """The characters of `text` that may not be archived (newline and tab only where `multiline`)."""
    return (_UNSAFE if multiline else _UNSAFE_SINGLE_LINE).findall(text)


def describe(char: str) -> str:
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return "无法解码的字节（不是有效的 UTF-8 文字）"
    name = _NAMES.get(code) or ("控制字符" if code < 0x20 or 0x7F <= code <= 0x9F else "不可见的格式字符")
    return f"U+{code:04X}（{name}）"


def problem(text: str, *, multiline: bool = False) -> str | None:
    """A Chinese description of what is wrong with `text`, or None when it is safe."""
    found = unsafe_characters(text, multiline=multiline)
    if not found:
        return None
    kinds = "、".join(dict.fromkeys(describe(c) for c in found))
    return f"含有不允许的字符：{kinds}，请删除后重试（这类字符会破坏案卷或使显示的文字与实际不符）"


def require_plain(text: str | None, what: str, *, multiline: bool = False) -> str | None:
    """`text` unchanged when safe; else InvalidArgument naming `what` (a field or an option such as --reason)."""
    if text is None:
        return None
    found = problem(text, multiline=multiline)
    if found:
        raise InvalidArgument(f"{what}{found}")
    return text


def visible(text: str) -> str:
    """For output: every unsafe character (but newline and tab) written as a visible escape \\uXXXX."""
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code != 0x0D else "\\r"
