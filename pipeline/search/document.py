"""What the index knows of a case (`IndexDocument`) and the terms every engine indexes for it (`IndexedFields`).

Tokenising happens here once, in Python, so the Whoosh and Tantivy engines hold the very same terms.
"""
from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from pipeline.search.analysis import (
    TokenStream,
    bigram_tokens,
    characters,
    identifier_forms,
    identifiers,
    normalise,
    pairs,
    word_tokens,
)

if TYPE_CHECKING:
    from pipeline.case.contract import Case

# Bumped whenever the indexed terms change: an index of another format asks for `yuetan reindex`.
INDEX_FORMAT = 2

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

WORD_FIELDS = ("target", "organizer", "grounds_text", "findings", "content")
KEYWORD_FIELDS = ("case_id", "notice_number", "credit_code", "people", "grounds", "ground_articles",
                  "finding_codes", "regions", "region", "target_kind", "outcome", "year", "chars", "pairs", "ids")
NGRAM_FIELDS = ("ngram", "target_ngram", "organizer_ngram")
FACET_FIELDS = ("target_kind", "grounds", "region", "year", "outcome")


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
    identifiers: tuple[str, ...] = field(default=())   # CMA certificate, phone numbers: found exactly


def document_for_case(case: Case, number: str, findings: Iterable,
                      texts: Mapping[str, str] | Iterable[tuple[str, str]], *,
                      manifest_sha256: str, version: int = 1) -> IndexDocument:
    """The index document of a case: `findings` are Finding objects or their dicts; `texts` {title: text}
    (or (title, text) pairs, when two documents share a title)."""
    from pipeline.case.contract import (
        ground_label,  # pydantic: not on the path of a search
    )
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
    pairs_ = texts.items() if isinstance(texts, Mapping) else texts
    content = "\n\n".join(f"{title}\n{text}" for title, text in pairs_)
    keys = [case.target.cma_certificate, case.target.principal.phone, case.organizer.contact.phone]
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
        manifest_sha256=manifest_sha256, identifiers=tuple(k for k in keys if k))


def notice_forms(number: str) -> list[str]:
    """A notice number as indexed: whole, and its 〔year〕seq号 part (typed without the prefix)."""
    from pipeline.search.query import normalise_notice_number
    full = normalise_notice_number(number) or number
    forms = [full]
    if "〔" in full:
        forms.append(full[full.index("〔"):])
    return forms


def region_tokens(*codes: str) -> list[str]:
    """360402 → 36, 3604, 360402: a filter on a province or city is one term."""
    out: list[str] = []
    for code in codes:
        c = code or ""
        while len(c) > 2 and c.endswith("00"):
            c = c[:-2]
        out.extend(c[:n] for n in range(2, len(c) + 1, 2))
    return list(dict.fromkeys(t for t in out if t))


@dataclass(frozen=True)
class IndexedFields:
    """The terms of one case, field by field, and what a hit shows; the same for every engine."""

    words: dict[str, TokenStream]          # WORD_FIELDS: jieba words with positions
    ngrams: dict[str, list[str]]           # NGRAM_FIELDS: character 2-grams, position = index (GAP: none)
    keywords: dict[str, list[str]]         # KEYWORD_FIELDS: terms without positions
    day: int                               # interview date as yyyymmdd
    case_id: str
    manifest_sha256: str
    hit: str                               # JSON of what a search hit shows
    snippet_source: bytes                  # zlib of the texts snippets are cut from


def indexed_fields(doc: IndexDocument) -> IndexedFields:
    words, seqs = {}, []
    for name in WORD_FIELDS:
        tokens, seq = word_tokens(getattr(doc, name))
        words[name] = tokens
        seqs.append(seq)
    everything = [doc.notice_number, doc.target, doc.credit_code or "", doc.organizer, doc.grounds_text,
                  doc.findings, doc.content, *doc.people]
    norm = [normalise(t) for t in everything]
    ids = identifiers(norm, normalised=True)
    for key in (doc.case_id, doc.credit_code, *doc.identifiers):
        if key:
            ids.update(identifier_forms(key))
    ids.update(notice_forms(doc.notice_number))
    keywords = {
        "case_id": [doc.case_id], "notice_number": [notice_forms(doc.notice_number)[0]],
        "credit_code": [doc.credit_code.upper()] if doc.credit_code else [],
        "people": [normalise(p.replace(" ", "")) for p in doc.people],
        "grounds": list(doc.grounds), "ground_articles": list(dict.fromkeys(g.split(".")[0] for g in doc.grounds)),
        "finding_codes": [c.lower() for c in doc.finding_codes],
        "regions": region_tokens(doc.region_code, doc.organizer_region_code),
        "region": [doc.region_code], "target_kind": [doc.target_kind], "outcome": [doc.outcome],
        "year": [str(doc.interview_on.year)], "chars": sorted(characters(norm, normalised=True)),
        "pairs": sorted(set().union(*(pairs(s) for s in seqs))), "ids": sorted(ids),
    }
    hit = {"case_id": doc.case_id, "notice_number": doc.notice_number, "target": doc.target,
           "interview_on": doc.interview_on.isoformat(), "outcome": doc.outcome, "target_kind": doc.target_kind,
           "grounds": list(doc.grounds), "version": doc.version}
    snippet_source = "\n".join(t for t in (doc.content, doc.grounds_text, doc.findings) if t)
    return IndexedFields(
        words=words,
        ngrams={"ngram": bigram_tokens(norm, normalised=True), "target_ngram": bigram_tokens([doc.target]),
                "organizer_ngram": bigram_tokens([doc.organizer])},
        keywords=keywords, day=int(doc.interview_on.strftime("%Y%m%d")), case_id=doc.case_id,
        manifest_sha256=doc.manifest_sha256, hit=json.dumps(hit, ensure_ascii=False),
        snippet_source=zlib.compress(snippet_source.encode("utf-8"), 6))
