"""What an upload really is, judged by its bytes rather than its name."""
from __future__ import annotations

import zipfile
from pathlib import Path

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
JPEG = "image/jpeg"
PNG = "image/png"

MEDIA_TYPE_BY_SUFFIX = {".pdf": PDF, ".docx": DOCX, ".jpg": JPEG, ".jpeg": JPEG, ".png": PNG}
MEDIA_TYPE_LABELS = {PDF: "PDF 文档", DOCX: "Word 文档（DOCX）", JPEG: "JPEG 图像", PNG: "PNG 图像"}


def sniff_media_type(path: Path) -> str | None:
    """The media type the content shows, or None for anything yuetan does not accept."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"PK\x03\x04") and _is_docx(path):
        return DOCX
    return None


def _is_docx(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return "word/document.xml" in names and "[Content_Types].xml" in names


def expected_media_type(name: str) -> str | None:
    return MEDIA_TYPE_BY_SUFFIX.get(Path(name).suffix.lower())
