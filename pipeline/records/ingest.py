"""Ingest: closed cases in, sealed dossiers stored, catalogued, ledgered and indexed — whole or not at all.

Per case, top-down: open and check → is it new, the same again, or a new version → build the dossier in
staging → put every file into the blob store → ONE catalog transaction (case, documents, findings, ledger
entry) → index. The catalog transaction is the moment a case exists. A crash before it leaves only blobs
nobody references (harmless; `audit` counts them) and a staged build the rerun reuses; a crash after it leaves
the index behind, which the case's `indexed_at` shows and the rerun (or `reindex`) completes.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from archive_store import clock, ledger
from archive_store.actors import Actor
from archive_store.catalog import CaseRecord, DocumentRow, FindingRow
from archive_store.durable import (
    crash_point,
    file_lock,
    fsync_dir,
    fsync_file,
    sha256_file,
    write_atomically,
)
from archive_store.errors import (
    ArchiveConflict,
    ArchiveDamaged,
    ExitCode,
    InvalidCase,
    YuetanError,
    environment_error,
)
from archive_store.home import ArchiveHome
from archive_store.numbers import clear_note
from archive_store.scratch import process_alive
from pipeline.case.intake import CaseBundle, open_case
from pipeline.dossier import BuiltDossier, build_from_bundle
from pipeline.external.poppler import page_texts, pdf_text
from pipeline.pdf.assemble import page_count
from pipeline.pdf.manifest import canonical_json
from pipeline.records.retention import lock_until
from pipeline.pdf.upload_cache import upload_cache
from pipeline.search.index import configured_engine, index_case
from pipeline.search.reindex import index_document

log = logging.getLogger(__name__)
BUILT_FILE = "built.json"
DOSSIER_NAME = "dossier.pdf"
TEXTS_FILE = "texts.json"
NORMALISED_FILE = "normalised.json"      # the build's new normalisation-cache entries, put once the case is stored


class Status:
    ingested = "ingested"
    superseded = "superseded"     # a new version was stored; the old one is kept and linked
    unchanged = "unchanged"       # the same case again: nothing to do
    completed = "completed"       # was stored by an interrupted run; this run finished its indexing
    refused = "refused"           # invalid input
    conflict = "conflict"         # same case_id, different content, no --supersede
    failed = "failed"             # conversion or another error


STATUS_LABELS = {Status.ingested: "已入库", Status.superseded: "已入库（新版本，旧版本保留）",
                 Status.unchanged: "已在库中，内容相同，未作改动", Status.completed: "已补全上次中断的入库",
                 Status.refused: "拒收", Status.conflict: "冲突", Status.failed: "失败"}
FAILED_STATUSES = {Status.refused, Status.conflict, Status.failed}


@dataclass
class IngestResult:
    source: str
    status: str
    case_id: str | None = None
    version: int | None = None
    notice_number: str | None = None
    dossier_sha256: str | None = None
    manifest_sha256: str | None = None
    findings: list[dict] = field(default_factory=list)
    message: str = ""
    problems: list[dict] = field(default_factory=list)
    archival_code: str | None = None
    exit_code: int = 0              # of the error that failed it: the same status the other commands give
    stages: dict[str, float] = field(default_factory=dict)     # seconds per stage (clock.STAGES) and "wall"

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


def case_sources(paths: Iterable[Path]) -> list[Path]:
    """Case folders, zips or case.json files; a folder without case.json is a folder of many cases."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir() and not (path / "case.json").is_file():
            children = sorted(p for p in path.iterdir()
                              if (p.is_dir() and (p / "case.json").is_file())
                              or (p.is_file() and p.suffix.lower() == ".zip"))
            found.extend(children or [path])
        else:
            found.append(path)
    return found


def content_sha256(bundle: CaseBundle) -> str:
    """What makes two deliveries of a case "the same": case.json's bytes and every upload's bytes."""
    files = sorted((a.attachment.file, sha256_file(a.path)) for a in bundle.attachments)
    return hashlib.sha256(canonical_json({"case_json": hashlib.sha256(bundle.case_json).hexdigest(),
                                          "attachments": files})).hexdigest()


def ingest_cases(sources: list[Path], *, home: ArchiveHome, actor: Actor, jobs: int = 1, supersede: bool = False,
                 on_result: Callable[[IngestResult], None] | None = None,
                 on_stage: Callable[[str, str], None] | None = None) -> list[IngestResult]:
    """Ingest every case; one bad case is reported and the rest go on. Results in the order of `sources`.

    `jobs` cases are built at a time, each worker thread with its own LibreOffice, which a case hands on to the next
    once its dossier is sealed (its check, storing and indexing go on beside the next build); the uploads and the
    dossiers' checks run in jobs (processes forked from a warm server, one per core at a time), so the OCR of one case
    overlaps the conversions of another. The LibreOffice processes and the fork server start at once, while the
    first cases are opened. Uploads normalised before (a re-ingest, a new version) come from the archive's
    normalisation cache."""
    from pipeline.dossier import UploadsAhead, warm_up
    from pipeline.pdf.pdfa import pdfa_converter

    workers = max(1, min(jobs, len(sources)))
    idle = queue.SimpleQueue()
    converters = [pdfa_converter() for _ in range(workers)]
    for c in converters:
        try:
            c.start()               # LibreOffice starts now and is connected to in the background
        except YuetanError:
            pass                    # not installed or broken: each case that needs it says so in its own row
        idle.put(c)
    warm_up()
    lock = threading.Lock()
    cache = UploadsAhead(upload_cache(home), Path(tempfile.mkdtemp(prefix="yuetan-ahead-")))
    upcoming = iter(list(sources)[workers:])

    def one(source: Path) -> IngestResult:
        ahead = threading.Event()
        converter = idle.get()
        holding = True

        def release() -> None:
            nonlocal holding
            if holding:
                holding = False
                idle.put(converter)

        def start_next() -> None:
            """The next case's uploads, queued once this case's own are (jobs start in the order queued)."""
            if not ahead.is_set():
                ahead.set()
                with lock:
                    following = next(upcoming, None)
                if following is not None:
                    normalise_ahead(cache, following)

        def stage(name: str) -> None:
            if name not in ("check", "normalise"):
                start_next()
            if name == "seal":
                release()           # sealing, the dossier's check (a job), storing and indexing need no LibreOffice
            if on_stage:
                on_stage(str(source), name)

        try:
            result = ingest_case(source, home=home, actor=actor, converter=lambda: converter, supersede=supersede,
                                 on_stage=stage, uploads_cache=cache)
        finally:
            release()
            start_next()
        if on_result is not None:
            with lock:
                on_result(result)
        return result

    try:
        # more threads than LibreOffices: a case whose dossier is being checked and stored has handed its LibreOffice
        # to the next case, which builds meanwhile (a thread waiting for a LibreOffice holds nothing)
        with ThreadPoolExecutor(max_workers=min(2 * workers + 1, len(sources)), thread_name_prefix="ingest") as pool:
            results = list(pool.map(one, sources))
    finally:
        cache.close()
        for c in converters:
            c.close()
    log.debug("提前规范化 %d 份上传材料", cache.taken)
    log_stage_table(results)
    return results


def normalise_ahead(cache, source: Path) -> None:
    """Start normalising the uploads of a case to come (a folder; a zip is unpacked only when its turn comes).
    A case that does not open is left to its turn, which reports it."""
    if not Path(source).is_dir():
        return
    try:
        with open_case(source) as bundle:
            cache.start(bundle.attachments)
    except (InvalidCase, OSError):
        pass


def log_stage_table(results: list[IngestResult]) -> None:
    """The stage table (seconds per stage and case, and the median) at `-v`: where each case's time went."""
    rows = [(r.case_id or Path(r.source).name, r.stages) for r in results if r.stages]
    if rows and log.isEnabledFor(logging.DEBUG):
        log.debug("各阶段耗时（秒；阶段可重叠，合计可超过全程）：\n%s", "\n".join(clock.stage_table(rows)))


def ingest_case(source: Path, *, home: ArchiveHome, actor: Actor, converter, supersede: bool = False,
                on_stage: Callable[[str], None] | None = None, uploads_cache=None) -> IngestResult:
    """One case, whole or not at all; every failure becomes a result, never an exception.

    `converter` is a callable returning the LibreOffice converter, so one starts only when a build is needed;
    `on_stage(name)` hears each stage as it starts (check, normalise, render, convert, assemble, seal, store, index).
    The result carries the seconds of each stage (`stages`, see clock.STAGES).
    """
    times = clock.StageTimes()
    result = _ingest_case(source, home=home, actor=actor, converter=converter, supersede=supersede,
                          on_stage=on_stage, uploads_cache=uploads_cache, times=times)
    result.stages = times.finish()
    log.debug("案件 %s 各阶段耗时（秒）：%s", result.case_id or source,
              "，".join(f"{clock.STAGE_LABELS.get(k, k)} {v:.2f}" for k, v in result.stages.items()))
    return result


def _ingest_case(source: Path, *, home: ArchiveHome, actor: Actor, converter, supersede: bool,
                 on_stage: Callable[[str], None] | None, uploads_cache, times: clock.StageTimes) -> IngestResult:
    stage = on_stage or (lambda name: None)
    label = str(source)
    try:
        stage("check")
        with contextlib.ExitStack() as stack:
            with times.timed("intake"):
                bundle = stack.enter_context(open_case(source))
            return _ingest_bundle(bundle, label, home=home, actor=actor, converter=converter, supersede=supersede,
                                  stage=stage, times=times, uploads_cache=uploads_cache)
    except InvalidCase as exc:
        return IngestResult(label, Status.refused, message=exc.message, problems=[asdict(p) for p in exc.problems],
                            exit_code=int(exc.exit_code))
    except ArchiveConflict as exc:
        return IngestResult(label, Status.conflict, message=exc.message, exit_code=int(exc.exit_code))
    except ArchiveDamaged:
        raise                       # not this case's fault: the whole batch stops
    except YuetanError as exc:
        return IngestResult(label, Status.failed, message=exc.message, exit_code=int(exc.exit_code))
    except Exception as exc:  # noqa: BLE001 - one broken case must not stop a batch; the archive is untouched
        explained = environment_error(exc)
        if explained is not None:
            return IngestResult(label, Status.failed, message=f"{explained.message}（该案件未入库）",
                                exit_code=int(explained.exit_code))
        return IngestResult(label, Status.failed, exit_code=int(ExitCode.internal),
                            message=f"内部错误（{type(exc).__name__}: {str(exc)[:200]}）：该案件未入库，请把此信息报告给维护人员")


def case_lock(home: ArchiveHome, case_id: str) -> Path:
    """The lock one ingest of a case holds from its first look at the catalog to its index entry, across processes
    and threads: a second ingest of the same case waits, then finds it stored. 256 lock files, by case_id hash."""
    return home.path / "locks" / f"ingest-{hashlib.sha256(case_id.encode('utf-8')).hexdigest()[:2]}.lock"


def _ingest_bundle(bundle: CaseBundle, label: str, *, home: ArchiveHome, actor: Actor, converter,
                   supersede: bool, stage: Callable[[str], None], times: clock.StageTimes,
                   uploads_cache=None) -> IngestResult:
    with file_lock(case_lock(home, bundle.case.case_id)):
        return _ingest_locked(bundle, label, home=home, actor=actor, converter=converter, supersede=supersede,
                              stage=stage, times=times, uploads_cache=uploads_cache)


def _ingest_locked(bundle: CaseBundle, label: str, *, home: ArchiveHome, actor: Actor, converter,
                   supersede: bool, stage: Callable[[str], None], times: clock.StageTimes,
                   uploads_cache=None) -> IngestResult:
    case = bundle.case
    with times.timed("intake"):
        content = content_sha256(bundle)
        with home.catalog() as catalog:
            current = catalog.current(case.case_id)
    if current is not None and current.content_sha256 == content:
        return _already_stored(current, label, home)
    if current is not None and not supersede:
        raise ArchiveConflict(
            f"案件 {case.case_id} 已以不同内容入库（文号 {current.notice_number}）：如确为更正后的新版本，"
            "请加 --supersede 重新入库（旧版本保留并与新版本关联）")
    try:
        with clock.timed(log, "入库 %s：生成案卷", case.case_id):
            staged = _staged_build(bundle, content, home=home, actor=actor, converter=converter, stage=stage,
                                   times=times, uploads_cache=uploads_cache)
    except Exception as exc:
        _note_unused_number(bundle, home, exc)
        raise
    crash_point("after_build")
    stage("store")
    with clock.timed(log, "入库 %s：存储与登记", case.case_id), times.timed("store"):
        stored = store_build(staged, bundle, content, home=home, actor=actor, previous=current)
    if stored.dossier_sha256 != staged.dossier_sha256:     # stored meanwhile by an ingest that took no lock
        return _already_stored(stored, label, home)
    if uploads_cache is not None:
        cache_normalised(uploads_cache, staged)
    crash_point("after_catalog")
    stage("index")
    with clock.timed(log, "入库 %s：编入索引", case.case_id), times.timed("index"):
        index_stored(stored, home)
    crash_point("after_index")
    shutil.rmtree(_staging_dir(home, content), ignore_errors=True)
    return IngestResult(label, Status.superseded if current is not None else Status.ingested,
                        case_id=case.case_id, version=stored.version, notice_number=staged.notice_number,
                        archival_code=staged.archival_code, dossier_sha256=staged.dossier_sha256,
                        manifest_sha256=staged.manifest_sha256, findings=staged.findings,
                        message=STATUS_LABELS[Status.superseded if current is not None else Status.ingested])


# --- staging: the build, kept until the case is stored -------------------------------------------------------

@dataclass(frozen=True)
class StagedBuild:
    """A finished build in home/staging/<content sha>/, described by built.json (written last)."""

    folder: Path
    case_id: str
    notice_number: str
    dossier_sha256: str
    manifest_sha256: str
    page_count: int
    archived_on: date
    findings: list[dict]
    files: dict[str, str]            # sha256 → path relative to folder
    documents: list[list[str]]       # [key, title, pdf path relative to folder] in dossier order
    archival_code: str | None = None  # 档号 (a build staged before it existed has none)

    @property
    def dossier(self) -> Path:
        return self.folder / DOSSIER_NAME

    @property
    def manifest_json(self) -> Path:
        return self.folder / "manifest.json"


def _staging_dir(home: ArchiveHome, content: str) -> Path:
    return home.path / "staging" / content


def cache_normalised(cache, staged: StagedBuild) -> None:
    """The case is stored, its normalised uploads with it: the cache now knows them (see pipeline.pdf.upload_cache).
    Only a stored case's uploads are kept, so a refused or failed case leaves nothing there."""
    try:
        entries = json.loads((staged.folder / NORMALISED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return                  # a build staged before the cache existed
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict):
            cache.put(entry)


def _staged_build(bundle: CaseBundle, content: str, *, home: ArchiveHome, actor: Actor, converter,
                  stage: Callable[[str], None] | None = None, times: clock.StageTimes | None = None,
                  uploads_cache=None) -> StagedBuild:
    """Reuse a complete build an interrupted run left; else build in a private folder and rename it in."""
    final = _staging_dir(home, content)
    if (final / BUILT_FILE).is_file():
        return _read_staged(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_builds(final.parent, content)
    work = final.parent / f".{content}.{os.getpid()}.{threading.get_ident()}.partial"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        (work / "work").mkdir()
        built = build_from_bundle(bundle, work / DOSSIER_NAME, work=work / "work", home=home,
                                  converter=converter(), filed_by=actor.name, on_stage=stage, times=times,
                                  uploads_cache=uploads_cache)
        _write_staged(built, work)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(work, final)
        fsync_dir(final.parent)
        return _read_staged(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _note_unused_number(bundle: CaseBundle, home: ArchiveHome, exc: Exception) -> None:
    """A build that failed after the case was given a number: the register says why the number is unused."""
    if bundle.case.notice.number:
        return
    reason = exc.message if isinstance(exc, YuetanError) else f"{type(exc).__name__}: {exc}"
    try:
        with home.numbers() as registry:
            registry.note_unused(bundle.case.case_id, f"{clock.today().isoformat()} 入库失败，文号尚未用于封存的案卷"
                                                      f"（{reason[:300]}）；该案件再次入库时仍用此号")
    except (YuetanError, OSError, SQLAlchemyError):
        pass                    # the failure itself is what gets reported


def _remove_abandoned_builds(staging: Path, content: str) -> None:
    """Partial builds of this case whose process is gone (killed mid-build) are only clutter."""
    for partial in staging.glob(f".{content}.*.partial"):
        pid = int(partial.name.split(".")[2])
        if pid != os.getpid() and not process_alive(pid):
            shutil.rmtree(partial, ignore_errors=True)


def _write_staged(built: BuiltDossier, folder: Path) -> None:
    originals = folder / "originals"
    originals.mkdir()
    files = {}
    for sha, path in built.component_files.items():
        path = Path(path)
        if not path.is_relative_to(folder):
            copy = originals / sha
            shutil.copyfile(path, copy)
            path = copy
        files[sha] = str(path.relative_to(folder))
    (folder / "manifest.json").write_bytes(canonical_json(built.manifest))
    record = {"case_id": built.case_id, "notice_number": built.notice_number, "archival_code": built.archival_code,
              "dossier_sha256": built.dossier_sha256, "manifest_sha256": built.manifest_sha256,
              "page_count": built.page_count, "archived_on": clock.today().isoformat(),
              "findings": [f.as_dict() for f in built.findings], "files": files,
              "documents": [[key, title, str(Path(pdf).relative_to(folder))] for key, title, pdf in built.documents]}
    (folder / NORMALISED_FILE).write_text(json.dumps(built.normalised, ensure_ascii=False), encoding="utf-8")
    for path in folder.rglob("*"):
        if path.is_file():
            fsync_file(path)
    write_atomically(folder / BUILT_FILE, json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8"))


def _read_staged(folder: Path) -> StagedBuild:
    record = json.loads((folder / BUILT_FILE).read_text(encoding="utf-8"))
    return StagedBuild(folder=folder, case_id=record["case_id"], notice_number=record["notice_number"],
                       dossier_sha256=record["dossier_sha256"], manifest_sha256=record["manifest_sha256"],
                       page_count=record["page_count"], archived_on=date.fromisoformat(record["archived_on"]),
                       findings=record["findings"], files=record["files"], documents=record["documents"],
                       archival_code=record.get("archival_code"))


# --- store, catalog, ledger ----------------------------------------------------------------------------------

def store_build(staged: StagedBuild, bundle: CaseBundle, content: str, *, home: ArchiveHome, actor: Actor,
                previous: CaseRecord | None) -> CaseRecord:
    """The storage step: every file into the blob store, then ONE catalog transaction: case, documents,
    findings, ledger. (Tests store cases without a build through this same step.)

    An object store locks each file until the case may be destroyed (a file another case already holds keeps
    the later of the two dates)."""
    blobs = home.blobs()
    keep = lock_until(bundle.case.closed_on, home.settings.retention_years)
    texts = staged.folder / TEXTS_FILE      # kept in staging first, so audit knows the blob as this build's
    if not texts.is_file():
        tmp = texts.with_name(TEXTS_FILE + ".tmp")
        tmp.write_bytes(canonical_json(_document_texts(staged)))
        fsync_file(tmp)
        os.replace(tmp, texts)
    text_sha = blobs.put_file(texts, retain_until=keep)
    to_put = {**{sha: staged.folder / rel for sha, rel in staged.files.items()},
              staged.dossier_sha256: staged.dossier}
    for sha, path in to_put.items():
        _put_checked(blobs, path, sha, keep)
    manifest_json_sha = blobs.put_file(staged.manifest_json, retain_until=keep)
    case_json_sha = hashlib.sha256(bundle.case_json).hexdigest()
    crash_point("after_blobs")
    case = bundle.case
    manifest = json.loads(staged.manifest_json.read_bytes())
    record = CaseRecord(
        case_id=case.case_id, content_sha256=content, supersedes=previous.version if previous else None,
        notice_number=staged.notice_number, title=f"{case.target.name}约谈案卷（{staged.notice_number}）",
        target_name=case.target.name, target_kind=case.target.kind.value, credit_code=case.target.credit_code,
        organizer=case.organizer.name, organizer_level=case.organizer.level.value,
        region_code=case.target.region_code or case.organizer.region_code,
        grounds=[f"{g.article}.{g.item}" for g in case.grounds], outcome=case.rectification.outcome.value,
        interview_on=case.interview_date, closed_on=case.closed_on, archived_at=clock.now(),
        dossier_sha256=staged.dossier_sha256, manifest_sha256=staged.manifest_sha256,
        page_count=staged.page_count, text_sha256=text_sha, case_json_sha256=case_json_sha,
        manifest_json_sha256=manifest_json_sha, archival_code=staged.archival_code)
    documents = [DocumentRow.of_component(seq, c, title=_document_title(c, case))
                 for seq, c in enumerate(manifest["components"], start=1)]
    findings = [FindingRow.of_finding(f) for f in staged.findings]
    with home.catalog() as catalog, catalog.transaction() as tx:
        current = catalog.current(case.case_id)
        if current is not None and current.content_sha256 == content:
            return current
        if (current.version if current else None) != (previous.version if previous else None):
            raise ArchiveConflict(f"案件 {case.case_id} 在本次入库期间已由另一进程入库了不同的版本，请核对后重试")
        catalog.lock_blob_deletions(tx, shared=True)
        for sha, path in {**to_put, manifest_json_sha: staged.manifest_json}.items():
            if not blobs.has(sha):         # a purge may have removed a shared blob since we put it
                _put_checked(blobs, path, sha, keep)
        if not blobs.has(text_sha):
            _put_checked(blobs, texts, text_sha, keep)
        version = catalog.record_case(tx, record, documents, findings)
        if catalog.is_held(case.case_id):   # a new version of a held case is held too, in the store as well
            for sha in {text_sha, manifest_json_sha, *to_put}:
                blobs.set_legal_hold(sha, True)
        clear_note(tx, case.case_id)
        ledger.append(tx, action="supersede" if previous else "ingest", actor=actor, case_id=case.case_id,
                      details={"version": version, "notice_number": staged.notice_number,
                               "archival_code": staged.archival_code,
                               "content_sha256": content, "dossier_sha256": staged.dossier_sha256,
                               "manifest_sha256": staged.manifest_sha256,
                               "supersedes": previous.version if previous else None})
    return replace(record, version=version)


def _put_checked(blobs, path: Path, sha: str, keep: datetime | None = None) -> None:
    stored = blobs.put_file(path, retain_until=keep)
    if stored != sha:
        raise YuetanError(f"暂存文件 {path} 在入库前被改动（摘要应为 {sha}，实为 {stored}）："
                          f"请删除 {path.parent} 后重新入库")


def _document_texts(staged: StagedBuild) -> dict:
    """Every document's text as a reader sees it (OCR layer included): what the index is built from.

    Read by one pdftotext over the sealed dossier, whose pages are the documents' pages in order (its page
    labels, bookmarks, embedded files and invisible signature add no page text), split by each document's page
    count: a pdftotext per document cost ~0.1 s each, most of the store stage. When the counts do not add up to
    the dossier's pages, each document is read on its own as before."""
    documents = [(key, title, staged.folder / rel) for key, title, rel in staged.documents]
    pages = page_texts(staged.dossier)
    counts = [page_count(pdf) for _, _, pdf in documents]
    if pages is None or len(pages) != sum(counts):
        return {"documents": [{"key": key, "title": title, "text": pdf_text(pdf)} for key, title, pdf in documents]}
    texts, first = [], 0
    for (key, title, _), count in zip(documents, counts):
        texts.append({"key": key, "title": title, "text": "".join(pages[first:first + count])})
        first += count
    return {"documents": texts}


def _document_title(component: dict, case) -> str:
    titles = {"case": "案件数据", "notice": "约谈通知书", "record": "约谈记录", "cover": "案卷封面",
              "file_list": "卷内文件目录", "remarks": "备考表", "remarks_continued": "备考表（续页）"}
    key = component.get("document", "")
    if key.startswith("attachments["):
        return case.attachments[int(key[len("attachments["):-1])].title
    return titles.get(key, "")


def index_stored(record: CaseRecord, home: ArchiveHome) -> None:
    """Put a stored version in the search index and note that it is there."""
    with home.catalog() as catalog, file_lock(home.index_lock, shared=True):
        doc = index_document(record, catalog, home.blobs())
        index_case(home.index_dir, doc, engine=configured_engine(home))
        catalog.mark_indexed(None, record.case_id, record.version)


def _already_stored(current: CaseRecord, label: str, home: ArchiveHome) -> IngestResult:
    """The same case again: nothing to store; finish the indexing an interrupted run may have left."""
    status = Status.unchanged
    if current.indexed_at is None:
        index_stored(current, home)
        status = Status.completed
    shutil.rmtree(_staging_dir(home, current.content_sha256), ignore_errors=True)
    with home.catalog() as catalog:
        findings = [asdict(f) for f in catalog.findings(current.case_id, current.version)]
    return IngestResult(label, status, case_id=current.case_id, version=current.version,
                        notice_number=current.notice_number, archival_code=current.archival_code,
                        dossier_sha256=current.dossier_sha256,
                        manifest_sha256=current.manifest_sha256, findings=findings, message=STATUS_LABELS[status])


# --- small helpers -------------------------------------------------------------------------------------------


