"""The Tantivy engine (for large archives): the same terms, pre-tokenised in Python, in a Tantivy index.

Tantivy's own n-gram tokenizer puts every gram at position 0, so the 2-grams (and the jieba words) are handed to
it as pre-tokenised text with their real positions. A plan becomes one boolean query: the match tree scoring
nothing, each scoring clause a constant score, so Tantivy's top-k collector ranks by the same points as the
Whoosh engine; ties at the page's edge are settled by date and case id like there.
"""
from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable
from contextlib import contextmanager
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
WRITER_HEAP = 64_000_000
BULK_HEAP = 256_000_000


# Many terms a document: handed over as one whitespace-separated string (one call instead of thousands),
# split by Tantivy's whitespace tokenizer, which numbers positions in order as the list gives them.
SPACED = "spaced"
SPACED_KEYWORDS = ("chars", "pairs", "ids", "people", "regions", "ground_articles", "finding_codes")


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
        self.index.reload()

    def _document(self, f: IndexedFields) -> tantivy.Document:
        d = tantivy.Document()
        for name, tokens in f.words.items():
            if tokens:
                d.add_pre_tokenized_text(name, _pre(tokens))
        for name, grams in f.ngrams.items():
            d.add_text(name, " ".join(grams))
        for name, terms in f.keywords.items():
            if name in SPACED_KEYWORDS:
                d.add_text(name, " ".join(terms))
            else:
                for t in terms:
                    d.add_text(name, t)
        d.add_integer("day", f.day)
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
        self.index.reload()
        n = self.index.searcher().doc_freq("case_id", case_id)
        with self._writer(False) as w:
            w.delete_documents_by_term("case_id", case_id)
        return n

    # --- reading --------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        self.index.reload()

    def indexed(self) -> dict[str, str]:
        self.index.reload()
        s = self.index.searcher()
        if not s.num_docs:
            return {}
        found = s.search(tantivy.Query.all_query(), limit=s.num_docs, count=False).hits
        out = {}
        for _, addr in found:
            doc = s.doc(addr)
            out[doc["case_id"][0]] = doc["manifest_sha256"][0]
        return out

    def compile(self, node: Node) -> tantivy.Query:
        Q, Occur = tantivy.Query, tantivy.Occur
        if isinstance(node, Term):
            option = "basic" if node.field in KEYWORD_FIELDS else "freq"
            return Q.term_query(self.schema, node.field, node.text, index_option=option)
        if isinstance(node, Phrase):
            if len(node.terms) == 1:
                return Q.term_query(self.schema, node.field, node.terms[0], index_option="freq")
            return Q.phrase_query(self.schema, node.field, list(node.terms))
        if isinstance(node, DayRange):
            return Q.range_query(self.schema, "day", tantivy.FieldType.Integer, node.lo, node.hi)
        if isinstance(node, And):
            return Q.boolean_query([(Occur.Must, self.compile(c)) for c in node.children])
        if isinstance(node, Or):
            return Q.boolean_query([(Occur.Should, self.compile(c)) for c in node.children])
        raise TypeError(node)

    def search(self, plan: Plan, *, limit: int, offset: int = 0, facets: bool = True) -> RawResults:
        Q, Occur = tantivy.Query, tantivy.Occur
        s = self.index.searcher()
        match = self.compile(plan.match) if plan.match is not None else Q.all_query()
        want = offset + limit
        if plan.ranked:
            query = Q.boolean_query([(Occur.Must, Q.const_score_query(match, 0.0)),
                                     *((Occur.Should, Q.const_score_query(self.compile(n), float(p)))
                                       for n, p in plan.scores)])
            order = None
        else:
            query, order = match, "day"
        # fetch past the page until the last fetched key is worse than the page's last: ties are all in hand
        window = want + WINDOW
        while True:
            result = s.search(query, limit=window, count=True, order_by_field=order)
            hits, total = result.hits, result.count
            keys = [h[0] for h in hits]
            if len(hits) >= total or len(hits) <= want or keys[-1] != keys[want - 1]:
                break
            window = min(total, window * 4)
        addrs = [a for _, a in hits]
        days = s.fast_field_values("day", addrs) if addrs else []
        cands = sorted(((float(k) if plan.ranked else 0.0, d, a) for k, d, a in zip(keys, days, addrs)),
                       key=lambda t: (-t[0], -t[1]))
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
        counts = self._facets(s, match) if facets else {}
        return RawResults(total, page, counts)

    def _facets(self, s, match) -> dict[str, dict[str, int]]:
        agg = {name: {"terms": {"field": column, "size": 10_000}} for name, column in FACETS.items()}
        result = s.aggregate(match, agg)
        return {name: {str(b["key"]): int(b["doc_count"]) for b in result[name]["buckets"]} for name in FACETS}
