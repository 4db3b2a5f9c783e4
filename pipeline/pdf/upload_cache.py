"""Normalised uploads kept for reuse, so a case ingested again or superseded by a new version does not OCR again.

An entry is keyed by the sha256 of the original upload, its file name (it appears in the ladder's reasons) and the
normaliser's version (`normaliser_version`: the ladder's own version and the versions of the programs and libraries
whose output it keeps), and holds what `normalise_upload` returned: the PDF/A-2b file and how it was made (rung,
attempts, removed content). Reusing an entry gives the same bytes and the same manifest entry as normalising again.

Layout: <home>/cache/normalised/<sha256 of the original>/<key>/entry.json. An entry is put only once its case is
stored (ingest, after the catalog transaction), so a refused or failed case leaves nothing here; a hit is served
from the blob store, by the PDF's own sha256. Purging a case removes the entries of its uploads (`forget`), so a
destroyed upload leaves nothing here. An entry that cannot be read or whose PDF is gone is a miss, never an error.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import threading
import uuid
from dataclasses import asdict, replace
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from archive_store.durable import fsync_dir, fsync_file, sha256_file
from pipeline.pdf.ladder import RungAttempt
from pipeline.pdf.normalise import LADDER_VERSION, NormalisedUpload

log = logging.getLogger(__name__)
ENTRY = "entry.json"
PDF = "upload.pdf"
_SHA = re.compile(r"^[0-9a-f]{64}$")


@lru_cache(maxsize=1)
def normaliser_version() -> str:
    """What the normalised PDF depends on besides the upload: the ladder and the programs it runs."""
    libraries = [f"{name} {_library(name)}" for name in ("ocrmypdf", "pikepdf", "img2pdf", "pillow", "fpdf2")]
    programs = [_first_line(["tesseract", "--version"]), "gs " + _first_line(["gs", "--version"]),
                "poppler " + _first_line(["pdftotext", "-v"]), "libreoffice " + _libreoffice_build()]
    return "; ".join([f"ladder {LADDER_VERSION}", *libraries, *programs])


class UploadCache:
    """The cache in one archive home; `blobs` serves entries whose own copy was released."""

    def __init__(self, root: Path, blobs=None):
        self.root = Path(root)
        self.blobs = blobs
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def key(original_sha256: str, name: str) -> str:
        return hashlib.sha256(f"{original_sha256}\n{name}\n{normaliser_version()}".encode("utf-8")).hexdigest()

    def _folder(self, original_sha256: str, name: str) -> Path:
        return self.root / original_sha256 / self.key(original_sha256, name)

    def get(self, original: Path, original_sha256: str, name: str, dest: Path) -> NormalisedUpload | None:
        """The cached normalisation of `original` written to `dest`, or None (a miss)."""
        folder = self._folder(original_sha256, name)
        try:
            entry = json.loads((folder / ENTRY).read_text(encoding="utf-8"))
            pdf_sha = entry["pdf_sha256"]
            if not self._copy_out(folder / PDF, pdf_sha, Path(dest)):
                raise FileNotFoundError(pdf_sha)
            upload = NormalisedUpload(
                source=Path(original), pdf=Path(dest), media_type=entry["media_type"], removed=entry["removed"],
                repaired=entry["repaired"], ocr_pages=entry["ocr_pages"], page_count=entry["page_count"],
                rung=entry["rung"], attempts=[RungAttempt(**a) for a in entry["attempts"]])
        except (OSError, ValueError, KeyError, TypeError):
            with self._lock:
                self.misses += 1
            return None
        with self._lock:
            self.hits += 1
        log.debug("规范化缓存命中：%s（%s）", name, original_sha256[:12])
        return replace(upload, cached=True)

    def _copy_out(self, copy: Path, pdf_sha: str, dest: Path) -> bool:
        if not _SHA.match(pdf_sha):
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        if copy.is_file():
            shutil.copyfile(copy, dest)
            if sha256_file(dest) == pdf_sha:
                return True
            dest.unlink()
            return False
        if self.blobs is not None and self.blobs.has(pdf_sha):
            try:
                self.blobs.export_to(pdf_sha, dest)
            except Exception:  # noqa: BLE001 - a damaged blob is audit's to report; here it is a miss
                dest.unlink(missing_ok=True)
                return False
            if sha256_file(dest) == pdf_sha:
                return True
            dest.unlink()
        return False

    @staticmethod
    def entry_of(original_sha256: str, name: str, upload: NormalisedUpload) -> dict:
        """What `put` keeps of an upload just normalised (made while its PDF is at hand, kept after storing)."""
        return {"original_sha256": original_sha256, "name": name, "media_type": upload.media_type,
                "removed": list(upload.removed), "repaired": list(upload.repaired), "ocr_pages": upload.ocr_pages,
                "page_count": upload.page_count, "rung": upload.rung, "attempts": [asdict(a) for a in upload.attempts],
                "pdf_sha256": sha256_file(upload.pdf), "normaliser": normaliser_version()}

    def put(self, entry: dict) -> bool:
        """Keep `entry` (`entry_of`) once the case is stored: its PDF is then in the blob store, which serves it, and
        the purge of the case removes the entry. An entry that is there already stays. False when not kept."""
        original_sha, pdf_sha = str(entry.get("original_sha256", "")), str(entry.get("pdf_sha256", ""))
        if not (_SHA.match(original_sha) and _SHA.match(pdf_sha)) or self.blobs is None or not self.blobs.has(pdf_sha):
            return False
        folder = self._folder(original_sha, entry["name"])
        if (folder / ENTRY).is_file():
            return True
        partial = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}.partial")
        try:
            partial.mkdir(parents=True)
            (partial / ENTRY).write_text(json.dumps(entry, ensure_ascii=False, indent=1), encoding="utf-8")
            fsync_file(partial / ENTRY)
            os.rename(partial, folder)
            fsync_dir(folder.parent)
            return True
        except OSError:
            return False    # another ingest put it first, or the disk is full: the cache is only a cache
        finally:
            shutil.rmtree(partial, ignore_errors=True)

    def holds(self, original_sha256: str) -> bool:
        """Whether anything is kept for this original (`purge_leftovers` asks)."""
        return bool(_SHA.match(original_sha256)) and (self.root / original_sha256).exists()

    def forget(self, original_sha256: str) -> None:
        """Every entry for this original (a purged case's upload)."""
        if _SHA.match(original_sha256):
            shutil.rmtree(self.root / original_sha256, ignore_errors=True)


def upload_cache(home) -> UploadCache:
    """The normalisation cache of the archive `home` (an ArchiveHome), served from its blob store too."""
    return UploadCache(Path(home.path) / "cache" / "normalised", blobs=home.blobs())


def _library(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def _first_line(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return f"{cmd[0]} absent"
    text = (done.stdout or done.stderr).decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else f"{cmd[0]} unknown"


def _libreoffice_build() -> str:
    """LibreOffice's build id from its versionrc (starting soffice to ask would take a second)."""
    soffice = shutil.which("soffice")
    if soffice is None:
        return "absent"
    rc = Path(soffice).resolve().parent / "versionrc"
    try:
        found = re.search(r"^buildid=(\S+)", rc.read_text(encoding="utf-8", errors="replace"), re.MULTILINE)
    except OSError:
        return "unknown"
    return found.group(1) if found else "unknown"
