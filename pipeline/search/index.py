"""The full-text index of the archive: Whoosh on disk, one document per case (its current version).

The index is derived data: `rebuild` makes it again from the store and swaps it in whole, so a failed rebuild
leaves the old index serving. Word fields (jieba) rank; a character 2-gram field finds what segmentation
splits differently; synonyms expand the archivists' abbreviations at query time.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import re
import shutil
import threading
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.index import LockError

from archive_store.durable import fsync_dir
from archive_store.errors import ArchiveConflict, ConfigurationError, InvalidArgument
from pipeline.case.contract import OUTCOME_LABELS, Case, Outcome, ground_label
from pipeline.search.analysis import (
    chinese_analyzer,
    ngram_analyzer,
    normalise,
    variants,
    words,
)

WRITE_TIMEOUT_S = 120.0
SNIPPET_RADIUS = 30
MAX_SNIPPETS = 3
OPEN, CLOSE = "【", "】"

# 第六条 (institutions) and 第七条 (lower bureaus) of the Measures, item by item, so the index needs no seed file.
GROUND_TEXTS: dict[tuple[int, int], str] = {
    (6, 1): "机构未有效运行质量管理体系、未定期进行仪器设备计量溯源、未按国家标准管理样品等因主体责任落实不到位，"
            "导致检验检测质量受到严重影响的",
    (6, 2): "多次出现检验检测数据、结果失实的",
    (6, 3): "超出资质认定证书规定的检验检测能力范围，擅自向社会出具具有证明作用数据、结果的",
    (6, 4): "无故不参加或未按规定参加省级、国家级能力验证，及能力验证结果不合格且未按期或拒绝整改的",
    (6, 5): "未按照规定办理资质认定变更手续，影响正常监管和检验检测业务开展的",
    (6, 6): "在资质认定评审、监督检查等工作中，存在严重不配合行为的",
    (6, 7): "因检验检测机构服务质量问题引发较大社会舆情或出现较大质量安全事故的",
    (6, 8): "监督检查发现不合格事项或机构承担监督抽查任务存在相关违规行为，未按期或拒绝整改的",
    (6, 9): "投诉举报查证属实且情节严重的或投诉举报较多且查证属实的",
    (6, 10): "其他违反法律法规、规章及资质认定相关要求，情节较为严重的情况",
    (7, 1): "辖区内检验检测机构问题频发且监管不力的",
    (7, 2): "对上级市场监管部门交办的涉及检验检测机构的重点工作任务落实不到位的",
    (7, 3): "在组织开展对辖区内检验检测机构监督检查等工作中，存在程序违规、敷衍了事等情况的",
    (7, 4): "对辖区内检验检测机构监管处理不当，引发舆情的",
    (7, 5): "其他需督促落实属地监管责任的情形",
}


@dataclass(frozen=True)
class IndexDocument:
    """What the index knows of one case version; built by `document_for_case`."""

    case_id: str
    version: int
    notice_number: str
    target: str
    credit_code: str | None
    organizer: str
    region_code: str                      # the target's region, else the organizer's
    target_kind: str                      # institution | bureau
    grounds: tuple[str, ...]              # ("6.2", "6.3")
    grounds_text: str                     # the items' wording and the case's facts
    findings: str                         # codes, articles and messages, one finding a line
    outcome: str
    interview_on: date
    closed_on: date
    people: tuple[str, ...]
    content: str                          # the text of every document
    manifest_sha256: str
    organizer_region_code: str = ""
    finding_codes: tuple[str, ...] = field(default=())


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
    total: int
    hits: list[Hit]

    def as_dict(self) -> dict:
        return {"total": self.total, "hits": [h.as_dict() for h in self.hits]}


def _schema() -> Schema:
    zh, ng = chinese_analyzer(), ngram_analyzer()
    return Schema(
        case_id=ID(stored=True, unique=True),
        version=STORED,
        notice_number=ID(stored=True),
        target=TEXT(analyzer=zh, stored=True),
        credit_code=ID(stored=True),
        organizer=TEXT(analyzer=zh, stored=True),
        organizer_ngram=TEXT(analyzer=ng),
        region_code=ID(stored=True),
        regions=KEYWORD,
        target_kind=ID(stored=True),
        grounds=KEYWORD(stored=True),
        ground_articles=KEYWORD,
        grounds_text=TEXT(analyzer=zh),
        findings=TEXT(analyzer=zh),
        finding_codes=KEYWORD(lowercase=True),
        outcome=ID(stored=True),
        interview_on=ID(stored=True, sortable=True),
        closed_on=ID(stored=True),
        people=KEYWORD(scorable=True),
        content=TEXT(analyzer=zh),
        ngram=TEXT(analyzer=ng),
        manifest_sha256=ID(stored=True),
        snippet_source=STORED,
    )


WORD_FIELDS = {"target": 3.0, "content": 2.0, "grounds_text": 2.0, "findings": 2.0, "organizer": 1.5}


# --- building an IndexDocument ------------------------------------------------------------------------------


def document_for_case(case: Case, number: str, findings: Iterable,
                      texts: Mapping[str, str] | Iterable[tuple[str, str]], *,
                      manifest_sha256: str, version: int = 1) -> IndexDocument:
    """The index document of a case: `findings` are Finding objects or their dicts; `texts` {title: text}
    (or (title, text) pairs, when two documents share a title)."""
    grounds_lines = []
    for g in case.grounds:
        grounds_lines.append(f"{ground_label(g.article, g.item)} {GROUND_TEXTS.get((g.article, g.item), '')}")
        grounds_lines.extend(g.facts)
    finding_lines, codes = [], []
    for f in findings:
        d = f if isinstance(f, dict) else f.as_dict()
        finding_lines.append(f"{d['code']} {d['article']} {d['message']}")
        codes.append(d["code"])
    iv = case.interview
    names = [case.target.principal.name, case.organizer.contact.name, case.approval.approved_by,
             iv.host.name, iv.recorder.name, *(p.name for p in iv.organizer_staff),
             *(a.name for a in iv.attendees), *(a.name for a in iv.local_bureau_attendees),
             *(a.name for a in iv.invited), *(r.name for r in iv.recusals)]
    pairs = texts.items() if isinstance(texts, Mapping) else texts
    content = "\n\n".join(f"{title}\n{text}" for title, text in pairs)
    return IndexDocument(
        case_id=case.case_id, version=version, notice_number=number, target=case.target.name,
        credit_code=case.target.credit_code, organizer=case.organizer.name,
        region_code=case.target.region_code or case.organizer.region_code,
        organizer_region_code=case.organizer.region_code,
        target_kind=case.target.kind.value,
        grounds=tuple(f"{g.article}.{g.item}" for g in case.grounds),
        grounds_text="\n".join(grounds_lines), findings="\n".join(finding_lines),
        finding_codes=tuple(dict.fromkeys(codes)),
        outcome=case.rectification.outcome.value, interview_on=case.interview_date, closed_on=case.closed_on,
        people=tuple(dict.fromkeys(n.strip() for n in names if n and n.strip())), content=content,
        manifest_sha256=manifest_sha256)


def _fields(doc: IndexDocument) -> dict:
    grounds = " ".join(doc.grounds)
    everything = "\n".join([doc.notice_number, doc.target, doc.credit_code or "", doc.organizer,
                            doc.grounds_text, doc.findings, doc.content])
    snippet_source = "\n".join(t for t in (doc.content, doc.grounds_text, doc.findings) if t)
    return dict(
        case_id=doc.case_id, version=doc.version, notice_number=doc.notice_number, target=doc.target,
        credit_code=doc.credit_code or "", organizer=doc.organizer, organizer_ngram=doc.organizer,
        region_code=doc.region_code,
        regions=" ".join(dict.fromkeys(c for c in (doc.region_code, doc.organizer_region_code) if c)),
        target_kind=doc.target_kind, grounds=grounds,
        ground_articles=" ".join(dict.fromkeys(g.split(".")[0] for g in doc.grounds)),
        grounds_text=doc.grounds_text, findings=doc.findings, finding_codes=" ".join(doc.finding_codes),
        outcome=doc.outcome, interview_on=doc.interview_on.isoformat(), closed_on=doc.closed_on.isoformat(),
        people=" ".join(p.replace(" ", "") for p in doc.people), content=doc.content, ngram=everything,
        manifest_sha256=doc.manifest_sha256,
        snippet_source=zlib.compress(snippet_source.encode("utf-8"), 6))


# --- opening and writing ------------------------------------------------------------------------------------

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


def open_or_create(index_dir: Path) -> whoosh_index.Index:
    """The index in `index_dir`, created empty on first use (under a lock: ingest may run in several processes)."""
    index_dir = Path(index_dir)
    if whoosh_index.exists_in(str(index_dir)):
        return _open(index_dir)
    with _file_lock(index_dir.with_name(f".{index_dir.name}.create.lock")):
        if whoosh_index.exists_in(str(index_dir)):
            return _open(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        return whoosh_index.create_in(str(index_dir), _schema())


def _open(index_dir: Path) -> whoosh_index.Index:
    """An existing index, refused when it was built with other fields (an older yuetan): reindex makes it anew."""
    ix = whoosh_index.open_dir(str(index_dir))
    if set(ix.schema.names()) != set(_schema().names()):
        ix.close()
        raise ConfigurationError(f"全文索引 {index_dir} 的字段与本版本不符（由旧版本建立），请运行 yuetan reindex 重建索引")
    return ix


@contextmanager
def _writer(index_dir: Path):
    """A writer that waits for another process's or thread's writer instead of failing at once."""
    with _thread_lock(index_dir):
        ix = open_or_create(index_dir)
        try:
            writer = ix.writer(timeout=WRITE_TIMEOUT_S, delay=0.2, compound=False)
        except LockError as exc:
            raise ArchiveConflict(
                f"全文索引 {index_dir} 正被另一进程写入，等待 {WRITE_TIMEOUT_S:.0f} 秒仍未释放，请稍后重试") from exc
        try:
            yield writer
        except BaseException:
            writer.cancel()
            raise
        else:
            writer.commit()
        finally:
            ix.close()


def index_case(index_dir: Path, doc: IndexDocument) -> None:
    """Add the case, replacing whatever version of it the index held."""
    with _writer(Path(index_dir)) as w:
        w.update_document(**_fields(doc))


def index_cases(index_dir: Path, docs: Iterable[IndexDocument]) -> int:
    """Add or replace many cases with one writer and one commit; returns how many."""
    n = 0
    with _writer(Path(index_dir)) as w:
        for doc in docs:
            w.update_document(**_fields(doc))
            n += 1
    return n


def remove_case(index_dir: Path, case_id: str) -> int:
    """Drop the case from the index (purge); returns the number of documents removed."""
    with _writer(Path(index_dir)) as w:
        return w.delete_by_term("case_id", case_id)


def indexed_case_ids(index_dir: Path) -> dict[str, str]:
    """{case_id: manifest_sha256} of every indexed case, for the audit."""
    index_dir = Path(index_dir)
    if not whoosh_index.exists_in(str(index_dir)):
        return {}
    ix = _open(index_dir)
    try:
        with ix.searcher() as s:
            return {f["case_id"]: f["manifest_sha256"] for f in s.all_stored_fields()}
    finally:
        ix.close()


def rebuild(index_dir: Path, docs: Iterable[IndexDocument]) -> int:
    """Build a whole new index beside the old one, then swap the two folders in one step.

    Until the swap the old index serves searches; if building fails the new folder is removed and the old
    index is untouched. Ingest must not write while a rebuild runs (its case would be in the old index only).
    """
    index_dir = Path(index_dir)
    new = index_dir.with_name(index_dir.name + ".new")
    if new.exists():
        shutil.rmtree(new)          # a failed rebuild's leftover; never the live index
    new.mkdir(parents=True)
    n = 0
    try:
        ix = whoosh_index.create_in(str(new), _schema())
        writer = ix.writer(limitmb=256, compound=False)
        try:
            for doc in docs:
                writer.add_document(**_fields(doc))
                n += 1
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        ix.close()
        _fsync_tree(new)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    with _thread_lock(index_dir):
        if index_dir.exists():
            _exchange(new, index_dir)
            shutil.rmtree(new)      # now holds the old index
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

_NOTICE_RE = re.compile(r"^(?P<prefix>[^\[［（(〔【]*)[\[［（(〔【]\s*(?P<year>\d{4})\s*[\]］）)〕】]\s*(?P<seq>\d+)\s*号?$")
_QUOTED_RE = re.compile(r'"([^"]*)"|“([^”]*)”|(\S+)')


def normalise_notice_number(text: str) -> str | None:
    """赣市监检约[2025]03号 or （2025）3 → the registry's form 赣市监检约〔2025〕3号; None if not a number."""
    m = _NOTICE_RE.match(text.strip())
    if not m:
        return None
    return f"{m['prefix'].strip()}〔{m['year']}〕{int(m['seq'])}号"


def _bigram_phrase(fieldname: str, text: str, boost: float = 1.0):
    text = normalise(text)
    grams = [text[i:i + 2] for i in range(len(text) - 1)]
    if not grams:
        return None
    if len(grams) == 1:
        return Q.Term(fieldname, grams[0], boost=boost)
    return Q.Phrase(fieldname, grams, boost=boost)


def _word_query(fieldname: str, ws: list[str], boost: float, slop: int):
    if len(ws) == 1:
        return Q.Term(fieldname, ws[0], boost=boost)
    return Q.Phrase(fieldname, ws, slop=slop, boost=boost)


def _term_query(term: str, quoted: bool) -> tuple[Q.Query, tuple[list[str], list[str]]]:
    """One query term: exact keys, then each synonym variant in the word fields and the 2-gram field.

    Also returns what to mark in snippets: the variants themselves, and their words for when no variant
    occurs whole (a notice number or credit code is never split for marking).
    """
    raw = term.strip()
    notice = normalise_notice_number(raw)
    clauses: list[Q.Query] = []
    whole: list[str] = []
    parts: list[str] = []
    if not quoted:
        clauses += [Q.Term("case_id", raw, boost=20), Q.Term("credit_code", raw.upper(), boost=20),
                    Q.Term("people", raw, boost=10), Q.Term("finding_codes", raw.lower(), boost=5),
                    Q.Term("grounds", raw, boost=5)]
        if notice:
            clauses.append(Q.Term("notice_number", notice, boost=20))
    base = notice or raw
    splittable = notice is None and not re.fullmatch(r"[0-9A-Za-z]{15,}", raw)
    variants_of = variants(base)
    for variant in variants_of:
        ws = words(variant)
        if ws:
            for fieldname, boost in WORD_FIELDS.items():
                clauses.append(_word_query(fieldname, ws, boost, slop=1))
            if splittable:
                parts.extend(w for w in ws if len(w) > 1)
        compact = "".join(variant.split())
        if variant == variants_of[0] or not ws:
            # the 2-gram fallback is for how the archivist typed it; the synonyms are dictionary words
            gram = _bigram_phrase("ngram", compact)
            if gram is not None:
                clauses.append(gram)
        whole.append(compact)
    either = Q.Or(clauses)
    # a tree of unions can skip to the cases the filters allow; the preloading kind reads every match first
    either.matcher_type = Q.Or.DEFAULT_MATCHER
    return either, (whole, parts)


def _filters(kind, ground, organizer, region, outcome, date_from, date_to) -> list[Q.Query]:
    filters: list[Q.Query] = []
    if kind:
        kinds = {"institution": "institution", "bureau": "bureau", "机构": "institution",
                 "检验检测机构": "institution", "下级部门": "bureau", "市场监管部门": "bureau"}
        if kind not in kinds:
            raise InvalidArgument(f"约谈对象类别“{kind}”无效：应为 institution（检验检测机构）或 bureau（下级市场监管部门）")
        filters.append(Q.Term("target_kind", kinds[kind]))
    if ground:
        g = str(ground).strip()
        if re.fullmatch(r"\d{1,2}\.\d{1,2}", g):
            filters.append(Q.Term("grounds", g))
        elif re.fullmatch(r"\d{1,2}", g):
            filters.append(Q.Term("ground_articles", g))
        else:
            raise InvalidArgument(f"约谈依据“{ground}”格式不对：应为“条.项”，如 6.2（第六条第（二）项），或只写条，如 6")
    if organizer:
        gram = _bigram_phrase("organizer_ngram", organizer.strip())
        if gram is None:
            raise InvalidArgument(f"组织机关“{organizer}”太短：请至少写两个字")
        filters.append(gram)
    if region:
        r = str(region).strip()
        if not re.fullmatch(r"\d{2,6}", r):
            raise InvalidArgument(f"行政区划代码“{region}”无效：应为 2 到 6 位数字，如 360400（九江市）")
        while len(r) > 2 and r.endswith("00"):
            r = r[:-2]
        filters.append(Q.Prefix("regions", r))
    if outcome:
        labels = {label: o.value for o, label in OUTCOME_LABELS.items()}
        value = labels.get(outcome, outcome)
        if value not in {o.value for o in Outcome}:
            raise InvalidArgument(f"处理结果“{outcome}”无效：应为 " + "、".join(
                f"{o.value}（{OUTCOME_LABELS[o]}）" for o in Outcome))
        filters.append(Q.Term("outcome", value))
    if date_from or date_to:
        lo, hi = _iso(date_from, "起始日期"), _iso(date_to, "截止日期")
        if lo and hi and lo > hi:
            raise InvalidArgument(f"起始日期 {lo} 晚于截止日期 {hi}")
        filters.append(Q.TermRange("interview_on", lo, hi, startexcl=False, endexcl=False))
    return filters


def _iso(value, label: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise InvalidArgument(f"{label}“{value}”无效：应为 YYYY-MM-DD，如 2025-07-15") from None


def search(index_dir: Path, query: str = "", *, kind: str | None = None, ground: str | None = None,
           organizer: str | None = None, region: str | None = None, outcome: str | None = None,
           date_from: date | str | None = None, date_to: date | str | None = None, limit: int = 20,
           highlight: str = "brackets") -> SearchResults:
    """Ranked cases for `query` (words AND-ed; "quoted words" as a phrase) within the filters.

    An empty query lists the cases the filters select, latest interview first.
    """
    if highlight not in ("brackets", "none"):
        raise InvalidArgument(f"高亮方式“{highlight}”无效：应为 brackets 或 none")
    if limit < 1:
        raise InvalidArgument(f"结果条数 {limit} 无效：应至少为 1")
    filters = _filters(kind, ground, organizer, region, outcome, date_from, date_to)
    terms = [(m[1] if m[1] is not None else m[2], True) if m[3] is None else (m[3], False)
             for m in _QUOTED_RE.finditer(query or "")]
    terms = [(t, quoted) for t, quoted in terms if t.strip()]
    marks: list[tuple[list[str], list[str]]] = []
    if terms:
        parts = []
        for t, quoted in terms:
            q, m = _term_query(t, quoted)
            parts.append(q)
            marks.append(m)
        main: Q.Query = parts[0] if len(parts) == 1 else Q.And(parts)
    else:
        main = Q.Every()
    index_dir = Path(index_dir)
    if not whoosh_index.exists_in(str(index_dir)):
        return SearchResults(0, [])
    ix = _open(index_dir)
    try:
        with ix.searcher() as s:
            # Filters join the query (scoring nothing) so the matcher skips to the filtered cases instead of
            # checking every phrase first; limit=None: one pass gives both the ranking and the exact total.
            if terms:
                q = Q.And([main, *(Q.ConstantScoreQuery(f, 0.0) for f in filters)]) if filters else main
                results = s.search(q, limit=None)
            else:
                flt = None if not filters else (filters[0] if len(filters) == 1 else Q.And(filters))
                results = s.search(main, filter=flt, limit=None, sortedby="interview_on", reverse=True)
            total = len(results)
            hits = []
            for r in results[:limit]:
                f = r.fields()
                snippets = []
                if marks:
                    text = zlib.decompress(f["snippet_source"]).decode("utf-8")
                    snippets = make_snippets(text, marks, mark=highlight == "brackets")
                hits.append(Hit(
                    case_id=f["case_id"], notice_number=f["notice_number"], target=f["target"],
                    interview_on=date.fromisoformat(f["interview_on"]), outcome=f["outcome"],
                    score=round(float(r.score or 0.0), 4) if terms else 0.0, snippets=snippets,
                    target_kind=f["target_kind"], grounds=tuple(f["grounds"].split())))
            return SearchResults(total, hits)
    finally:
        ix.close()


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
