"""Compliance export: the cases an inspector asks for, as one BagIt bag (sha256 manifests) in a zip.

Bag layout (bag root = the zip's one top-level folder):
  data/<case_id>/dossier.pdf, case.json, manifest.json   the sealed dossier and what it was built from
  data/summary.csv, data/summary.xlsx                    文号, 约谈对象, 信用代码, 事由, 程序核查发现, 处理结果, dates
  data/ledger.jsonl                                      every ledger entry concerning these cases, chain fields kept
The bag is built in a temp folder beside the destination, zipped, and renamed into place; the export goes into
the ledger with the sha256 of the bag's tag manifest (which covers the payload manifest, so the whole bag).
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import struct
import tempfile
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path, PurePosixPath

import bagit

from archive_store import ledger
from archive_store.actors import Actor
from archive_store.durable import fsync_dir, sha256_file
from archive_store.errors import ArchiveConflict, InvalidArgument
from archive_store.home import ArchiveHome
from pipeline.pdf.manifest import canonical_json
from pipeline.records.credit import InterviewEntry, interview_entry, write_table

SUMMARY_HEADERS = ["文号", "约谈对象", "信用代码", "事由", "程序核查发现", "处理结果", "约谈日期", "结案日期",
                   "案件编号", "约谈组织方"]
TAG_MANIFEST = "tagmanifest-sha256.txt"
MAX_MEMBERS = 100_000


@dataclass(frozen=True)
class ExportFilters:
    """The same filters as `yuetan search`; all given ones must hold."""

    query: str | None = None
    kind: str | None = None
    ground: str | None = None
    organizer: str | None = None
    region: str | None = None
    outcome: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def as_dict(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items() if v}


@dataclass(frozen=True)
class ExportResult:
    path: Path
    case_ids: list[str]
    tagmanifest_sha256: str
    zip_sha256: str
    ledger_seq: int


def select_cases(home: ArchiveHome, filters: ExportFilters) -> list:
    """Current cases exactly as `yuetan search` selects them (same index, same filters), oldest interview first.

    Refused while any current case is missing from the index: an inspector's export must not be silently short.
    """
    from pipeline.search import index

    with home.catalog() as catalog:
        current = {r.case_id: r for r in catalog.all_cases(status="current")}
        not_indexed = sorted(r.case_id for r in catalog.not_indexed())
    if not_indexed:
        raise ArchiveConflict(f"{len(not_indexed)} 个案件尚未编入全文索引（{'、'.join(not_indexed[:5])}"
                              f"{'等' if len(not_indexed) > 5 else ''}），导出会不完整：请先运行 yuetan reindex")
    if not current:
        return []
    found = index.search(home.index_dir, filters.query or "", kind=filters.kind, ground=filters.ground,
                         organizer=filters.organizer, region=filters.region, outcome=filters.outcome,
                         date_from=filters.date_from, date_to=filters.date_to, limit=len(current),
                         highlight="none")
    records = [current[h.case_id] for h in found.hits if h.case_id in current]
    return sorted(records, key=lambda r: (_as_date(r.interview_on) or date.min, r.notice_number or "", r.case_id))


def export_bag(home: ArchiveHome, filters: ExportFilters, dest: Path, *, actor: Actor,
               in_archive: bool = False) -> ExportResult:
    """Write the bag zip to `dest`; refuses to export nothing and never overwrites an existing file. `dest` is a
    user's (-o), never inside the archive, unless `in_archive`: an export the archive keeps for an inspector."""

    dest = Path(dest)
    if not in_archive:
        home.refuse_output_inside(dest)
    if dest.suffix.lower() != ".zip":
        raise InvalidArgument(f"导出文件 {dest} 的扩展名应为 .zip")
    if dest.exists():
        raise InvalidArgument(f"导出文件 {dest} 已存在：请另选文件名，已有的文件不会被覆盖")
    records = select_cases(home, filters)
    if not records:
        raise InvalidArgument(f"没有符合条件的案件（{_filters_text(filters)}），未导出任何文件")
    store = home.blobs()
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.stem}.", suffix=".partial", dir=dest.parent))
    try:
        bag_dir = work / _safe_name(dest.stem)
        bag_dir.mkdir()
        with home.catalog() as catalog:
            entries = _write_payload(catalog, store, records, bag_dir)
            organizers = sorted({r.organizer for r in records if r.organizer})
            zip_tmp = work / "bag.zip"
            tag_sha, zip_sha = package_bag(home, bag_dir, {
                "Source-Organization": organizers or ["（未注明）"],
                "External-Description": f"约谈档案合规导出：{len(records)} 个案件（{_filters_text(filters)}）",
                "External-Identifier": dest.stem,
                "Contact-Name": actor.name,
                "Bag-Group-Identifier": "yuetan",
                "Yuetan-Filters": canonical_json(filters.as_dict()).decode("utf-8"),
                "Yuetan-Case-Count": str(len(records)),
                "Yuetan-Ledger-Head": _ledger_head_text(catalog),
            }, zip_tmp)
            with catalog.transaction() as tx:
                entry = ledger.append(tx, action="export", actor=actor, case_id=None, details={
                    "file": dest.name, "filters": filters.as_dict(), "case_ids": [e.case_id for e in entries],
                    "manifest_sha256": {e.case_id: r.manifest_sha256 for e, r in zip(entries, records)},
                    "tagmanifest_sha256": tag_sha, "zip_sha256": zip_sha})
            os.replace(zip_tmp, dest)
            fsync_dir(dest.parent)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ExportResult(dest, [r.case_id for r in records], tag_sha, zip_sha, entry.seq)


def package_bag(home: ArchiveHome, bag_dir: Path, bag_info: dict, zip_path: Path) -> tuple[str, str]:
    """The payload in `bag_dir` made a BagIt bag (sha256) and zipped to `zip_path`: what every bag the archive
    hands out goes through (exports, yearly handovers). Returns (tag manifest sha256, zip sha256)."""
    with _quiet_bagit():
        bag = bagit.make_bag(str(bag_dir), bag_info=bag_info, checksums=["sha256"])
    tag_sha = sha256_file(Path(bag.path) / TAG_MANIFEST)
    _zip_folder(bag_dir, zip_path)
    return tag_sha, sha256_file(zip_path)


def _write_payload(catalog, store, records, bag_dir: Path, *, folder_name=None) -> list[InterviewEntry]:
    """Files go straight into the future bag folder; bagit's make_bag moves them under data/. Each case's folder is
    its case_id, or `folder_name(record)`."""

    entries = []
    with open(bag_dir / "ledger.jsonl", "w", encoding="utf-8") as ledger_file:
        for record in records:
            folder = bag_dir / _safe_name(folder_name(record) if folder_name else record.case_id)
            folder.mkdir()
            store.export_to(record.dossier_sha256, folder / "dossier.pdf")
            store.export_to(record.case_json_sha256, folder / "case.json")
            store.export_to(record.manifest_json_sha256, folder / "manifest.json")
            for path in folder.iterdir():
                path.chmod(0o644)
            entries.append(interview_entry(catalog, store, record))
            for item in ledger.entries(catalog, case_id=record.case_id):
                ledger_file.write(json.dumps(_entry_dict(item), ensure_ascii=False, sort_keys=True) + "\n")
    rows = [_summary_row(e) for e in entries]
    write_table(entries, bag_dir / "summary.csv", headers=SUMMARY_HEADERS, rows=rows)
    write_table(entries, bag_dir / "summary.xlsx", headers=SUMMARY_HEADERS, rows=rows, sheet_title="约谈案件汇总")
    return entries


def _ledger_head_text(catalog) -> str:
    """The ledger's last entry before this export: a copy outside the archive that pins the whole chain."""
    head = ledger.head(catalog)
    return f"{head.seq} {head.entry_hash}" if head else "0"


def _summary_row(e: InterviewEntry) -> list:
    return [e.notice_number, e.target_name, e.credit_code or "", e.grounds_text, e.findings_text, e.outcome_label,
            e.interview_on, e.closed_on, e.case_id, e.organizer]


def _entry_dict(entry) -> dict:
    value = asdict(entry) if hasattr(entry, "__dataclass_fields__") else dict(entry)
    return {k: (v.isoformat() if isinstance(v, (date, datetime)) else v) for k, v in value.items()}


def _zip_folder(folder: Path, dest: Path) -> None:
    """Stored, not deflated: every byte of a member is then covered by its CRC and its bag checksum (a deflate
    stream can change in bits the decompressor ignores), and the dossiers are compressed PDFs anyway."""
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, str(PurePosixPath(folder.name, *path.relative_to(folder).parts)))
    with open(dest, "rb") as f:
        os.fsync(f.fileno())


# --- verification of a bag received back -----------------------------------------------------------------

@contextmanager
def _quiet_bagit():
    """bagit logs each problem in English on stderr; we report them ourselves, in Chinese."""
    logger = logging.getLogger("bagit")
    was = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was


def verify_bag(path: Path, *, home: ArchiveHome | None = None) -> list[str]:
    """Every problem of the bag zip, in Chinese; an empty list means the bag is valid.

    Three layers: the zip's own structure (each local header agrees with the central directory, no bytes
    outside the entries), BagIt validation (every checksum, nothing missing or added), and, when the archive
    home is at hand and its ledger recorded this export, the zip's sha256 against the one recorded.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidArgument(f"导出文件 {path} 不存在")
    with _quiet_bagit(), tempfile.TemporaryDirectory(prefix="yuetan-bag-") as tmp:
        problems = _safe_unzip(path, Path(tmp))
        problems += _ledger_problems(home, path, Path(tmp))
        root = _bag_root(Path(tmp))
        if root is None:
            return problems + ["zip 中找不到 bagit.txt：这不是 BagIt 包"]
        try:
            bag = bagit.Bag(str(root))
        except bagit.BagError as exc:
            return problems + [f"BagIt 包无法读取：{_bag_error_text(exc)}"]
        try:
            bag.validate(processes=1)
        except bagit.BagValidationError as exc:
            problems += _validation_problems(exc)
            if not exc.details:
                problems += _details_after_early_failure(bag)
        except bagit.BagError as exc:
            problems.append(f"BagIt 包无效：{_bag_error_text(exc)}")
    return problems


def _safe_unzip(path: Path, dest: Path) -> list[str]:
    """Extract member by member, refusing unsafe names; a damaged member is named and skipped."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        return [f"{path.name} 不是完好的 zip 文件（{exc}）"]
    with archive:
        problems = _structure_problems(archive, path)
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            return [f"{path.name} 含 {len(members)} 个成员，超过上限 {MAX_MEMBERS}"]
        for member in members:
            name = PurePosixPath(member.filename)
            if name.is_absolute() or ".." in name.parts or (member.external_attr >> 16) & 0o170000 == 0o120000:
                problems.append(f"zip 成员 {member.filename} 的路径不安全（绝对路径、.. 或符号链接），未解压")
                continue
            if member.is_dir():
                continue
            target = dest.joinpath(*name.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(member) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
                target.unlink(missing_ok=True)
                problems.append(f"zip 成员 {member.filename} 已损坏，无法解压（{exc}）")
    return problems


_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")


def _structure_problems(archive: zipfile.ZipFile, path: Path) -> list[str]:
    """Local headers must repeat the central directory, and the entries must fill the file up to it."""
    problems = []
    end = archive.start_dir
    expected = 0
    with open(path, "rb") as raw:
        for info in sorted(archive.infolist(), key=lambda i: i.header_offset):
            if not 0 <= info.header_offset < end:
                problems.append(f"zip 成员 {info.filename} 在中央目录中记下的位置 {info.header_offset} 无效")
                continue
            raw.seek(info.header_offset)
            header = raw.read(_LOCAL_HEADER.size)
            if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
                problems.append(f"zip 成员 {info.filename} 的本地文件头损坏")
                continue
            _, needed, flags, method, dos_time, dos_date, crc, csize, usize, name_len, extra_len = \
                _LOCAL_HEADER.unpack(header)
            name = raw.read(name_len)
            y, mo, d, h, mi, sec = info.date_time
            same = [needed == info.extract_version, info.volume == 0, flags == info.flag_bits, method == info.compress_type,
                    dos_time == (sec // 2) | (mi << 5) | (h << 11), dos_date == d | (mo << 5) | ((y - 1980) << 9),
                    name == info.filename.encode("utf-8" if flags & 0x800 else "cp437")]
            if not flags & 0x08:
                same += [crc == info.CRC, csize == info.compress_size, usize == info.file_size]
            if not all(same):
                problems.append(f"zip 成员 {info.filename} 的本地文件头与中央目录不一致（zip 文件被改动过）")
            if info.header_offset != expected:
                problems.append(f"zip 成员 {info.filename} 之前有 {info.header_offset - expected} 字节不属于任何成员")
            expected = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len + info.compress_size
            if flags & 0x08:
                expected += 16
    if expected != end:
        problems.append(f"zip 中央目录之前有 {end - expected} 字节不属于任何成员（zip 文件被改动过）")
    return problems


def _ledger_problems(home: ArchiveHome | None, path: Path, unpacked: Path) -> list[str]:
    """If this archive's ledger recorded the export (same tag manifest), the zip must be the file it wrote."""
    if home is None or not home.catalog_path.exists():
        return []
    tags = list(unpacked.glob(f"*/{TAG_MANIFEST}")) + list(unpacked.glob(TAG_MANIFEST))
    if len(tags) != 1:
        return []

    tag_sha = sha256_file(tags[0])
    with home.catalog() as catalog:
        recorded = [e for e in ledger.entries(catalog)
                    if e.action == "export" and e.details.get("tagmanifest_sha256") == tag_sha]
    if recorded and all(e.details.get("zip_sha256") != sha256_file(path) for e in recorded):
        return [f"{path.name} 与台账第 {recorded[-1].seq} 条记录的导出文件不同（sha256 不符）："
                "zip 文件在导出后被改动或重新打包过"]
    return []


def _bag_root(folder: Path) -> Path | None:
    if (folder / "bagit.txt").is_file():
        return folder
    candidates = [p.parent for p in folder.glob("*/bagit.txt")]
    return candidates[0] if len(candidates) == 1 else None


def _validation_problems(exc) -> list[str]:
    if not exc.details:
        return [_bag_error_text(exc)]
    problems = []
    for detail in exc.details:
        if isinstance(detail, bagit.ChecksumMismatch):
            problems.append(f"文件 {detail.path} 的 {detail.algorithm} 摘要不符：清单记为 {detail.expected}，"
                            f"实为 {detail.found}（文件被改动过）")
        elif isinstance(detail, bagit.FileMissing):
            problems.append(f"清单列出的文件 {detail.path} 缺失")
        elif isinstance(detail, bagit.UnexpectedFile):
            problems.append(f"文件 {detail.path} 不在清单中（包被加入了文件）")
        else:
            problems.append(_bag_error_text(detail))
    return problems


def _details_after_early_failure(bag) -> list[str]:
    """bagit stops at a Payload-Oxum mismatch; run its completeness and checksum passes too, to list everything."""
    problems = []
    for step in (bag._validate_completeness, lambda: bag._validate_entries(1)):
        try:
            step()
        except bagit.BagValidationError as exc:
            problems += _validation_problems(exc)
        except (bagit.BagError, OSError):
            pass
    return problems


_OXUM_RE = re.compile(r"Expected (\d+) files and (\d+) bytes but found (\d+) files and (\d+) bytes")


def _bag_error_text(exc) -> str:
    text = getattr(exc, "message", None) or str(exc)
    match = _OXUM_RE.search(text)
    if match:
        return (f"载荷统计（Payload-Oxum）不符：应为 {match[1]} 个文件、{match[2]} 字节，"
                f"实为 {match[3]} 个文件、{match[4]} 字节")
    translations = {"Expected bagit.txt does not exist": "缺少 bagit.txt",
                    "No manifest files found": "缺少清单文件（manifest-*.txt）",
                    "Expected data directory": "缺少 data 文件夹",
                    "Bag is incomplete": "包不完整", "Bag validation failed": "包校验失败"}
    for english, chinese in translations.items():
        if english in text:
            return f"{chinese}（{text}）"
    return f"BagIt 校验失败：{text}"


# --- helpers ---------------------------------------------------------------------------------------------

def _filters_text(filters: ExportFilters) -> str:
    labels = {"query": "检索词", "kind": "对象类型", "ground": "事由", "organizer": "组织方", "region": "地区",
              "outcome": "处理结果", "date_from": "约谈日期自", "date_to": "约谈日期至"}
    given = filters.as_dict()
    return "，".join(f"{labels[k]} {v}" for k, v in given.items()) or "全部案件"


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[\\/:*?\"<>|\x00-\x1f]", "_", name).strip(". ")
    return cleaned or "case"


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    return date.fromisoformat(str(value)[:10])

