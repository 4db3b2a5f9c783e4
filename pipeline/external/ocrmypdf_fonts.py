"""The font of OCRmyPDF's invisible text layer: glyphless, and small enough to read at once.

The layer is never drawn (text render mode 3), so a glyphless font gives the same text, positions and ToUnicode
map as the Noto CJK font OCRmyPDF would look up for Chinese, without parsing and subsetting that 16 MB CFF font for
every upload, and without the dossier's check reading its outlines again. OCRmyPDF's own glyphless font, Occulta,
maps all 65,536 characters of the BMP, and fpdf2 and fontTools walk that whole map twice for every file (0.1 s of a
screenshot's 0.17 s of Python). So the text layer uses a subset of Occulta with the characters of GB 2312 (what
Tesseract's chi_sim reads, nearly always) and Latin-1, made once per user (in ~/.cache/yuetan); a word with any other
character is set in Occulta itself. OCRmyPDF has no option for the font: the OCR job replaces the font manager its
renderer creates (OCRmyPDF's version is pinned; tests/test_normalise.py checks the fonts of its output).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

COMMON_FONT_NAME = "YuetanGlyphless"


def common_characters() -> str:
    """GB 2312's characters (its 6,763 hanzi, punctuation and full-width forms) and Latin-1."""
    chars = [chr(c) for c in range(0x20, 0x100) if c != 0x7F]
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return "".join(chars)


def cache_folder() -> Path:
    """The user's cache folder for yuetan (XDG: $XDG_CACHE_HOME/yuetan, else ~/.cache/yuetan)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "yuetan"


def common_font(occulta: Path) -> Path:
    """The subset of `occulta` with `common_characters()`, made on first use in the user's cache folder."""
    digest = hashlib.sha256(occulta.read_bytes()).hexdigest()[:12]
    path = cache_folder() / f"glyphless-{digest}.ttf"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(occulta)
    subsetter = subset.Subsetter(subset.Options(name_IDs=["*"], notdef_outline=True))
    subsetter.populate(unicodes=[ord(c) for c in common_characters()])
    subsetter.subset(font)
    for record in font["name"].names:
        if record.nameID in (1, 4, 6):
            record.string = COMMON_FONT_NAME
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        font.save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def use_glyphless_text_layer() -> None:
    """In an OCR job, before OCRmyPDF runs: its renderer sets each word in the common glyphless font, or in Occulta
    when the word has a character that font lacks."""
    import ocrmypdf
    from ocrmypdf import font

    if getattr(font.MultiFontManager, "glyphless", False):
        return
    from ocrmypdf.font.font_manager import FontManager
    from ocrmypdf.font.font_provider import BuiltinFontProvider

    try:
        common_path = common_font(Path(ocrmypdf.__file__).parent / "data" / "Occulta.ttf")
    except OSError:
        common_path = None                      # no cache to write: every word in Occulta, only slower

    class GlyphlessFontManager(font.MultiFontManager):
        glyphless = True

        def __init__(self, font_dir: Path | None = None, **_ignored) -> None:
            super().__init__(font_dir, font_provider=BuiltinFontProvider(font_dir))
            self.common = FontManager(common_path) if common_path is not None else None

        def select_font_for_word(self, word_text: str, line_language: str | None):
            if self.common is not None and all(self.common.has_glyph(ord(c)) for c in word_text):
                return self.common
            return self.font_provider.get_fallback_font()

    font.MultiFontManager = GlyphlessFontManager
