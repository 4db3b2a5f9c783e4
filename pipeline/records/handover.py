"""The yearly handover (移交) to the comprehensive archive: the year's dossiers as one BagIt bag, with the
catalogue and the 移交清单 for both sides to sign; recorded in the ledger; verified on the receiving side.

Output folder (created whole, by rename):
  <全宗号>-<年度>-档案移交.zip   the bag, made by the export machinery (`export.package_bag`):
      data/<档号>/dossier.pdf, case.json, manifest.json   each sealed dossier and what it was built from
      data/案卷目录.xlsx, data/案卷目录.pdf                 the year's catalogue
      data/移交清单.pdf                                     counts, pages, sizes, ledger head, checks, digests
      data/ledger.jsonl, data/summary.csv, summary.xlsx      as in an export
  移交清单.pdf, 案卷目录.xlsx, 案卷目录.pdf                  copies to print and sign
Before packing, every dossier is verified (seal, manifest, PDF/A): the form states what was checked.

A handover prepared in the web application is kept in the archive (handovers/<handover_id>/, `keep_handover`); the
ledger's entry is its record: the files are found by the handover's id in the ledger and their hashes checked
against it on the way out, never by a path from a request.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from archive_store import ledger
from archive_store.actors import Actor
from archive_store.durable import fsync_dir, sha256_file
from archive_store.errors import InvalidArgument, VerificationFailed
from archive_store.home import ArchiveHome
from archive_store.text import require_plain
from pipeline.case import safezip
from pipeline.documents import render
from pipeline.pdf.verify import verify_dossier
from pipeline.records import catalogue as catalogues
from pipeline.records import export
from pipeline.records.authority import require

FORM_PDF = "移交清单.pdf"
CATALOGUE_XLSX = "案卷目录.xlsx"
CATALOGUE_PDF = "案卷目录.pdf"
COPIES = (FORM_PDF, CATALOGUE_XLSX, CATALOGUE_PDF)      # beside the zip, to print and sign
HANDOVERS_DIR = "handovers"                             # handovers the archive keeps (prepared on the web)
PACKAGE = "package"                                     # handover_file's name for the zip
HANDOVER_ID = re.compile(r"^YJ-\d{4}-\d{20}$")


@dataclass
class HandoverResult:
    path: Path
    zip_path: Path
    year: int
    archival_codes: list[str]
    pages: int
    bytes: int
    tagmanifest_sha256: str
    zip_sha256: str
    ledger_seq: int
    handover_id: str | None = None


@dataclass
class HandoverCheck:
    path: Path
    problems: list[str] = field(default_factory=list)
    cases: int = 0
    notes: list[str] = field(default_factory=list)
    signer: str | None = None

    @property
    def valid(self) -> bool:
        return not self.problems


def bag_name(home: ArchiveHome, year: int) -> str:
    return f"{home.settings.arrangement.fonds_code}-{year}-档案移交"


def hand_over(home: ArchiveHome, year: int, out_dir: Path, *, actor: Actor, receiver: str = "",
              converter=None) -> HandoverResult:
    """Write the year's handover into `out_dir` (which must not exist or be empty, and never inside the archive)
    and ledger it."""
    out_dir = Path(out_dir)
    home.refuse_output_inside(out_dir)
    receiver = require_plain(receiver, "接收单位（--receiver）")
    return _hand_over(home, year, out_dir, actor=actor, receiver=receiver, converter=converter)


def _hand_over(home: ArchiveHome, year: int, out_dir: Path, *, actor: Actor, receiver: str, converter=None,
               handover_id: str | None = None) -> HandoverResult:
    """The handover written into `out_dir`, its receiver already checked: a folder the user named (hand_over,
    guarded) or the archive's own handovers/<handover_id>/ (keep_handover). Signed by package_bag either way."""
    from pipeline.pdf.pdfa import pdfa_converter

    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InvalidArgument(f"移交输出文件夹 {out_dir} 已存在且不为空：请另选文件夹，已有内容不会被覆盖")
    catalogue = catalogues.year_catalogue(home, year)
    rows = catalogue.stored
    if not rows:
        raise InvalidArgument(f"{year} 年度没有在库的案件（按结案年度），无可移交")
    missing_codes = [r.case_id for r in rows if not r.archival_code]
    if missing_codes:
        raise InvalidArgument(f"{year} 年度有案件尚未编档号（{'、'.join(missing_codes[:5])}），请先为其编号再移交")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=out_dir.parent))
    try:
        own = None
        if converter is None:
            own = pdfa_converter()
            converter = own.__enter__()
        try:
            result = _write(home, catalogue, work, out_dir, actor=actor, receiver=receiver, converter=converter,
                            handover_id=handover_id)
        finally:
            if own is not None:
                own.close()
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(work / "out", out_dir)
        fsync_dir(out_dir.parent)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _write(home: ArchiveHome, catalogue: catalogues.Catalogue, work: Path, out_dir: Path, *, actor: Actor,
           receiver: str, converter, handover_id: str | None = None) -> HandoverResult:
    rows = catalogue.stored
    name = bag_name(home, catalogue.year)
    bag_dir = work / name
    bag_dir.mkdir()
    (work / "out").mkdir()
    by_code = {r.archival_code: r for r in rows}
    store = home.blobs()
    with home.catalog() as catalog:
        records = [catalog.current(r.case_id) for r in rows]
        head = ledger.head(catalog)
        export._write_payload(catalog, store, records, bag_dir, head_seq=head.seq if head else 0,
                              folder_name=lambda rec: rec.archival_code)
    digests, problems, size = [], [], 0
    for record in records:
        dossier = bag_dir / export._safe_name(record.archival_code) / "dossier.pdf"
        size += dossier.stat().st_size
        report = verify_dossier(dossier)
        if not report.ok:
            problems.append(f"{record.archival_code}：" + "；".join(c.message for c in report.checks if not c.ok))
        digests.append({"archival_code": record.archival_code, "pages": by_code[record.archival_code].pages,
                        "size": dossier.stat().st_size, "sha256": record.dossier_sha256})
    if problems:
        raise InvalidArgument("以下案卷未通过核验，不能移交：" + "；".join(problems))
    kept = handover_id is not None                  # written in the archive's own handovers/ folder
    catalogues.write_catalogue(home, catalogue, bag_dir / CATALOGUE_XLSX, in_archive=kept)
    catalogues.write_catalogue(home, catalogue, bag_dir / CATALOGUE_PDF, converter=converter, in_archive=kept)
    head_text = f"第 {head.seq} 条 {head.entry_hash}" if head else "（台账为空）"
    _write_form(home, catalogue, bag_dir / FORM_PDF, digests=digests, size=size, head_text=head_text,
                receiver=receiver, converter=converter)
    for file_name in COPIES:
        shutil.copyfile(bag_dir / file_name, work / "out" / file_name)
    copies = {file_name: sha256_file(work / "out" / file_name) for file_name in COPIES}
    zip_path = work / "out" / f"{name}.zip"
    tag_sha, zip_sha = export.package_bag(home, bag_dir, {
        "Source-Organization": catalogue.fonds_name or "（未注明）",
        "External-Description": f"{catalogue.fonds_name}{catalogue.year}年度约谈档案移交：{len(rows)}卷",
        "External-Identifier": name,
        "Contact-Name": actor.name,
        "Bag-Group-Identifier": "yuetan",
        "Yuetan-Handover-Year": str(catalogue.year),
        "Yuetan-Fonds-Code": catalogue.fonds_code,
        "Yuetan-Case-Count": str(len(rows)),
        "Yuetan-Ledger-Head": export.ledger_head_text(head),
    }, zip_path)
    codes = [r.archival_code for r in rows]
    details = {"year": catalogue.year, "fonds_code": catalogue.fonds_code, "file": zip_path.name,
               "archival_codes": codes, "case_ids": [r.case_id for r in rows], "pages": catalogue.pages,
               "bytes": size, "tagmanifest_sha256": tag_sha, "zip_sha256": zip_sha, "receiver": receiver,
               "files": copies}
    if handover_id is not None:
        details["handover_id"] = handover_id
    with home.catalog() as catalog, catalog.transaction() as tx:
        entry = ledger.append(tx, action="handover", actor=actor, case_id=None, details=details)
    return HandoverResult(path=out_dir, zip_path=out_dir / zip_path.name, year=catalogue.year,
                          archival_codes=codes, pages=sum(d["pages"] for d in digests), bytes=size,
                          tagmanifest_sha256=tag_sha, zip_sha256=zip_sha, ledger_seq=entry.seq,
                          handover_id=handover_id)


# --- handovers the archive keeps (prepared in the web application) ----------------------------------------

@dataclass(frozen=True)
class KeptHandover:
    """A handover as its ledger entry records it; `handover_id` only for one the archive keeps."""

    seq: int
    at: str
    actor: str
    role: str | None
    year: int
    receiver: str
    archival_codes: list[str]
    case_ids: list[str]
    pages: int
    bytes: int
    file: str
    zip_sha256: str
    files: dict[str, str] = field(default_factory=dict)     # the copies beside the zip: name → sha256
    handover_id: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def keep_handover(home: ArchiveHome, year: int, *, actor: Actor, receiver: str,
                  converter=None) -> HandoverResult:
    """The year's handover written into the archive (handovers/<handover_id>/) for the archivist to download."""
    require(actor, "hand_over")
    receiver = require_plain((receiver or "").strip(), "接收单位")
    if not receiver:
        raise InvalidArgument("请写明接收单位（印在移交清单上，如某市档案馆）")
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    handover_id = f"YJ-{year}-{stamp}"
    # The archive chooses this folder itself (no path from a user), so the -o guard does not apply; the rest —
    # verification, the seal's signature through export.package_bag, the ledger — is hand_over's.
    return _hand_over(home, year, home.path / HANDOVERS_DIR / handover_id, actor=actor, receiver=receiver,
                      converter=converter, handover_id=handover_id)


def handovers(home: ArchiveHome) -> list[KeptHandover]:
    """Every handover the ledger records, latest first (those written by the command line elsewhere too)."""
    with home.catalog() as catalog:
        found = [e for e in ledger.entries(catalog) if e.action == "handover"]
    return [_kept(e) for e in reversed(found)]


def _kept(entry) -> KeptHandover:
    d = entry.details
    return KeptHandover(seq=entry.seq, at=entry.at, actor=entry.actor, role=entry.role, year=int(d.get("year", 0)),
                        receiver=d.get("receiver", ""), archival_codes=list(d.get("archival_codes", [])),
                        case_ids=list(d.get("case_ids", [])), pages=int(d.get("pages", 0)),
                        bytes=int(d.get("bytes", 0)), file=d.get("file", ""), zip_sha256=d.get("zip_sha256", ""),
                        files=dict(d.get("files", {})), handover_id=d.get("handover_id"))


def kept_handover(home: ArchiveHome, handover_id: str) -> KeptHandover:
    """A handover the archive keeps, by its id (from the ledger)."""
    if not HANDOVER_ID.match(handover_id or ""):
        raise InvalidArgument(f"移交编号“{handover_id}”格式不对（应如 YJ-2025-20260101080000000000）")
    found = next((h for h in handovers(home) if h.handover_id == handover_id), None)
    if found is None:
        raise InvalidArgument(f"档案库中没有移交 {handover_id}")
    return found


def handover_file(home: ArchiveHome, handover_id: str, name: str, *, actor: Actor) -> Path:
    """One file of a kept handover: `PACKAGE` (the zip: every dossier of the year, for whoever hands over) or one
    of COPIES (the 移交清单 and the catalogue, for those who read the catalogue). Found by the ledger, its hash
    checked against the ledger's before it is handed out."""
    require(actor, "hand_over" if name == PACKAGE else "read_catalogue")
    if name != PACKAGE and name not in COPIES:
        raise InvalidArgument(f"移交没有名为“{name}”的文件")
    kept = kept_handover(home, handover_id)
    file_name = kept.file if name == PACKAGE else name
    expected = kept.zip_sha256 if name == PACKAGE else kept.files.get(name)
    path = home.path / HANDOVERS_DIR / kept.handover_id / file_name
    if not file_name or "/" in file_name or not path.is_file():
        raise InvalidArgument(f"移交 {handover_id} 的 {file_name or name} 不在档案库中")
    if expected is None or sha256_file(path) != expected:
        raise VerificationFailed(f"移交 {handover_id} 的 {file_name} 与台账记录的摘要不符，未提供下载：请运行 yuetan audit")
    return path


def _write_form(home: ArchiveHome, catalogue: catalogues.Catalogue, dest: Path, *, digests: list[dict], size: int,
                head_text: str, receiver: str, converter) -> None:
    """移交清单 after GB/T 18894's 电子档案移交与接收登记表, filled with what this handover holds and checked."""
    fonts = render.DocumentFonts(title=home.settings.fonts.title, body=home.settings.fonts.body,
                                 heading=home.settings.fonts.heading)
    count = len(digests)
    pages = sum(d["pages"] for d in digests)
    codes = [d["archival_code"] for d in digests]
    context = {
        "title": "电子档案移交清单",
        "subtitle": f"{catalogue.fonds_name}　{catalogue.year}年度",
        "name": f"全宗 {catalogue.fonds_code}（{catalogue.fonds_name}）{catalogue.year}年度约谈档案移交",
        "description": (f"约谈档案（文书档案），按结案年度；档号 {codes[0]} 至 {codes[-1]}；每卷为一份封存的 PDF/A-3b "
                        f"案卷文件及其 case.json、manifest.json；附{catalogue.title}（XLSX、PDF）；BagIt 包（SHA-256）"),
        "quantity": f"{count}卷（{sum(1 for r in catalogue.rows)}个档号，其中在库 {count}卷）",
        "volume": f"{size / 1024 ** 3:.3f} GB（{size} 字节），共 {pages} 页",
        "carrier": "离线或在线移交的 BagIt 包（zip，不压缩）",
        "ledger_head": head_text,
        "accuracy": f"{count}卷案卷文件的 SHA-256 与档案库目录一致（见下表）",
        "integrity": f"{catalogue.title}所列在库档号与包内 {count}卷一一对应；每卷嵌入文件与清单一致",
        "usability": f"{count}卷均通过 PDF/A-3b 检查，文字可提取",
        "security": f"{count}卷电子印章完好、覆盖整个文件；包内每个文件有 SHA-256 清单",
        "digests": digests,
        "from_unit": catalogue.fonds_name,
        "to_unit": receiver,
    }
    with tempfile.TemporaryDirectory(prefix="yuetan-handover-") as tmp:
        docx = render.render_template(render.HANDOVER_FORM, context, Path(tmp), fonts=fonts)
        converter.convert_to_pdfa(docx, dest)


def verify_handover(path: Path, *, home: ArchiveHome | None = None, trust: Path | None = None) -> HandoverCheck:
    """On the receiving side: the bag (zip structure, BagIt checksums, the seal's signature over its tag manifest
    against `trust`, the ledger chain), every dossier (seal, manifest, PDF/A), and the catalogue against the
    dossiers the bag holds. `path` is the handover folder or its zip."""
    path = Path(path)
    if path.is_dir():
        zips = sorted(path.glob("*.zip"))
        if len(zips) != 1:
            raise InvalidArgument(f"移交文件夹 {path} 中应恰有一个 zip 包，实有 {len(zips)} 个")
        path = zips[0]
    if not path.is_file():
        raise InvalidArgument(f"移交包 {path} 不存在")
    check = HandoverCheck(path=path)
    report = export.verify_export(path, home=home, trust=trust)
    check.problems += report.problems
    check.notes += report.notes or []
    check.signer = report.signer
    with tempfile.TemporaryDirectory(prefix="yuetan-handover-") as tmp:
        root = _unpack(path, Path(tmp))
        if root is None:
            check.problems.append("zip 中找不到 BagIt 包的 data 文件夹")
            return check
        folders = {p.parent.name: p for p in root.glob("*/dossier.pdf")}
        check.cases = len(folders)
        for code, dossier in sorted(folders.items()):
            report = verify_dossier(dossier)
            if not report.ok:
                check.problems.append(f"案卷 {code}：" + "；".join(c.message for c in report.checks if not c.ok))
        listed = root / CATALOGUE_XLSX
        if not listed.is_file():
            check.problems.append(f"包中缺少 {CATALOGUE_XLSX}")
            return check
        _, rows = catalogues.read_xlsx(listed)
        stored = {str(r[1]) for r in rows if r[1] and "销毁" not in str(r[8] or "") and "未入库" not in str(r[8] or "")}
        for code in sorted(stored - set(folders)):
            check.problems.append(f"{CATALOGUE_XLSX} 列出的档号 {code} 在包中没有案卷")
        for code in sorted(set(folders) - stored):
            check.problems.append(f"包中的案卷 {code} 不在 {CATALOGUE_XLSX} 中")
    return check


def _unpack(path: Path, dest: Path) -> Path | None:
    """The bag's data/ folder, unpacked by the one set of zip rules (what they refuse, verify_export has named)."""
    safezip.extract(path, dest, safezip.BAG_ZIP, all_or_nothing=False)
    data = [p for p in dest.glob("*/data") if p.is_dir()]
    return data[0] if len(data) == 1 else None
