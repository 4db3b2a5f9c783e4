"""The dossier's manifest: every component with role, name, media type, size and sha256.

manifest_sha256 = sha256 of the manifest's canonical JSON: UTF-8, keys sorted, no insignificant
white space (``json.dumps(m, ensure_ascii=False, sort_keys=True, separators=(",", ":"))``).
The 备考表 carries this hash, so the 备考表 itself is the one document the manifest cannot list.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

from archive_store.canonical import canonical_json

MANIFEST_FORMAT = "yuetan-manifest/1"
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class Component:
    role: str          # case_json, rendered_docx, rendered_pdf, upload_original, upload_pdf
    name: str          # file name as embedded or stored
    media_type: str
    size: int
    sha256: str
    document: str = ""  # the document it belongs to (e.g. notice, record, attachments[0])

    @classmethod
    def of_bytes(cls, data: bytes, *, role: str, name: str, media_type: str, document: str = "") -> "Component":
        return cls(role=role, name=name, media_type=media_type, size=len(data),
                   sha256=hashlib.sha256(data).hexdigest(), document=document)

    @classmethod
    def of_file(cls, path: Path, *, role: str, media_type: str, name: str | None = None,
                document: str = "") -> "Component":
        return cls.of_bytes(Path(path).read_bytes(), role=role, name=name or Path(path).name,
                            media_type=media_type, document=document)


def build_manifest(*, case_id: str, notice_number: str, components: list[Component],
                   removed_content: list[str] | None = None, normalisation: list[dict] | None = None) -> dict:
    """`normalisation` (added in the same format version; older manifests lack it): for each upload,
    its document key, file name, the ladder rung whose output was kept, and every rung tried with
    its outcome (kept, violated, unconfirmed, failed, skipped) and Chinese reasons."""
    return {
        "format": MANIFEST_FORMAT,
        "case_id": case_id,
        "notice_number": notice_number,
        "components": [asdict(c) for c in components],
        "removed_content": list(removed_content or []),
        "normalisation": list(normalisation or []),
    }


def manifest_sha256(manifest: dict) -> str:
    return hashlib.sha256(canonical_json(manifest)).hexdigest()
