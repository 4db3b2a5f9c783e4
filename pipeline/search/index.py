"""The archive's full-text index: one document per case (its current version), in the engine the archive chose.

`[index] engine = "whoosh"` (the default) or `"tantivy"` in yuetan.toml picks the engine a rebuild writes; the
index folder records which engine built it (`yuetan-index.json`), so searches and updates use what is there and
`yuetan reindex` switches. The index is derived data: `rebuild` makes it again from the store and swaps it in
whole, so a failed rebuild leaves the old index serving. What a query finds and in which order is decided in
`pipeline.search.query`, the same for both engines.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import functools
import json
import os
import shutil
import threading
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from archive_store.durable import fsync_dir
from archive_store.errors import ConfigurationError, IndexDamaged, InvalidArgument
from pipeline.search.document import (  # noqa: F401  (the index's public names)
    GROUND_TEXTS,
    INDEX_FORMAT,
    IndexDocument,
    document_for_case,
    indexed_fields,
)
from pipeline.search.engine import SearchIndex
from pipeline.search.query import Plan, normalise_notice_number, plan  # noqa: F401

SNIPPET_RADIUS = 30
MAX_SNIPPETS = 3
OPEN, CLOSE = "【", "】"
MARKER = "yuetan-index.json"
ENGINES = ("whoosh", "tantivy")
# Each engine's own layout, bumped when only that engine's files change (INDEX_FORMAT: the terms, for both).
# Tantivy 2: the interview day's bits as terms, so its top-k ranks ties by date (pipeline.search.tantivy_engine).
ENGINE_FORMATS = {"whoosh": 1, "tantivy": 2}
DEFAULT_ENGINE = "whoosh"


@dataclass(frozen=True)
class Hit:
    case_id: str
    notice_number: str
    target: str
    interview_on: date
    outcome: str
    score: float
    snippets: list[str]
    target_kind: str = ""
    grounds: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        d = asdict(self)
        d["interview_on"] = self.interview_on.isoformat()
        d["grounds"] = list(self.grounds)
        return d


@dataclass(frozen=True)
class SearchResults:
    """A page of ranked hits, the exact total, and the facet counts of every match (query and filters):
    {"kind": {"institution": 12, ...}, "ground": {"6.2": 5, ...}, "region": ..., "year": ..., "outcome": ...}."""

    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    offset: int = 0

    def as_dict(self) -> dict:
        return {"total": self.total, "hits": [h.as_dict() for h in self.hits], "facets": self.facets}


# --- engines and opening ------------------------------------------------------------------------------------


def engine_class(name: str) -> type[SearchIndex]:
    if name == "whoosh":
        from pipeline.search.whoosh_engine import WhooshIndex
        return WhooshIndex
    if name == "tantivy":
        from pipeline.search.tantivy_engine import TantivyIndex
        return TantivyIndex
    raise ConfigurationError(f"检索引擎“{name}”无效：yuetan.toml 中 [index] engine 应为 whoosh 或 tantivy")


def configured_engine(home) -> str:
    """The engine the archive's settings ask for (`[index] engine`), whoosh unless set."""
    section = home.settings.raw.get("index", {})
    if not isinstance(section, dict):
        raise ConfigurationError(f"设置文件 {home.path / 'yuetan.toml'} 中 index 应为 [index] 节，实为 {section!r}")
    name = section.get("engine", DEFAULT_ENGINE)
    if name not in ENGINES:
        raise ConfigurationError(f"设置文件 {home.path / 'yuetan.toml'} 中 index.engine 应为 whoosh 或 tantivy，"
                                 f"实为 {name!r}")
    return name


def index_engine(index_dir: Path) -> str | None:
    """The engine that built the index in `index_dir`, or None when there is no index."""
    info = _marker(Path(index_dir))
    return info["engine"] if info else None


def _marker(index_dir: Path) -> dict | None:
    path = index_dir / MARKER
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if index_dir.is_dir() and any(index_dir.iterdir()):
            raise ConfigurationError(f"全文索引 {index_dir} 由旧版本建立（字段与本版本不符），"
                                     "请运行 yuetan reindex 重建索引") from None
        return None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise IndexDamaged(f"全文索引 {index_dir} 的说明文件 {MARKER} 无法读取（{str(exc)[:120]}），"
                           "请运行 yuetan reindex 重建索引") from None
    if not isinstance(info, dict) or info.get("engine") not in ENGINES:
        raise IndexDamaged(f"全文索引 {index_dir} 的说明文件 {MARKER} 内容无效，请运行 yuetan reindex 重建索引")
    found, wanted = (info.get("format"), info.get("engine_format", 1)), (INDEX_FORMAT, ENGINE_FORMATS[info["engine"]])
    if found != wanted:
        raise ConfigurationError(f"全文索引 {index_dir} 由其他版本建立（格式 {'.'.join(map(str, found))}，"
                                 f"本版本为 {'.'.join(map(str, wanted))}），请运行 yuetan reindex 重建索引")
    return info


def _write_marker(folder: Path, engine: str) -> None:
    tmp = folder / f".{MARKER}.tmp"
    tmp.write_text(json.dumps({"engine": engine, "format": INDEX_FORMAT,
                                "engine_format": ENGINE_FORMATS[engine]}), encoding="utf-8")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, folder / MARKER)


_open: dict[str, tuple[tuple, SearchIndex]] = {}
_open_guard = threading.Lock()


def open_index(index_dir: Path) -> SearchIndex | None:
    """The index in `index_dir`, kept open (warm) for the process; None when there is none yet.

    The one place an index is opened: an index of another version or files an engine cannot read give a
    clear message asking for `yuetan reindex`. A rebuild swapped in meanwhile is noticed (folder identity).
    """
    index_dir = Path(index_dir)
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexDamaged(f"全文索引的位置 {index_dir} 被一个文件占据：请运行 yuetan reindex 重建索引")
    key = os.path.realpath(index_dir)
    try:
        st = os.stat(index_dir / MARKER)
        ident = (os.stat(index_dir).st_ino, st.st_ino, st.st_mtime_ns)
    except FileNotFoundError:
        ident = None
    with _open_guard:
        cached = _open.get(key)
        if cached and ident is not None and cached[0] == ident:
            cached[1].refresh()
            return cached[1]
        if cached:
            cached[1].close()
            del _open[key]
        info = _marker(index_dir)
        if info is None:
            return None
        try:
            index = engine_class(info["engine"]).open(index_dir)
        except Exception as exc:        # whatever the engine's library raises on files it cannot read
            raise _damaged(index_dir, info["engine"], exc) from None
        _open[key] = (ident, index)
        return index


def _damaged(index_dir: Path, engine: str, exc: BaseException) -> IndexDamaged:
    return IndexDamaged(f"全文索引 {index_dir} 已损坏或无法读取（{engine}：{type(exc).__name__}: {str(exc)[:120]}）："
                        "请运行 yuetan reindex 重建索引")


@contextmanager
def _reading(index_dir: Path, index: SearchIndex) -> Iterator[SearchIndex]:
    """An engine reads its files lazily: whatever it raises on damaged ones while answering is the index's
    damage (rebuild it), never a traceback. The archive's own errors pass through."""
    from archive_store.errors import YuetanError

    try:
        yield index
    except YuetanError:
        raise
    except Exception as exc:  # noqa: BLE001 - the engine's library parses binary files that may be damaged anywhere
        _forget(index_dir)
        raise _damaged(index_dir, index.name, exc) from None


def _forget(index_dir: Path) -> None:
    with _open_guard:
        cached = _open.pop(os.path.realpath(index_dir), None)
    if cached:
        cached[1].close()


# --- writing ------------------------------------------------------------------------------------------------

_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def _thread_lock(index_dir: Path) -> threading.Lock:
    key = os.path.realpath(index_dir)
    with _process_locks_guard:
        return _process_locks.setdefault(key, threading.Lock())


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _writable(index_dir: Path, engine: str | None) -> SearchIndex:
    """The index to write to, created empty on first use in the given engine (under a lock: ingest may run in
    several processes)."""
    index = open_index(index_dir)
    if index is not None:
        return index
    with _file_lock(index_dir.with_name(f".{index_dir.name}.create.lock")):
        index = open_index(index_dir)
        if index is not None:
            return index
        name = engine or DEFAULT_ENGINE
        # made aside and renamed into place: another process never sees an index without its marker
        fresh = index_dir.with_name(f".{index_dir.name}.creating")
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir(parents=True)
        engine_class(name).create(fresh).close()
        _write_marker(fresh, name)
        _fsync_tree(fresh)
        if index_dir.exists():
            index_dir.rmdir()           # an empty folder (open_index found nothing in it)
        os.rename(fresh, index_dir)
        fsync_dir(index_dir.parent)
    return open_index(index_dir)


def index_case(index_dir: Path, doc: IndexDocument, *, engine: str | None = None) -> None:
    """Add the case, replacing whatever version of it the index held. `engine` is used only to create the index."""
    index_cases(index_dir, [doc], engine=engine)


def index_cases(index_dir: Path, docs: Iterable[IndexDocument], *, engine: str | None = None) -> int:
    """Add or replace many cases with one writer and one commit; returns how many."""
    index_dir = Path(index_dir)
    with _thread_lock(index_dir):
        index = _writable(index_dir, engine)
        with _reading(index_dir, index):
            return index.add(indexed_fields(d) for d in docs)


def remove_case(index_dir: Path, case_id: str) -> int:
    """Drop the case from the index (purge); returns the number of documents removed."""
    index_dir = Path(index_dir)
    with _thread_lock(index_dir):
        index = open_index(index_dir)
        if index is None:
            return 0
        with _reading(index_dir, index):
            return index.remove(case_id)


def indexed_case_ids(index_dir: Path) -> dict[str, str]:
    """{case_id: manifest_sha256} of every indexed case, for the audit and for catching up."""
    index = open_index(Path(index_dir))
    if index is None:
        return {}
    with _reading(Path(index_dir), index):
        return index.indexed()


def _tokenised(docs: Iterable[IndexDocument], jobs: int):
    """The documents' terms, made in `jobs` processes (jieba is the cost of a rebuild)."""
    if jobs <= 1:
        yield from (indexed_fields(d) for d in docs)
        return
    import multiprocessing

    from pipeline.search.analysis import segmenter
    segmenter()                         # load the dictionary once, before forking
    def batches():
        # read in this thread: the documents may come from a catalog connection bound to it
        batch = []
        for d in docs:
            batch.append(d)
            if len(batch) == 64:
                yield batch
                batch = []
        if batch:
            yield batch

    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        pending = None
        for batch in batches():
            submitted = pool.map_async(indexed_fields, batch, chunksize=8)
            if pending is not None:
                yield from pending.get()      # written while the next batch is tokenised
            pending = submitted
        if pending is not None:
            yield from pending.get()


def rebuild(index_dir: Path, docs: Iterable[IndexDocument], *, engine: str | None = None,
            jobs: int | None = None) -> int:
    """Build a whole new index (in `engine`, else the engine of the index there, else whoosh) beside the old
    one, then swap the two folders in one step.

    Until the swap the old index serves searches; if building fails the new folder is removed and the old
    index is untouched. Ingest must not write while a rebuild runs (its case would be in the old index only).
    """
    index_dir = Path(index_dir)
    if engine is None:
        try:
            engine = index_engine(index_dir) or DEFAULT_ENGINE
        except (ConfigurationError, IndexDamaged):
            engine = DEFAULT_ENGINE
    cls = engine_class(engine)
    jobs = jobs if jobs is not None else min(2, os.cpu_count() or 1)
    new = index_dir.with_name(index_dir.name + ".new")
    if new.exists():
        shutil.rmtree(new)          # a failed rebuild's leftover; never the live index
    new.mkdir(parents=True)
    try:
        n = cls.build_documents(new, docs, jobs, _tokenised)
        _write_marker(new, engine)
        _fsync_tree(new)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    with _thread_lock(index_dir):
        _forget(index_dir)
        if index_dir.exists() or index_dir.is_symlink():
            _exchange(new, index_dir)
            if new.is_dir() and not new.is_symlink():   # now holds the old index (or whatever occupied its place)
                shutil.rmtree(new)
            else:
                new.unlink()
        else:
            os.rename(new, index_dir)
        fsync_dir(index_dir.parent)
    return n


def _exchange(a: Path, b: Path) -> None:
    """Swap two folders atomically (Linux renameat2 RENAME_EXCHANGE)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    at_fdcwd, rename_exchange = -100, 2
    if libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"无法原子交换索引文件夹 {a} 与 {b}：{os.strerror(err)}")


def _fsync_tree(folder: Path) -> None:
    for p in folder.iterdir():
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
    fsync_dir(folder)


# --- searching ----------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _plan(query: str, kind, ground, organizer, region, outcome, date_from, date_to) -> Plan:
    """The plan of a search, kept: a server is asked the same query again (the next page, another filter on
    the same words), and planning it (segmenting, synonyms, 2-grams) costs half a millisecond. Plans are only
    read once made."""
    return plan(query, kind=kind, ground=ground, organizer=organizer, region=region, outcome=outcome,
                date_from=date_from, date_to=date_to)


def search(index_dir: Path, query: str = "", *, kind: str | None = None, ground: str | None = None,
           organizer: str | None = None, region: str | None = None, outcome: str | None = None,
           date_from: date | str | None = None, date_to: date | str | None = None, limit: int = 20,
           offset: int = 0, highlight: str = "brackets", facets: bool = True) -> SearchResults:
    """Ranked cases for `query` (terms AND-ed; "quoted words" exactly as typed) within the filters, the page
    [offset, offset + limit), the exact total and the facet counts of all matches.

    An empty query lists the cases the filters select, latest interview first.
    """
    if highlight not in ("brackets", "none"):
        raise InvalidArgument(f"高亮方式“{highlight}”无效：应为 brackets 或 none")
    if limit < 1:
        raise InvalidArgument(f"结果条数 {limit} 无效：应至少为 1")
    if offset < 0:
        raise InvalidArgument(f"起始位置 {offset} 无效：应不小于 0")
    p = _plan(query, kind, ground, organizer, region, outcome, date_from, date_to)
    index = open_index(Path(index_dir))
    if index is None:
        return SearchResults(0, [], {}, offset)
    with _reading(Path(index_dir), index):
        raw = index.search(p, limit=limit, offset=offset, facets=facets)
    hits = []
    for r in raw.hits:
        snippets = []
        if p.marks:
            text = zlib.decompress(r.snippet_source).decode("utf-8")
            snippets = make_snippets(text, p.marks, mark=highlight == "brackets")
        h = r.hit
        hits.append(Hit(case_id=h["case_id"], notice_number=h["notice_number"], target=h["target"],
                        interview_on=date.fromisoformat(h["interview_on"]), outcome=h["outcome"],
                        score=float(r.score) if p.ranked else 0.0, snippets=snippets,
                        target_kind=h["target_kind"], grounds=tuple(h["grounds"])))
    return SearchResults(raw.total, hits, raw.facets, offset)


def make_snippets(text: str, marks: Iterable[tuple[list[str], list[str]]], *, mark: bool = True,
                  limit: int = MAX_SNIPPETS) -> list[str]:
    """Up to `limit` passages of `text` around the matches, each match in 【】 when `mark`.

    `marks` holds, per query term, its whole forms and its words; the words are marked only when no whole
    form occurs in the text.
    """
    lowered = text.lower()
    wanted: set[str] = set()
    for whole, parts in marks:
        present = [w for w in whole if w and w in lowered]
        wanted.update(present or [p for p in parts if p])
    spans: list[tuple[int, int]] = []
    for m in sorted(wanted, key=len, reverse=True):
        start = lowered.find(m)
        while start >= 0:
            end = start + len(m)
            if not any(start < e and s < end for s, e in spans):
                spans.append((start, end))
            start = lowered.find(m, end)
    if not spans:
        return []
    spans.sort()
    windows: list[list[tuple[int, int]]] = []
    for s, e in spans:
        if windows and s - windows[-1][-1][1] <= SNIPPET_RADIUS:
            windows[-1].append((s, e))
        else:
            windows.append([(s, e)])
    # prefer the passages that hold the most distinct matched text
    ranked = sorted(windows, key=lambda w: (-len({lowered[s:e] for s, e in w}), w[0][0]))[:limit]
    out = []
    for w in sorted(ranked, key=lambda w: w[0][0]):
        lo, hi = max(0, w[0][0] - SNIPPET_RADIUS), min(len(text), w[-1][1] + SNIPPET_RADIUS)
        pieces, cursor = [], lo
        for s, e in w:
            pieces.append(text[cursor:s])
            pieces.append(f"{OPEN}{text[s:e]}{CLOSE}" if mark else text[s:e])
            cursor = e
        pieces.append(text[cursor:hi])
        snippet = ("…" if lo > 0 else "") + " ".join("".join(pieces).split()) + ("…" if hi < len(text) else "")
        if snippet not in out:
            out.append(snippet)
    return out


def index_exists(index_dir: Path) -> bool:
    """Whether an index is there; a damaged one counts as there (opening it says what is wrong)."""
    index_dir = Path(index_dir)
    if index_dir.exists() and not index_dir.is_dir():
        return True
    try:
        return _marker(index_dir) is not None
    except (ConfigurationError, IndexDamaged):
        return True
