"""The Whoosh engine (the default): terms on disk in Whoosh segments, plans answered by set algebra on postings.

Whoosh's own searcher scores every match through a tree of Python matchers and checks phrase positions for
every candidate (the profile's top lines were span matching). Plans here need no scoring beyond fixed points
per clause, so a plan is answered with sets of document numbers read straight from the postings; positions are
read only for the few candidates the word fields could not answer, or for quoted text. The columns (date, case
id, facet values) are read once per searcher, which stays warm between searches in one process.
"""
from __future__ import annotations

import bisect
import contextlib
import heapq
import json
import os
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.analysis import Token, Tokenizer
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.formats import Frequency, Positions
from whoosh.index import LockError
from whoosh.system import pack_uint
from whoosh.writing import SegmentWriter

from archive_store.errors import ArchiveConflict
from pipeline.search.analysis import GAP
from pipeline.search.document import (
    KEYWORD_FIELDS,
    NGRAM_FIELDS,
    WORD_FIELDS,
    IndexedFields,
)
from pipeline.search.engine import FACETS, RawHit, RawResults, SearchIndex, rank_key
from pipeline.search.query import And, DayRange, Node, Or, Phrase, Plan, Term

WRITE_TIMEOUT_S = 120.0
CACHE_IDS = 1_500_000
BULK_SEGMENT, BULK_LIMIT_MB = 800, 512          # decoded postings kept by a warm searcher, counted in document numbers
COLUMNS = ("case_id_col", "day", "target_kind", "grounds_col", "region", "year", "outcome")
COLUMN_FILE = ".yuetan_columns.json"            # beside each segment: MAIN_<id>.yuetan_columns.json


class PreTokenized(Tokenizer):
    """Reads "pos:term pos:term …" (made by `encode`): the terms and positions made once in Python."""

    def __eq__(self, other):
        return other is not None and other.__class__ is self.__class__

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:            # a query term is already a term
            t.original = t.text = value
            t.boost, t.pos, t.stopped = 1.0, start_pos, False
            yield t
            return
        for item in value.split(" "):
            if not item:
                continue
            pos, _, text = item.partition(":")
            t.original = t.text = text
            t.boost, t.stopped = 1.0, False
            if positions:
                t.pos = int(pos)
            if chars:
                t.startchar = t.endchar = 0
            yield t


class PrePositions(Positions):
    """Positions of "pos:term pos:term …" read straight from the string: the same postings as `Positions` with
    the `PreTokenized` analyzer, without a Token object per term (a third of the time of writing a case)."""

    def word_values(self, value, analyzer, **kwargs):
        fb = self.field_boost
        poses: dict[str, list[int]] = {}
        for item in value.split(" "):
            if item:
                pos, _, text = item.partition(":")
                found = poses.get(text)
                if found is None:
                    poses[text] = [int(pos)]
                else:
                    found.append(int(pos))
        encode = self.encode
        for w, poslist in poses.items():
            yield (w, len(poslist), len(poslist) * fb, encode(poslist))


class PreFrequency(Frequency):
    """Space-separated keywords counted straight from the string (what KEYWORD's analyzer makes of them)."""

    def word_values(self, value, analyzer, **kwargs):
        fb = self.field_boost
        freqs: dict[str, int] = {}
        for w in value.split():
            freqs[w] = freqs.get(w, 0) + 1
        return ((w, f, f * fb, pack_uint(f)) for w, f in freqs.items())


class _Lengths:
    """The per-document reader Whoosh asks for every posting's field length while writing a segment: it looks
    for the length column on disk (a stat) at every posting of a field that has none (every keyword field);
    here once per field."""

    def __init__(self, reader):
        self._reader = reader
        self._has: dict[str, bool] = {}

    def doc_field_length(self, docnum, fieldname, default=0):
        has = self._has.get(fieldname)
        if has is None:
            has = self._has[fieldname] = self._reader._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN) is not None
        return self._reader.doc_field_length(docnum, fieldname, default) if has else default

    def __getattr__(self, name):
        return getattr(self._reader, name)


class FastWriter(SegmentWriter):
    """Whoosh's segment writer with the field lengths looked up without a stat per posting."""

    def per_document_reader(self):
        return _Lengths(super().per_document_reader())


def encode(tokens) -> str:
    return " ".join(f"{p}:{t}" for t, p in tokens)


def encode_dense(grams: list[str]) -> str:
    return " ".join(f"{p}:{g}" for p, g in enumerate(grams) if g != GAP)


def schema() -> Schema:
    pre = PreTokenized()
    fields = {name: TEXT(analyzer=pre, phrase=True) for name in (*WORD_FIELDS, *NGRAM_FIELDS)}
    fields.update({name: KEYWORD(lowercase=False, commas=False) for name in KEYWORD_FIELDS})
    for f in fields.values():
        f.format = (PrePositions if isinstance(f.format, Positions) else PreFrequency)(field_boost=1.0)
        f.scorable = False          # no length columns: plans score by fixed points, never by BM25
    fields.update(
        case_id=ID(unique=True), case_id_col=ID(sortable=True), day=NUMERIC(int, bits=32, sortable=True),
        target_kind=ID(sortable=True), region=ID(sortable=True), year=ID(sortable=True), outcome=ID(sortable=True),
        grounds_col=ID(sortable=True), manifest_sha256=STORED, hit=STORED, snippet_source=STORED)
    return Schema(**fields)


def _document(f: IndexedFields) -> dict:
    d = {name: encode(tokens) for name, tokens in f.words.items()}
    d.update({name: encode_dense(grams) for name, grams in f.ngrams.items()})
    d.update({name: " ".join(terms) for name, terms in f.keywords.items()})
    d.update(case_id=f.case_id, case_id_col=f.case_id, day=f.day, target_kind=f.keywords["target_kind"][0],
             region=f.keywords["region"][0], year=f.keywords["year"][0], outcome=f.keywords["outcome"][0],
             grounds_col=" ".join(f.keywords["grounds"]), manifest_sha256=f.manifest_sha256, hit=f.hit,
             snippet_source=f.snippet_source)
    return d


class WhooshIndex(SearchIndex):
    name = "whoosh"

    def __init__(self, folder: Path, ix):
        super().__init__(folder)
        self.ix = ix
        self._searcher = None
        self._columns: dict | None = None
        self._cache: OrderedDict[tuple[str, str], frozenset[int]] = OrderedDict()
        self._cached_ids = 0
        self._df: dict[tuple[str, str], int] = {}        # document frequencies, for this searcher
        self._lock = threading.Lock()

    @classmethod
    def create(cls, folder: Path) -> "WhooshIndex":
        return cls(folder, whoosh_index.create_in(str(folder), schema()))

    @classmethod
    def open(cls, folder: Path) -> "WhooshIndex":
        ix = whoosh_index.open_dir(str(folder))
        if set(ix.schema.names()) != set(schema().names()):
            ix.close()
            raise ValueError("fields differ")
        return cls(folder, ix)

    # --- writing --------------------------------------------------------------------------------------------

    def add(self, docs: Iterable[IndexedFields], *, replace: bool = True, bulk: bool = False) -> int:
        if bulk:
            return self._bulk(docs)
        try:
            writer = FastWriter(self.ix, timeout=WRITE_TIMEOUT_S, delay=0.2, compound=False)
        except LockError as exc:
            raise ArchiveConflict(f"全文索引 {self.folder} 正被另一进程写入，等待 {WRITE_TIMEOUT_S:.0f} 秒仍未释放，"
                                  "请稍后重试") from exc
        n = 0
        try:
            for f in docs:
                (writer.update_document if replace else writer.add_document)(**_document(f))
                n += 1
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        self._drop_searcher()
        keep_column_files(self.folder)
        return n

    def _bulk(self, docs: Iterable[IndexedFields]) -> int:
        """A new index: one segment per BULK_SEGMENT cases, never merged. A single writer's postings outgrow
        memory after a few hundred cases and are then sorted in runs on disk and merged in Python, which made
        a 10,000-case rebuild 2.5 times slower (measured: 202 against 82 ms a case)."""
        n = 0
        writer = None
        try:
            for f in docs:
                if writer is None:
                    writer = FastWriter(self.ix, limitmb=BULK_LIMIT_MB, compound=False)
                writer.add_document(**_document(f))
                n += 1
                if n % BULK_SEGMENT == 0:
                    writer.commit(merge=False)
                    writer = None
        except BaseException:
            if writer is not None:
                writer.cancel()
            raise
        if writer is not None:
            writer.commit(merge=False)
        self._drop_searcher()
        keep_column_files(self.folder)
        return n

    @classmethod
    def build_documents(cls, folder: Path, docs: Iterable, jobs: int, tokenise) -> int:
        """A new index written by `jobs` processes, each tokenising and writing whole segments of its own
        (Whoosh's own multi-process writer tokenises in the parent and pickles every field through a temporary
        file; here a worker gets the documents and does both, so both cores do the costly part). The parent
        reads the documents (they may come from a catalog bound to its thread) and writes the table of
        segments once at the end, under the index's lock."""
        if jobs <= 1:
            return super().build_documents(folder, docs, jobs, tokenise)
        import multiprocessing

        from pipeline.search.analysis import segmenter
        whoosh_index.create_in(str(folder), schema()).close()
        segmenter()                         # the dictionary loaded once, before forking
        segments: list = []
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            pending: list = []
            batch: list = []

            def submit(batch):
                pending.append(pool.apply_async(_write_segment, (str(folder), batch)))
                while len(pending) > jobs:            # at most one batch waiting per worker
                    segments.append(pending.pop(0).get())

            for d in docs:
                batch.append(d)
                if len(batch) == BULK_SEGMENT:
                    submit(batch)
                    batch = []
            if batch:
                submit(batch)
            segments.extend(p.get() for p in pending)
        ix = whoosh_index.open_dir(str(folder))
        try:
            writer = ix.writer()
            try:
                writer._commit_toc(list(writer.segments) + [seg for seg, _ in segments])
                writer._close_segment()
            finally:
                writer._finish()
        finally:
            ix.close()
        keep_column_files(folder)
        return sum(count for _, count in segments)

    def remove(self, case_id: str) -> int:
        try:
            writer = FastWriter(self.ix, timeout=WRITE_TIMEOUT_S, delay=0.2, compound=False)
        except LockError as exc:
            raise ArchiveConflict(f"全文索引 {self.folder} 正被另一进程写入，请稍后重试") from exc
        try:
            n = writer.delete_by_term("case_id", case_id)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        self._drop_searcher()
        keep_column_files(self.folder)
        return n

    # --- reading --------------------------------------------------------------------------------------------

    def _drop_searcher(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
        self._searcher, self._columns = None, None
        self._cache.clear()
        self._cached_ids = 0
        self._df.clear()

    def refresh(self) -> None:
        if self._searcher is not None and not self._searcher.up_to_date():
            self._drop_searcher()

    def searcher(self):
        if self._searcher is None:
            self._searcher = self.ix.searcher()
            self._columns = None
        return self._searcher

    def columns(self) -> dict:
        """Per document number: the live set and the column values (read once per searcher)."""
        if self._columns is None:
            s = self.searcher()
            cols: dict = {name: [] for name in COLUMNS}
            live: set[int] = set()
            for sub, offset in s.leaf_searchers():
                r = sub.reader()
                for name, values in segment_columns(self.folder, r).items():
                    cols[name].extend(values)
                if r.has_deletions():
                    live.update(offset + d for d in r.all_doc_ids())
                else:               # every document number of the segment, without asking each one
                    live.update(range(offset, offset + r.doc_count_all()))
            cols["live"] = live
            cols["all_live"] = len(live) == s.doc_count_all()
            self._columns = cols
        return self._columns

    def remember(self, key: tuple[str, str], ids: frozenset[int]) -> None:
        """Keep a decoded posting list for the next searches (common terms: 检测, 报告), least recent out."""
        self._cache[key] = ids
        self._cached_ids += len(ids)
        while self._cached_ids > CACHE_IDS and self._cache:
            _, old = self._cache.popitem(last=False)
            self._cached_ids -= len(old)

    def indexed(self) -> dict[str, str]:
        with self._lock:
            s = self.searcher()
            return {json.loads(f["hit"])["case_id"]: f["manifest_sha256"] for f in s.all_stored_fields()}

    def close(self) -> None:
        self._drop_searcher()
        self.ix.close()

    def search(self, plan: Plan, *, limit: int, offset: int = 0, facets: bool = True) -> RawResults:
        with self._lock:
            s = self.searcher()
            cols = self.columns()
            ev = _Evaluator(s, cols, self)
            matched = ev.eval(plan.match, None) if plan.match is not None else set(cols["live"])
            day, cid = cols["day"], cols["case_id_col"]
            score: Counter = Counter()
            if plan.ranked and matched:
                for node, points in plan.scores:
                    for d in ev.eval(node, matched):
                        score[d] += points
            top = heapq.nsmallest(offset + limit, matched, key=lambda d: rank_key(score[d], day[d], cid[d]))
            hits = []
            for d in top[offset:]:
                stored = s.stored_fields(d)
                hits.append(RawHit(json.loads(stored["hit"]), float(score[d]), stored["snippet_source"]))
            counts = {}
            if facets:
                for name, column in FACETS.items():
                    values = cols["grounds_col" if column == "grounds" else column]
                    c: Counter = Counter()
                    if column == "grounds":
                        for d in matched:
                            c.update(values[d].split())
                    else:
                        c.update(values[d] for d in matched)
                    counts[name] = dict(c.most_common())
            return RawResults(len(matched), hits, counts)


def segment_columns(folder: Path, reader, *, keep: bool = False) -> dict[str, list]:
    """One segment's column values in document order. A segment never changes once written (deletions are kept
    apart), so its values are decoded from Whoosh's columns once, when the segment is committed (`keep`: value
    by value in Python, a fifth of a second for 10,000 cases that every `yuetan search` paid), and kept beside it
    in one JSON file that a search loads at once. The file is named like the segment's own, so Whoosh deletes it
    with the segment. A search never writes: without a file (an index from before) it decodes the columns."""
    segment = reader.segment()
    path = Path(folder) / segment.make_filename(COLUMN_FILE)
    try:
        kept = json.loads(path.read_bytes())
        if kept["documents"] == segment.doc_count_all() and set(kept["columns"]) == set(COLUMNS):
            return kept["columns"]
    except (OSError, ValueError, KeyError, TypeError):
        pass                                    # none (or not this segment's): decode
    cols = {name: list(reader.column_reader(name)) for name in COLUMNS}
    if keep:
        temp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            temp.write_text(json.dumps({"documents": segment.doc_count_all(), "columns": cols}, ensure_ascii=False),
                            encoding="utf-8")
            os.replace(temp, path)              # derived data: a lost file is only decoded again
        except OSError:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
    return cols


def keep_column_files(folder: Path) -> None:
    """After a commit: the column file of each segment that has none yet."""
    ix = whoosh_index.open_dir(str(folder))
    try:
        with ix.reader() as reader:
            for sub, _ in reader.leaf_readers():
                segment_columns(folder, sub, keep=True)
    finally:
        ix.close()


def _write_segment(folder: str, docs: list) -> tuple:
    """In a worker: one segment of `docs` (tokenised here), written but not yet listed in the index."""
    from pipeline.search.document import indexed_fields
    ix = whoosh_index.open_dir(folder)
    writer = FastWriter(ix, _lk=False, limitmb=BULK_LIMIT_MB, compound=False)
    try:
        for d in docs:
            writer.add_document(**_document(indexed_fields(d)))
        segment = writer._finalize_segment()
    except BaseException:
        writer.cancel()
        raise
    finally:
        ix.close()
    return segment, len(docs)


class _Evaluator:
    """Set algebra over one searcher's postings (document numbers across its segments)."""

    def __init__(self, searcher, cols, owner: WhooshIndex | None = None):
        self.s = searcher
        self.leaves = searcher.leaf_searchers()
        self.cols = cols
        self.owner = owner
        self._terms: dict[tuple[str, str], frozenset[int] | set[int]] = {}
        self._df: dict[tuple[str, str], int] = {}

    def df(self, field: str, text: str) -> int:
        """How many documents hold the term (from the term info: nothing decoded)."""
        key = (field, text)
        if key in self._terms:
            return len(self._terms[key])
        dfs = self.owner._df if self.owner is not None else self._df
        n = dfs.get(key)
        if n is None:   # a hash lookup per segment: asked again and again while ordering the clauses
            n = dfs[key] = sum(sub.reader().doc_frequency(field, text) for sub, _ in self.leaves)
        return n

    def term(self, field: str, text: str) -> set[int]:
        """Every live document holding the term, decoded block by block (Whoosh's all_ids steps id by id)."""
        key = (field, text)
        found = self._terms.get(key)
        if found is None and self.owner is not None:
            found = self.owner._cache.get(key)
            if found is not None:
                self.owner._cache.move_to_end(key)
                self._terms[key] = found
        if found is None:
            found = set()
            for sub, offset in self.leaves:
                r = sub.reader()
                if key in r:
                    ids = _all_ids(r.postings(field, text))
                    found.update(ids if not offset else (offset + d for d in ids))
            if not self.cols["all_live"]:
                found &= self.cols["live"]
            found = frozenset(found)
            self._terms[key] = found
            if self.owner is not None and len(found) > 256:
                self.owner.remember(key, found)
        return found

    def term_in(self, field: str, text: str, cand: set[int]) -> set[int]:
        """The candidates holding the term: few candidates are looked up by skipping through the postings
        (block headers only) instead of decoding every block."""
        key = (field, text)
        if key in self._terms or len(cand) * 16 >= self.df(field, text):
            return self.term(field, text) & cand
        out: set[int] = set()
        ordered = sorted(cand)
        for sub, offset in self.leaves:
            end = offset + sub.doc_count_all()
            mine = ordered[bisect.bisect_left(ordered, offset):bisect.bisect_left(ordered, end)]
            if not mine:
                continue            # no candidate in this segment: its postings are not opened
            r = sub.reader()
            if key not in r:
                continue
            out.update(offset + d for d in _ids_among(r.postings(field, text), [d - offset for d in mine]))
        return out

    def phrase(self, node: Phrase, candidates: set[int]) -> set[int]:
        """The candidates where the terms stand at consecutive positions: the rarest term's positions first,
        each further term narrowing the possible starts (stops at the first term that rules the case out)."""
        out: set[int] = set()
        if not candidates:
            return out
        order = sorted(range(len(node.terms)), key=lambda i: self.df(node.field, node.terms[i]))
        ordered = sorted(candidates)
        for sub, offset in self.leaves:
            end = offset + sub.doc_count_all()
            mine = [d - offset for d in ordered if offset <= d < end]
            r = sub.reader()
            if not mine or any((node.field, t) not in r for t in node.terms):
                continue
            matchers = [(i, _unwrap(r.postings(node.field, node.terms[i]))) for i in order]
            for d in mine:
                starts = None
                for i, m in matchers:
                    if not m.is_active():
                        starts = None
                        break
                    if m.id() < d:
                        m.skip_to(d)
                        if not m.is_active():
                            starts = None
                            break
                    if m.id() != d:
                        starts = None
                        break
                    here = {p - i for p in m.value_as("positions")}
                    starts = here if starts is None else starts & here
                    if not starts:
                        break
                if starts:
                    out.add(d + offset)
        return out

    def eval(self, node: Node, cand: set[int] | None, exclude: set[int] | None = None) -> set[int]:
        """The documents among `cand` (None: all) matching `node`. A compound node's whole answer is kept (in
        the warm searcher, beside the decoded postings): a plan asks for the same node twice (what matches is
        also what scores: a quoted phrase's positions were read twice over), and a repeated search again."""
        if isinstance(node, Term) or exclude is not None:
            return self._eval(node, cand, exclude)
        memo = self.owner._cache if self.owner is not None else self._terms
        key = ("node", node)
        found = memo.get(key)
        if found is None:
            if cand is not None:
                return self._eval(node, cand)
            found = frozenset(self._eval(node, None))
            if self.owner is not None:
                self.owner.remember(key, found)
            else:
                memo[key] = found
        return found if cand is None else found & cand

    def _eval(self, node: Node, cand: set[int] | None, exclude: set[int] | None = None) -> set[int]:
        if isinstance(node, Term):
            return self.term_in(node.field, node.text, cand) if cand is not None else self.term(node.field, node.text)
        if isinstance(node, DayRange):
            day = self.cols["day"]
            lo, hi = node.lo or 0, node.hi or 99999999
            pool = cand if cand is not None else self.cols["live"]
            return {d for d in pool if lo <= day[d] <= hi}
        if isinstance(node, Phrase):
            pool = cand
            if exclude:
                # the 2-gram field asked only about the cases the word fields did not answer: few, so their
                # grams are looked up by skipping instead of decoding the common grams' postings whole
                pool = (pool if pool is not None else self.cols["live"]) - exclude
            for t in sorted(set(node.terms), key=lambda t: self.df(node.field, t)):
                pool = self.term(node.field, t) if pool is None else self.term_in(node.field, t, pool)
                if not pool:
                    return set()
            return self.phrase(node, pool)
        if isinstance(node, And):
            result = cand
            for child in sorted(node.children, key=lambda c: (_cost(c), self._size(c))):
                result = self.eval(child, result)
                if not result:
                    return set()
            return result if result is not None else set()
        if isinstance(node, Or):
            result: set[int] = set()
            for child in sorted(node.children, key=_cost):
                if _cost(child) >= 2:       # positions: only where the cheap alternatives found nothing
                    result |= self.eval(child, cand, exclude=result)
                else:
                    result |= self.eval(child, cand)
            return result
        raise TypeError(node)

    def _size(self, node: Node) -> int:
        """A guess at how many documents a node matches, to intersect the smallest first."""
        if isinstance(node, Term):
            return self.df(node.field, node.text)
        if isinstance(node, And):
            return min((self._size(c) for c in node.children), default=0)
        if isinstance(node, Or):   # a phrase inside is read only where the rest found nothing
            return sum(self._size(c) for c in node.children if _cost(c) < 2) or 1 << 30
        return 1 << 30


def _unwrap(m):
    """The segment's own posting matcher under Whoosh's filter of deleted documents (the evaluator keeps to
    live documents itself)."""
    while not hasattr(m, "_read_ids") and hasattr(m, "child"):
        m = m.child
    return m


def _all_ids(m) -> list[int]:
    """A fresh matcher's ids, a block at a time where the matcher reads blocks (W3LeafMatcher)."""
    m = _unwrap(m)
    if not hasattr(m, "_read_ids"):
        return list(m.all_ids())
    out: list[int] = []
    while m.is_active():
        if m._ids is None:
            m._read_ids()
        out.extend(m._ids[m._i:])
        m._i = m._blocklength
        m._next_block()
    return out


def _ids_among(m, wanted: list[int]) -> list[int]:
    """Which of `wanted` (ascending document numbers of the segment) the matcher holds. A block whose last id is
    below the next wanted number is passed on its header; a block that may hold one is decoded whole (Whoosh's
    skip_to steps through a block one posting at a time, in Python: the profile's top line for identifiers)."""
    m = _unwrap(m)
    if not hasattr(m, "_read_ids"):
        held = set(m.all_ids())
        return [d for d in wanted if d in held]
    out: list[int] = []
    i, n = 0, len(wanted)
    while i < n and m.is_active():
        top = m.block_max_id()
        if wanted[i] <= top:
            if m._ids is None:
                m._read_ids()
            block = set(m._ids[m._i:])
            j = bisect.bisect_right(wanted, top, i)
            out.extend(d for d in wanted[i:j] if d in block)
            i = j
        m._i = m._blocklength
        m._next_block()
    return out


def _cost(node: Node) -> int:
    if isinstance(node, (Term, DayRange)):
        return 0
    if isinstance(node, Phrase):
        return 2
    if isinstance(node, (And, Or)):
        return max((_cost(c) for c in node.children), default=0) and 2 or 1
    return 1
