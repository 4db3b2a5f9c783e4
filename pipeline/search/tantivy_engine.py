"""The Tantivy engine (for large archives): the same terms, pre-tokenised in Python, in a Tantivy index.

Tantivy's own n-gram tokenizer puts every gram at position 0, so the 2-grams (and the jieba words) are handed to
it as pre-tokenised text with their real positions. A plan becomes one boolean query: the match tree scoring
nothing, each scoring clause a constant score, so Tantivy's top-k collector ranks by the same points as the
Whoosh engine. What keeps it fast at 100,000 cases (each measured there; a common word matches every case):
- ties go to the latest interview inside Tantivy's top-k: the day is indexed as two terms (`day_parts`, the high
  and low part of its ordinal) and a ranked query adds a tiny constant-score clause per part value, so the score
  is points + day * DAY_EPSILON (before: a tie group was fetched whole and sorted in Python, 447 ms);
- a word asked for in any word field is one term of `any_word`, not a union of five;
- a 2-gram phrase standing in for a word the segmenter may have cut otherwise is read only on the cases the word
  fields did not match (named by `doc_key`), as the Whoosh engine does: positions are the costly part;
- scoring clauses no case can satisfy are dropped, and one that the match implies is counted, not evaluated;
- the facets are counted on the other core while the page is ranked (Tantivy releases the GIL).
Only cases of the same points and day are settled in Python, by case id.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import tantivy

from pipeline.search.document import (
    FACET_FIELDS,
    KEYWORD_FIELDS,
    NGRAM_FIELDS,
    WORD_FIELDS,
    IndexedFields,
)
from pipeline.search.engine import FACETS, RawHit, RawResults, SearchIndex, rank_key
from pipeline.search.query import And, DayRange, Node, Or, Phrase, Plan, Term

WINDOW = 64
FACETS_ASIDE = True
# The tie-break: the interview's day counted from DAY_ORIGIN, in DAY_BITS bits (to 2079; days outside are clamped,
# which only leaves more ties to settle by fetching), worth that many DAY_EPSILON units, so a day adds less than
# one point; indexed as its high part (h) and low part (l, DAY_LOW_BITS bits). Scores are f32: sums stay exact
# while points < 2 ** (24 - DAY_BITS).
DAY_ORIGIN = date(1990, 1, 1).toordinal()
DAY_BITS = 15
DAY_LOW_BITS = 7
DAY_EPSILON = 2.0 ** -DAY_BITS
EXACT_BELOW = 2.0 ** (24 - DAY_BITS)
WRITER_HEAP = 64_000_000
BULK_HEAP = 256_000_000


# Many terms a document: handed over as one whitespace-separated string (one call instead of thousands),
# split by Tantivy's whitespace tokenizer, which numbers positions in order as the list gives them.
SPACED = "spaced"
SPACED_KEYWORDS = ("chars", "pairs", "ids", "people", "regions", "ground_articles", "finding_codes")
DAY_FIELD = "day_parts"
ANY_WORD_FIELD = "any_word"     # every word of the word fields, without positions: "this word anywhere" is one term
KEY_FIELD = "doc_key"          # the case id's hash as an integer, fast: a handful of cases named in one query
KEPT_QUERIES = 256             # compiled plans kept per open index (see _queries_for)
PHRASE_CHECK_LIMIT = 5_000     # cases whose 2-gram positions are read one by one; past it, the phrase query as is


def day_ordinal(day: int) -> int:
    """yyyymmdd → days since DAY_ORIGIN, clamped to what DAY_BITS can hold."""
    n = date(day // 10000, day // 100 % 100, day % 100).toordinal() - DAY_ORIGIN
    return min(max(n, 0), 2 ** DAY_BITS - 1)


def day_terms(day: int) -> str:
    n = day_ordinal(day)
    return f"h{n >> DAY_LOW_BITS} l{n & (2 ** DAY_LOW_BITS - 1)}"


def _implied(plan: Plan) -> tuple[int, list]:
    """(points every match earns, the other scoring clauses): a clause that is the match itself, or one of its
    conjuncts, holds for every match, so its points are added afterwards instead of it being evaluated again
    (a quoted phrase would read its positions twice)."""
    given = plan.match.children if isinstance(plan.match, And) else (plan.match,)
    constant, rest = 0, []
    for node, points in plan.scores:
        if any(node is g or node == g for g in given):
            constant += points
        else:
            rest.append((node, points))
    return constant, rest


def doc_key(case_id: str) -> int:
    return int.from_bytes(hashlib.sha256(case_id.encode("utf-8")).digest()[:8], "big") >> 1


def _anywhere(node: Or) -> str | None:
    """The word, when the node asks for one word in any word field (what most of a plan is made of)."""
    words = {c.text for c in node.children if isinstance(c, Term) and c.field in WORD_FIELDS}
    fields = {c.field for c in node.children if isinstance(c, Term)}
    if len(words) == 1 and len(node.children) == len(WORD_FIELDS) and fields == set(WORD_FIELDS):
        return next(iter(words))
    return None


def _f32_ulp(x: float) -> float:
    return 2.0 ** (math.frexp(abs(x))[1] - 24) if x else 0.0


def _analyzers(index: tantivy.Index) -> tantivy.Index:
    index.register_tokenizer(SPACED, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
    return index


def schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    for name in WORD_FIELDS:
        b.add_text_field(name, tokenizer_name="raw", index_option="position")
    for name in NGRAM_FIELDS:
        b.add_text_field(name, tokenizer_name=SPACED, index_option="position")
    for name in KEYWORD_FIELDS:
        b.add_text_field(name, tokenizer_name=SPACED if name in SPACED_KEYWORDS else "raw", index_option="basic",
                         fast=name in FACET_FIELDS, stored=name == "case_id")
    b.add_integer_field("day", indexed=True, fast=True)
    b.add_text_field(DAY_FIELD, tokenizer_name=SPACED, index_option="basic")
    b.add_integer_field(KEY_FIELD, indexed=True, fast=True)
    b.add_text_field(ANY_WORD_FIELD, tokenizer_name="raw", index_option="basic")
    b.add_text_field("manifest_sha256", stored=True, tokenizer_name="raw", index_option="basic")
    b.add_bytes_field("hit", stored=True)
    b.add_bytes_field("snippet_source", stored=True)
    return b.build()


def _pre(tokens) -> tantivy.PreTokenizedString:
    return tantivy.PreTokenizedString("", [tantivy.Token(t, p, 0, 0) for t, p in tokens])


class TantivyIndex(SearchIndex):
    name = "tantivy"

    def __init__(self, folder: Path, index: tantivy.Index):
        super().__init__(folder)
        self.index = index
        self.schema = index.schema
        self._facet_thread: tuple[int, ThreadPoolExecutor] | None = None
        self._days: tuple[tuple[str, ...], list] | None = None     # (day terms, their clauses), see _day_clauses
        self._meta: tuple | None = None                             # meta.json when last reloaded, see refresh
        self._generation = 0                                        # reloads so far: what a kept query was made on
        self._queries: OrderedDict[int, tuple] = OrderedDict()      # see _queries_for
        self._queries_lock = threading.Lock()

    def _counting(self) -> ThreadPoolExecutor:
        """The facets are counted beside the ranking, on the other core: Tantivy releases the GIL while it works.
        A process forked after a search (a web worker) has no thread behind the pool it inherited: it makes its own."""
        if self._facet_thread is None or self._facet_thread[0] != os.getpid():
            self._facet_thread = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="yuetan-facets"))
        return self._facet_thread[1]

    def close(self) -> None:
        if self._facet_thread is not None and self._facet_thread[0] == os.getpid():
            self._facet_thread[1].shutdown(wait=True)
        self._facet_thread = None

    @classmethod
    def create(cls, folder: Path) -> "TantivyIndex":
        return cls(folder, _analyzers(tantivy.Index(schema(), path=str(folder), reuse=False)))

    @classmethod
    def open(cls, folder: Path) -> "TantivyIndex":
        return cls(folder, _analyzers(tantivy.Index.open(str(folder))))

    # --- writing --------------------------------------------------------------------------------------------

    @contextmanager
    def _writer(self, bulk: bool):
        """Tantivy allows one writer per index: processes take turns on a file lock beside the index."""
        lock_path = self.folder.with_name(f".{self.folder.name}.tantivy-write.lock")
        with open(lock_path, "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                writer = (self.index.writer(BULK_HEAP, num_threads=min(2, os.cpu_count() or 1)) if bulk
                          else self.index.writer(WRITER_HEAP, num_threads=1))
                try:
                    yield writer
                except BaseException:
                    writer.rollback()
                    raise
                writer.commit()
                writer.wait_merging_threads()
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
        self._reload()

    def _document(self, f: IndexedFields) -> tantivy.Document:
        d = tantivy.Document()
        for name, tokens in f.words.items():
            if tokens:
                d.add_pre_tokenized_text(name, _pre(tokens))
        anywhere = dict.fromkeys(t for name in WORD_FIELDS for t, _ in f.words.get(name, ()))
        if anywhere:
            d.add_pre_tokenized_text(ANY_WORD_FIELD, _pre((t, n) for n, t in enumerate(anywhere)))
        for name, grams in f.ngrams.items():
            d.add_text(name, " ".join(grams))
        for name, terms in f.keywords.items():
            if name in SPACED_KEYWORDS:
                d.add_text(name, " ".join(terms))
            else:
                for t in terms:
                    d.add_text(name, t)
        d.add_integer("day", f.day)
        d.add_text(DAY_FIELD, day_terms(f.day))
        d.add_integer(KEY_FIELD, doc_key(f.case_id))
        d.add_text("manifest_sha256", f.manifest_sha256)
        d.add_bytes("hit", f.hit.encode("utf-8"))
        d.add_bytes("snippet_source", f.snippet_source)
        return d

    def add(self, docs: Iterable[IndexedFields], *, replace: bool = True, bulk: bool = False) -> int:
        n = 0
        with self._writer(bulk) as w:
            for f in docs:
                if replace:
                    w.delete_documents_by_term("case_id", f.case_id)
                w.add_document(self._document(f))
                n += 1
        return n

    def remove(self, case_id: str) -> int:
        self._reload()
        n = self.index.searcher().doc_freq("case_id", case_id)
        with self._writer(False) as w:
            w.delete_documents_by_term("case_id", case_id)
        return n

    # --- reading --------------------------------------------------------------------------------------------

    def _reload(self) -> None:
        self.index.reload()
        self._generation += 1

    def refresh(self) -> None:
        """Another process's commit is seen at once (Tantivy's own reader notices it after a delay); reloading costs
        a fifth of a millisecond a search, so it is done when meta.json, which each commit replaces, has changed."""
        try:
            st = os.stat(self.folder / "meta.json")
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if stamp is None or stamp != self._meta:
            self._reload()
            self._meta = stamp

    def indexed(self) -> dict[str, str]:
        self._reload()
        s = self.index.searcher()
        if not s.num_docs:
            return {}
        found = s.search(tantivy.Query.all_query(), limit=s.num_docs, count=False).hits
        out = {}
        for _, addr in found:
            doc = s.doc(addr)
            out[doc["case_id"][0]] = doc["manifest_sha256"][0]
        return out

    def compile(self, node: Node, searcher=None, memo: dict | None = None) -> tantivy.Query:
        """The node as a Tantivy query. Given the `searcher`, a 2-gram phrase beside word terms (a word the
        segmenter may have cut otherwise) is read only where those words did not match, as the Whoosh engine does:
        reading positions is the one costly part of a query, and the word fields answer almost every case."""
        Q, Occur = tantivy.Query, tantivy.Occur
        if memo is not None and id(node) in memo:
            return memo[id(node)]
        if isinstance(node, Term):
            option = "basic" if node.field in KEYWORD_FIELDS else "freq"
            q = Q.term_query(self.schema, node.field, node.text, index_option=option)
        elif isinstance(node, Phrase):
            if len(node.terms) == 1:
                q = Q.term_query(self.schema, node.field, node.terms[0], index_option="freq")
            else:
                q = Q.phrase_query(self.schema, node.field, list(node.terms))
        elif isinstance(node, DayRange):
            q = Q.range_query(self.schema, "day", tantivy.FieldType.Integer, node.lo, node.hi)
        elif isinstance(node, And):
            q = Q.boolean_query([(Occur.Must, self.compile(c, searcher, memo)) for c in node.children])
        elif isinstance(node, Or) and (word := _anywhere(node)) is not None:
            q = Q.term_query(self.schema, ANY_WORD_FIELD, word, index_option="basic")
        elif isinstance(node, Or):
            q = self._union(node, searcher, memo)
        else:
            raise TypeError(node)
        if memo is not None:
            memo[id(node)] = q          # by identity: a plan scores with the very nodes it matches with
        return q

    def _union(self, node: Or, searcher, memo) -> tantivy.Query:
        Q, Occur = tantivy.Query, tantivy.Occur
        phrases = [c for c in node.children if isinstance(c, Phrase) and len(c.terms) > 1]
        cheap = [self.compile(c, searcher, memo) for c in node.children if c not in phrases]
        if searcher is None or not phrases or not cheap:
            return Q.boolean_query([(Occur.Should, q) for q in
                                    cheap + [self.compile(c, searcher, memo) for c in phrases]])
        found = Q.boolean_query([(Occur.Should, q) for q in cheap])
        parts = list(cheap)
        for phrase in phrases:
            parts.append(self._phrase_beside(phrase, found, searcher))
        return Q.boolean_query([(Occur.Should, q) for q in parts])

    def _phrase_beside(self, phrase: Phrase, found: tantivy.Query, s) -> tantivy.Query:
        """The phrase where `found` did not match: its cases named by key, or the phrase query when they are many."""
        Q, Occur = tantivy.Query, tantivy.Occur
        grams = [(Occur.Must, Q.term_query(self.schema, phrase.field, t)) for t in dict.fromkeys(phrase.terms)]
        maybe = s.search(Q.boolean_query([*grams, (Occur.MustNot, found)]), limit=PHRASE_CHECK_LIMIT + 1,
                         count=False).hits
        if len(maybe) > PHRASE_CHECK_LIMIT:
            return self.compile(phrase)
        if not maybe:
            return Q.empty_query()
        keys = s.fast_field_values(KEY_FIELD, [a for _, a in maybe])
        among = Q.term_set_query(self.schema, KEY_FIELD, keys)
        held = s.search(Q.boolean_query([(Occur.Must, among), (Occur.Must, self.compile(phrase))]),
                        limit=len(keys), count=False).hits
        if not held:
            return Q.empty_query()
        return Q.term_set_query(self.schema, KEY_FIELD, s.fast_field_values(KEY_FIELD, [a for _, a in held]))

    def search(self, plan: Plan, *, limit: int, offset: int = 0, facets: bool = True) -> RawResults:
        generation = self._generation          # before the searcher: a query kept under it was made on no older one
        s = self.index.searcher()
        match, query, constant = self._queries_for(plan, s, generation)
        want = offset + limit
        order = None if plan.ranked else "day"
        counting = self._counting().submit(self._facets, s, match) if facets and FACETS_ASIDE else None
        window = want + WINDOW
        while True:
            result = s.search(query, limit=window, count=True, order_by_field=order)
            hits, total = result.hits, result.count
            addrs = [a for _, a in hits]
            days = s.fast_field_values("day", addrs) if addrs else []
            cands = sorted(self._ranked(plan, hits, days, constant), key=lambda t: (-t[0], -t[1]))
            if len(hits) >= total or len(hits) <= want or self._settled(plan, hits, cands[want - 1], constant):
                break
            window = min(total, window * 4)
        if len(cands) > want:
            # everything ranked above the page's last (points, date) is in; its ties are settled by case id
            edge = (-cands[want - 1][0], -cands[want - 1][1])
            cands = [t for t in cands if (-t[0], -t[1]) <= edge]
        docs = []
        for sc, d, a in cands:
            doc = s.doc(a)
            docs.append((rank_key(sc, d, doc["case_id"][0]), sc, doc))
        docs.sort(key=lambda t: t[0])
        page = [RawHit(json.loads(bytes(doc["hit"][0]).decode("utf-8")), sc, bytes(doc["snippet_source"][0]))
                for _, sc, doc in docs[offset:want]]
        counts = counting.result() if counting is not None else self._facets(s, match) if facets else {}
        return RawResults(total, page, counts)

    def _queries_for(self, plan: Plan, s, generation: int) -> tuple[tantivy.Query, tantivy.Query, int]:
        """(match, ranked query, points every match earns) of the plan, kept while the index is unchanged: the next
        page or the same search again skips asking the term dictionary about every synonym's terms and reading the
        2-gram phrases' candidates (half a millisecond for a synonym-rich query at 100,000 cases)."""
        with self._queries_lock:
            known = self._queries.get(id(plan))
            if known is not None and known[0] is plan and known[1] == generation:
                self._queries.move_to_end(id(plan))
                return known[2]
        Q, Occur = tantivy.Query, tantivy.Occur
        memo: dict = {}
        match = self.compile(plan.match, s, memo) if plan.match is not None else Q.all_query()
        query, constant = match, 0
        if plan.ranked:
            constant, scoring = _implied(plan)
            held: dict = {}
            scoring = [(n, p) for n, p in scoring if self._possible(n, s, held)]
            query = Q.boolean_query([(Occur.Must, Q.const_score_query(match, 0.0)),
                                     *((Occur.Should, Q.const_score_query(self.compile(n, s, memo), float(p)))
                                       for n, p in scoring),
                                     *self._day_clauses(s)])
        with self._queries_lock:
            self._queries[id(plan)] = (plan, generation, (match, query, constant))     # the plan kept: its id stays its own
            while len(self._queries) > KEPT_QUERIES:
                self._queries.popitem(last=False)
        return match, query, constant

    def _possible(self, node: Node, s, held: dict) -> bool:
        """Whether any case can satisfy the node, from the term dictionary alone: a scoring clause that cannot still
        costs a tenth of a millisecond at 100,000 cases, and a synonym-rich plan has a score of them."""
        if isinstance(node, Term):
            key = (node.field, node.text)
            if key not in held:
                held[key] = s.doc_freq(node.field, node.text) > 0
            return held[key]
        if isinstance(node, Phrase):
            return all(self._possible(Term(node.field, t), s, held) for t in node.terms)
        if isinstance(node, And):
            return all(self._possible(c, s, held) for c in node.children)
        if isinstance(node, Or):
            return any(self._possible(c, s, held) for c in node.children)
        return True

    def _day_clauses(self, s) -> list:
        """One clause per day part the index holds, worth its share of the day's DAY_EPSILON units. The clauses are
        made again only when the index holds other day parts (about 160 queries a search, a third of a millisecond)."""
        terms = tuple(term for term, _ in s.terms_with_prefix(DAY_FIELD, ""))
        known = self._days
        if known is not None and known[0] == terms:
            return known[1]
        Q, Occur = tantivy.Query, tantivy.Occur
        clauses = []
        for term in terms:
            units = int(term[1:]) << DAY_LOW_BITS if term[0] == "h" else int(term[1:])
            if units:
                clauses.append((Occur.Should, Q.const_score_query(Q.term_query(self.schema, DAY_FIELD, term),
                                                                  DAY_EPSILON * units)))
        self._days = (terms, clauses)
        return clauses

    @staticmethod
    def _ranked(plan: Plan, hits, days, constant: int = 0) -> list[tuple[float, int, object]]:
        """(points, day, address) of each hit: the points are the score less the day's share (exactly, since the
        f32 error is far below half a point), plus what every match earns; unranked plans score nothing."""
        if not plan.ranked:
            return [(0.0, d, a) for (_, a), d in zip(hits, days)]
        return [(float(round(k - day_ordinal(d) * DAY_EPSILON) + constant), d, a) for (k, a), d in zip(hits, days)]

    @staticmethod
    def _settled(plan: Plan, hits, edge: tuple[float, int, object], constant: int = 0) -> bool:
        """Whether no case left out can rank with the page's last: in date order, the last fetched day is
        earlier; ranked, the last fetched score is below the edge's exact score by more than f32 rounding."""
        last = hits[-1][0]
        if not plan.ranked:
            return last < edge[1]
        exact = edge[0] - constant + day_ordinal(edge[1]) * DAY_EPSILON
        slack = 0.0 if hits[0][0] < EXACT_BELOW else (len(plan.scores) + 2) * _f32_ulp(hits[0][0])
        return last < exact - slack

    def _facets(self, s, match) -> dict[str, dict[str, int]]:
        agg = {name: {"terms": {"field": column, "size": 10_000}} for name, column in FACETS.items()}
        result = s.aggregate(match, agg)
        return {name: {str(b["key"]): int(b["doc_count"]) for b in result[name]["buckets"]} for name in FACETS}
