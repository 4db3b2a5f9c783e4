"""Compliance export: the cases an inspector asks for, as one BagIt bag (sha256 manifests) in a zip.

Bag layout (bag root = the zip's one top-level folder):
  data/<case_id>/dossier.pdf, case.json, manifest.json   the sealed dossier and what it was built from
  data/summary.csv, data/summary.xlsx                    文号, 约谈对象, 信用代码, 事由, 程序核查发现, 处理结果, dates
  data/ledger.jsonl                                      every ledger entry concerning these cases, chain fields kept
  data/ledger-chain.txt                                  "seq prev_hash entry_hash" of every entry up to the head
  tagmanifest-sha256.txt.p7s                             the archive seal's detached CMS signature of the tag manifest
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
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path, PurePosixPath

import bagit

from archive_store import ledger
from archive_store.actors import Actor
from archive_store.durable import atomic_path, sha256_file
from archive_store.errors import ArchiveConflict, InvalidArgument, YuetanError
from archive_store.home import ArchiveHome
from archive_store.text import require_plain
from pipeline.case import safezip
from pipeline.pdf.manifest import canonical_json
from pipeline.pdf.seal import load_trust, sign_detached, verify_detached
from pipeline.records.credit import InterviewEntry, interview_entry, write_table

SUMMARY_HEADERS = ["文号", "约谈对象", "信用代码", "事由", "程序核查发现", "处理结果", "约谈日期", "结案日期",
                   "案件编号", "约谈组织方", "档号"]
TAG_MANIFEST = "tagmanifest-sha256.txt"
SIGNATURE_FILE = "tagmanifest-sha256.txt.p7s"
CHAIN_FILE = "ledger-chain.txt"


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
    from pipeline.records.lookup import search_archive

    with home.catalog() as catalog:
        current = {r.case_id: r for r in catalog.all_cases(status="current")}
        not_indexed = sorted(r.case_id for r in catalog.not_indexed())
    if not_indexed:
        raise ArchiveConflict(f"{len(not_indexed)} 个案件尚未编入全文索引（{'、'.join(not_indexed[:5])}"
                              f"{'等' if len(not_indexed) > 5 else ''}），导出会不完整：请先运行 yuetan reindex")
    if not current:
        return []
    found = search_archive(home, filters.query or "", kind=filters.kind, ground=filters.ground,
                           organizer=filters.organizer, region=filters.region, outcome=filters.outcome,
                           date_from=filters.date_from, date_to=filters.date_to, limit=len(current),
                           highlight="none", facets=False)
    records = [current[h.case_id] for h in found.hits if h.case_id in current]
    return sorted(records, key=lambda r: (_as_date(r.interview_on) or date.min, r.notice_number or "", r.case_id))


def export_bag(home: ArchiveHome, filters: ExportFilters, dest: Path, *, actor: Actor,
               in_archive: bool = False) -> ExportResult:
    """Write the bag zip to `dest`; refuses to export nothing and never overwrites an existing file. `dest` is a
    user's (-o), never inside the archive, unless `in_archive`: an export the archive keeps for an inspector."""

    dest = Path(dest)
    for key, value in filters.as_dict().items():       # they go into bag-info and the ledger
        if isinstance(value, str):
            require_plain(value, f"导出的筛选条件（{key}）")
    if dest.suffix.lower() != ".zip":
        raise InvalidArgument(f"导出文件 {dest} 的扩展名应为 .zip")
    if dest.exists():
        raise InvalidArgument(f"导出文件 {dest} 已存在：请另选文件名，已有的文件不会被覆盖")
    records = select_cases(home, filters)
    if not records:
        raise InvalidArgument(f"没有符合条件的案件（{_filters_text(filters)}），未导出任何文件")
    if in_archive:
        dest.parent.mkdir(parents=True, exist_ok=True)
    else:
        home.output_file(dest)
    store = home.blobs()
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.stem}.", suffix=".partial", dir=dest.parent))
    try:
        bag_dir = work / _safe_name(dest.stem)
        bag_dir.mkdir()
        with home.catalog() as catalog:
            head = ledger.head(catalog)
            entries = _write_payload(catalog, store, records, bag_dir, head_seq=head.seq if head else 0)
            organizers = sorted({r.organizer for r in records if r.organizer})
            with atomic_path(dest, exclusive=True) as zip_tmp:
                tag_sha, zip_sha = package_bag(home, bag_dir, {
                    "Source-Organization": organizers or ["（未注明）"],
                    "External-Description": f"约谈档案合规导出：{len(records)} 个案件（{_filters_text(filters)}）",
                    "External-Identifier": dest.stem,
                    "Contact-Name": actor.name,
                    "Bag-Group-Identifier": "yuetan",
                    "Yuetan-Filters": canonical_json(filters.as_dict()).decode("utf-8"),
                    "Yuetan-Case-Count": str(len(records)),
                    "Yuetan-Ledger-Head": ledger_head_text(head),
                }, zip_tmp)
                with catalog.transaction() as tx:
                    entry = ledger.append(tx, action="export", actor=actor, case_id=None, details={
                        "file": dest.name, "filters": filters.as_dict(), "case_ids": [e.case_id for e in entries],
                        "manifest_sha256": {e.case_id: r.manifest_sha256 for e, r in zip(entries, records)},
                        "tagmanifest_sha256": tag_sha, "zip_sha256": zip_sha})
    except FileExistsError:
        raise InvalidArgument(f"导出文件 {dest} 在导出过程中被别的程序创建：已有的文件不会被覆盖，请另选文件名") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ExportResult(dest, [r.case_id for r in records], tag_sha, zip_sha, entry.seq)


def package_bag(home: ArchiveHome, bag_dir: Path, bag_info: dict, zip_path: Path) -> tuple[str, str]:
    """The payload in `bag_dir` made a BagIt bag (sha256), its tag manifest signed by the archive's seal (a
    detached CMS, `SIGNATURE_FILE`), and zipped to `zip_path`: what every bag the archive hands out goes through
    (exports, yearly handovers), so an inspector or a receiving archive can prove where it came from.
    Returns (tag manifest sha256, zip sha256)."""
    info = {**bag_info, "Yuetan-Signature": f"{SIGNATURE_FILE}（CMS 分离式签名，DER，签名对象为 {TAG_MANIFEST}）"}
    with _quiet_bagit():
        bag = bagit.make_bag(str(bag_dir), bag_info=info, checksums=["sha256"])
    tag_manifest = Path(bag.path) / TAG_MANIFEST
    tag_sha = sha256_file(tag_manifest)
    (Path(bag.path) / SIGNATURE_FILE).write_bytes(sign_detached(
        tag_manifest.read_bytes(), p12_path=home.seal_pkcs12, passphrase=home.seal_passphrase()))
    _zip_folder(bag_dir, zip_path)
    return tag_sha, sha256_file(zip_path)


def ledger_head_text(head) -> str:
    """The ledger's last entry before the bag was made (bag-info's Yuetan-Ledger-Head): a copy outside the archive
    that pins the whole chain, and the end of the bag's ledger-chain.txt."""
    return f"{head.seq} {head.entry_hash}" if head else "0"


def _write_payload(catalog, store, records, bag_dir: Path, *, head_seq: int, folder_name=None) -> list[InterviewEntry]:
    """Files go straight into the future bag folder; bagit's make_bag moves them under data/. Each case's folder is
    its case_id, or `folder_name(record)`.

    ledger.jsonl holds the entries about these cases up to `head_seq`, whole (each one's hash can be recomputed);
    ledger-chain.txt holds "seq prev_hash entry_hash" of every entry up to the head, so each of them is tied to the
    head in bag-info, and the head to the archive's own ledger."""

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
                if item.seq > head_seq:
                    continue            # written after the head this bag is pinned to
                ledger_file.write(json.dumps(_entry_dict(item), ensure_ascii=False, sort_keys=True) + "\n")
    with open(bag_dir / CHAIN_FILE, "w", encoding="ascii") as chain:
        for entry in ledger.entries(catalog):
            if entry.seq <= head_seq:
                chain.write(f"{entry.seq} {entry.prev_hash} {entry.entry_hash}\n")
    rows = [_summary_row(e) for e in entries]
    write_table(entries, bag_dir / "summary.csv", headers=SUMMARY_HEADERS, rows=rows)
    write_table(entries, bag_dir / "summary.xlsx", headers=SUMMARY_HEADERS, rows=rows, sheet_title="约谈案件汇总")
    return entries


def _summary_row(e: InterviewEntry) -> list:
    return [e.notice_number, e.target_name, e.credit_code or "", e.grounds_text, e.findings_text, e.outcome_label,
            e.interview_on, e.closed_on, e.case_id, e.organizer, e.archival_code or ""]


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


@dataclass(frozen=True)
class BagCheck:
    name: str
    ok: bool
    message: str

    def as_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "message": self.message}


@dataclass
class ExportReport:
    """Each layer of an export's verification, and every problem found, in Chinese."""

    path: Path
    checks: list[BagCheck]
    problems: list[str]
    signer: str | None = None
    notes: list[str] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and all(c.ok for c in self.checks)

    def as_dict(self) -> dict:
        return {"path": str(self.path), "valid": self.ok, "problems": self.problems,
                "checks": [c.as_dict() for c in self.checks], "signer": self.signer, "notes": self.notes or []}


def verify_bag(path: Path, *, home: ArchiveHome | None = None, trust: Path | None = None) -> list[str]:
    """Every problem of the bag zip, in Chinese; an empty list means the bag is valid (see `verify_export`)."""
    return verify_export(path, home=home, trust=trust).problems


def verify_export(path: Path, *, home: ArchiveHome | None = None, trust: Path | None = None) -> ExportReport:
    """Every layer of an export received back, each reported:

    zip — the zip's own structure (each local header agrees with the central directory, no bytes outside the
    entries); manifests — BagIt validation (every checksum, nothing missing or added); signature — the seal's
    detached CMS signature over the tag manifest (which covers the payload manifest and bag-info), against
    `trust`, else the archive's own seal when verified at the archive; ledger_chain — every ledger entry in the
    bag recomputes to its hash and sits in the chain that ends at the head named in bag-info; archive — when
    the archive home is at hand, that head is in its ledger and, if it recorded this export, the zip is the
    file it wrote.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidArgument(f"导出文件 {path} 不存在")
    anchors = load_trust(Path(trust)) if trust is not None else None
    notes: list[str] = []
    signer = None
    with _quiet_bagit(), tempfile.TemporaryDirectory(prefix="yuetan-bag-") as tmp:
        unpacked = Path(tmp)
        zip_problems = _safe_unzip(path, unpacked)
        archive_problems = _ledger_problems(home, path, unpacked)
        root = _bag_root(unpacked)
        if root is None:
            missing = "zip 中找不到 bagit.txt：这不是 BagIt 包"
            manifest_problems, signature_problems, chain_problems = [missing], [missing], [missing]
        else:
            manifest_problems, info = _manifest_problems(root)
            if anchors is None and home is not None:
                anchors = _archive_anchors(home, notes)
            signature_problems, signer = _signature_problems(root, anchors, notes)
            chain_problems, head = _chain_problems(root, info)
            archive_problems += _archive_head_problems(home, head)
    checks = [
        BagCheck("zip", not zip_problems, "zip 结构完好" if not zip_problems else "；".join(zip_problems)),
        BagCheck("manifests", not manifest_problems,
                 "BagIt 清单与全部文件一致" if not manifest_problems else "；".join(manifest_problems)),
        BagCheck("signature", not signature_problems,
                 f"电子签名有效（签名者 {signer}）" if not signature_problems else "；".join(signature_problems)),
        BagCheck("ledger_chain", not chain_problems,
                 "台账记录与哈希链一致" if not chain_problems else "；".join(chain_problems)),
    ]
    if home is not None:
        checks.append(BagCheck("archive", not archive_problems,
                               "与本档案库的台账一致" if not archive_problems else "；".join(archive_problems)))
    problems = _unique(zip_problems + manifest_problems + signature_problems + chain_problems + archive_problems)
    return ExportReport(path, checks, problems, signer, notes)


def _manifest_problems(root: Path) -> tuple[list[str], dict]:
    try:
        bag = bagit.Bag(str(root))
    except bagit.BagError as exc:
        return [f"BagIt 包无法读取：{_bag_error_text(exc)}"], {}
    problems: list[str] = []
    try:
        bag.validate(processes=1)
    except bagit.BagValidationError as exc:
        problems += _validation_problems(exc)
        if not any(isinstance(detail, bagit.ChecksumMismatch) for detail in exc.details or []):
            problems += _details_after_early_failure(bag, root)
    except bagit.BagError as exc:
        problems.append(f"BagIt 包无效：{_bag_error_text(exc)}")
    return problems, dict(bag.info)


def _archive_anchors(home: ArchiveHome, notes: list[str]) -> list | None:
    """At the archive, its own seal is the signer to expect: the certificate beside the PKCS#12, else from it."""
    try:
        crt = home.seal_pkcs12.with_suffix(".crt")
        if crt.is_file():
            return load_trust(crt)
        return load_trust(home.seal_pkcs12, home.seal_passphrase())
    except YuetanError as exc:
        notes.append(f"无法读取本档案库的印章证书（{exc.message}）：只核验签名完好，未核验签名者")
        return None


def _signature_problems(root: Path, anchors: list | None, notes: list[str]) -> tuple[list[str], str | None]:
    signature, tag_manifest = root / SIGNATURE_FILE, root / TAG_MANIFEST
    if not signature.is_file():
        return [f"导出包没有电子签名（{SIGNATURE_FILE}）：无法证明它出自档案库"], None
    if not tag_manifest.is_file():
        return [f"缺少 {TAG_MANIFEST}：电子签名无从核验"], None
    status = verify_detached(tag_manifest.read_bytes(), signature.read_bytes(), anchors=anchors)
    if anchors is None:
        notes.append("未指定 --trust（也不在档案库中核验）：已核验签名完好，未核验签名者是否为所信任的印章证书")
    if status.development:
        notes.append("此导出包用开发测试用印章签名，不是正式印章")
    return [f"电子签名核验失败：{p}" for p in status.problems], status.signer


def _chain_problems(root: Path, info: dict) -> tuple[list[str], tuple[int, str] | None]:
    """The ledger entries in the bag against their own hashes, the chain file, and the head in bag-info."""
    chain_file, entries_file = root / "data" / CHAIN_FILE, root / "data" / "ledger.jsonl"
    if not chain_file.is_file() or not entries_file.is_file():
        return [f"缺少 data/{CHAIN_FILE} 或 data/ledger.jsonl：台账记录无法与台账头对应"], None
    problems: list[str] = []
    chain: dict[int, tuple[str, str]] = {}
    previous = (0, ledger.GENESIS_HASH)
    for number, line in enumerate(chain_file.read_text(encoding="ascii", errors="replace").splitlines(), start=1):
        parts = line.split()
        if len(parts) != 3 or not parts[0].isdigit():
            problems.append(f"data/{CHAIN_FILE} 第 {number} 行格式不对")
            continue
        seq, prev_hash, entry_hash = int(parts[0]), parts[1], parts[2]
        if seq != previous[0] + 1 or prev_hash != previous[1]:
            problems.append(f"data/{CHAIN_FILE} 中第 {seq} 条与前一条接不上：哈希链断开")
        chain[seq] = (prev_hash, entry_hash)
        previous = (seq, entry_hash)
    head_text = info.get("Yuetan-Ledger-Head", "")
    head_text = head_text[-1] if isinstance(head_text, list) else head_text
    parts = str(head_text).split()
    head = (int(parts[0]), parts[1]) if len(parts) == 2 and parts[0].isdigit() else None
    if head is None and parts != ["0"]:
        problems.append("bag-info.txt 中缺少台账头（Yuetan-Ledger-Head）")
    elif (head or (0, ledger.GENESIS_HASH)) != previous:
        problems.append(f"data/{CHAIN_FILE} 止于第 {previous[0]} 条，与 bag-info.txt 记下的台账头 {head_text} 不符")
    for number, line in enumerate(entries_file.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        try:
            e = json.loads(line)
            seq = e["seq"]
            fields = {k: e[k] for k in ("at", "actor", "action", "case_id", "details", "prev_hash")}
            recomputed = ledger.entry_hash(seq=seq, role=e.get("role"), **fields)
        except (ValueError, KeyError, TypeError):
            problems.append(f"data/ledger.jsonl 第 {number} 行不是完整的台账记录")
            continue
        if recomputed != e.get("entry_hash"):
            problems.append(f"data/ledger.jsonl 中第 {seq} 条台账记录被改动：内容与其哈希不符")
        elif chain.get(seq) != (e["prev_hash"], e["entry_hash"]):
            problems.append(f"data/ledger.jsonl 中第 {seq} 条台账记录不在 {CHAIN_FILE} 的哈希链上")
    return problems, head


def _archive_head_problems(home: ArchiveHome | None, head: tuple[int, str] | None) -> list[str]:
    """At the archive: the bag's ledger head must be an entry of this archive's ledger."""
    if home is None or head is None:
        return []
    with home.catalog() as catalog:
        entry = next(iter(ledger.entries(catalog, after=head[0] - 1)), None)
    if entry is None or entry.seq != head[0] or entry.entry_hash != head[1]:
        return [f"导出包记下的台账头（第 {head[0]} 条）不在本档案库的台账中：不是本档案库导出的，或台账被改写"]
    return []


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _safe_unzip(path: Path, dest: Path) -> list[str]:
    """Unpack by the one set of zip rules, listing every problem (unsafe members skipped, damaged ones named), and
    check the zip's own structure: a rebuilt or edited zip shows in it."""
    problems = [str(p) for p in safezip.extract(path, dest, safezip.BAG_ZIP, all_or_nothing=False)]
    try:
        archive = zipfile.ZipFile(path)
    except Exception:
        return problems
    with archive:
        return _structure_problems(archive, path) + problems


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
    """If this archive's ledger recorded the bag (an export or a handover with the same tag manifest), the zip must
    be the file it wrote."""
    if home is None or (home.catalog_location.is_sqlite and not home.catalog_location.path.exists()):
        return []
    tags = list(unpacked.glob(f"*/{TAG_MANIFEST}")) + list(unpacked.glob(TAG_MANIFEST))
    if len(tags) != 1:
        return []

    tag_sha = sha256_file(tags[0])
    with home.catalog() as catalog:
        recorded = [e for e in ledger.entries(catalog)
                    if e.action in ("export", "handover") and e.details.get("tagmanifest_sha256") == tag_sha]
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


def _details_after_early_failure(bag, root: Path) -> list[str]:
    """bagit's validation stops at its first failing pass (Payload-Oxum, then completeness) before comparing
    checksums; from what it has read (`payload_entries`, `payload_files`), list every missing, added and changed
    file too."""
    listed = bag.payload_entries()
    present = set(bag.payload_files())
    problems = [f"清单列出的文件 {relative} 缺失" for relative in sorted(set(listed) - present)]
    problems += [f"文件 {relative} 不在清单中（包被加入了文件）" for relative in sorted(present - set(listed))]
    for relative, digests in sorted(listed.items()):
        expected = digests.get("sha256")
        target = root / relative
        if expected is None or not target.is_file():
            continue
        found = sha256_file(target)
        if found != expected:
            problems.append(f"文件 {relative} 的 sha256 摘要不符：清单记为 {expected}，实为 {found}（文件被改动过）")
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

