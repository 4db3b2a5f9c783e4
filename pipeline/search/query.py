"""What a search means, whatever the engine: the query and filters turned into a `Plan` of term sets.

A plan has one `match` tree (which cases are found: every query term AND-ed, each filter AND-ed) and a list of
scoring clauses, each worth a fixed number of points. A case's score is the sum of the points of the clauses it
satisfies; ties go to the latest interview. Fixed points (not BM25) make the ranking the same on every engine
and keep the kinds of match in order:

- an identifier, notice number, credit code or case id typed whole          1000
- a person named in the case                                                  300
- the typed text standing exactly as typed (its character 2-grams)            100
- the words standing together or one word apart, in order (word pairs)         30
- every word in the target's name (a field that names the case)                60
- a ground item whose wording holds every word (the archivists' shorthand)     60
- every word somewhere in the case                                             10

A synonym's rewrite earns 4/5 of the typed form's points, so the archivist's own wording ranks first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from archive_store.errors import InvalidArgument
from pipeline.search.analysis import (
    bigrams,
    identifier_forms,
    is_identifier,
    normalise,
    query_pairs,
    variants,
    words,
)

# --- the tree -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    field: str
    text: str


@dataclass(frozen=True)
class Phrase:
    """Terms at consecutive positions of one field (character 2-grams: an exact substring)."""
    field: str
    terms: tuple[str, ...]


@dataclass(frozen=True)
class And:
    children: tuple


@dataclass(frozen=True)
class Or:
    children: tuple


@dataclass(frozen=True)
class DayRange:
    lo: int | None          # yyyymmdd, inclusive
    hi: int | None


Node = Term | Phrase | And | Or | DayRange


def _and(children) -> Node:
    children = tuple(dict.fromkeys(children))
    if not children:
        raise ValueError("an empty And matches nothing and everything")
    return children[0] if len(children) == 1 else And(children)


def _or(children) -> Node:
    children = tuple(dict.fromkeys(children))
    if not children:
        raise ValueError("an empty Or matches nothing")
    return children[0] if len(children) == 1 else Or(children)


@dataclass
class Plan:
    match: Node | None                      # None: every case
    scores: list[tuple[Node, int]] = field(default_factory=list)
    ranked: bool = False                    # False: latest interview first (no query)
    marks: list[tuple[list[str], list[str]]] = field(default_factory=list)   # what snippets mark

    def __post_init__(self):
        # one clause once: the same node twice would be counted twice
        merged: dict[Node, int] = {}
        for node, points in self.scores:
            merged[node] = max(points, merged.get(node, 0))
        self.scores = list(merged.items())


KEY, PERSON, CODE = 1000, 300, 300
EXACT, NAMING, ADJACENT, APART, GROUND = 20, 12, 6, 2, 60
TYPED, SYNONYM = 5, 4
WORD_FIELDS = ("target", "organizer", "grounds_text", "findings", "content")

# --- identifiers --------------------------------------------------------------------------------------------

_NOTICE_RE = re.compile(r"^(?P<prefix>[^\[［（(〔【]*)[\[［（(〔【]\s*(?P<year>\d{4})\s*[\]］）)〕】]\s*(?P<seq>\d+)\s*号?$")
_QUOTED_RE = re.compile(r'"([^"]*)"|“([^”]*)”|(\S+)')


def normalise_notice_number(text: str) -> str | None:
    """赣市监检约[2025]03号 or （2025）3 → the registry's form 赣市监检约〔2025〕3号; None if not a number."""
    m = _NOTICE_RE.match(text.strip())
    if not m:
        return None
    return f"{m['prefix'].strip()}〔{m['year']}〕{int(m['seq'])}号"


# --- one query term -----------------------------------------------------------------------------------------


def _substring(fieldname: str, text: str) -> Node | None:
    """Where `text` stands exactly (2-grams at consecutive positions); one character: the character field."""
    grams = bigrams(text)
    if not grams:
        t = "".join(normalise(text).split())
        return Term("chars", t) if t else None
    return Term(fieldname, grams[0]) if len(grams) == 1 else Phrase(fieldname, tuple(grams))


def _all_grams(fieldname: str, text: str) -> Node | None:
    """Every 2-gram of `text` present (no positions): the cheap test of "stands as typed" used for ranking."""
    grams = bigrams(text)
    if not grams:
        t = "".join(normalise(text).split())
        return Term("chars", t) if t else None
    return _and(Term(fieldname, g) for g in grams)


def _units(ws: list[str]) -> list[tuple[list[str], str]]:
    """Words grouped for matching: a word alone; single characters next to each other as one run (冯/丹 is 冯丹)."""
    units: list[tuple[list[str], str]] = []
    run: list[str] = []
    for w in ws + [""]:
        if len(w) == 1:
            run.append(w)
            continue
        if run:
            units.append((run, "".join(run)))
            run = []
        if w:
            units.append(([w], w))
    return units


def _word_in_any_field(w: str) -> Node:
    return _or(Term(f, w) for f in WORD_FIELDS)


def _variant_match(ws: list[str], typed: str | None) -> Node | None:
    """Every word somewhere in the case; a word (or run of characters) the segmenter cut otherwise in the text
    is found as a substring (the 2-gram field is consulted for the words the word fields miss)."""
    parts = []
    units = _units(ws)
    if any(len(text) > 1 for _, text in units):
        # a lone character between words (的, 及, 未) is no test of the case; it counts in the exact rank
        units = [u for u in units if len(u[1]) > 1]
    for unit_words, text in units:
        alternatives = [_and(_word_in_any_field(w) for w in unit_words)]
        if typed is not None:
            sub = _substring("ngram", text)
            if sub is not None:
                alternatives.append(sub)
        parts.append(_or(alternatives))
    return _and(parts) if parts else None


def _ground_items(ws: list[str]) -> list[str]:
    """Ground items whose wording holds every typed word (two words at least; a handful of items at most)."""
    from pipeline.search.document import GROUND_TEXTS
    if len(ws) < 2:
        return []
    items = [f"{a}.{i}" for (a, i), text in GROUND_TEXTS.items() if all(w in normalise(text) for w in ws)]
    return items if len(items) <= 3 else []


def term_plan(term: str, quoted: bool) -> tuple[Node, list[tuple[Node, int]], tuple[list[str], list[str]]]:
    """(what matches the term, its scoring clauses, what snippets mark)."""
    raw = term.strip()
    notice = normalise_notice_number(raw)
    ident = is_identifier(raw)
    matches: list[Node] = []
    scores: list[tuple[Node, int]] = []
    whole: list[str] = []
    parts: list[str] = []
    if quoted:
        compact = "".join(normalise(raw).split())
        exact = _substring("ngram", compact)
        if exact is None:
            raise InvalidArgument("引号中的检索词为空")
        matches.append(exact)
        scores.append((exact, EXACT * TYPED))
        naming = _substring("target_ngram", compact)
        if naming is not None and not (isinstance(naming, Term) and naming.field == "chars"):
            scores.append((naming, NAMING * TYPED))
        return _or(matches), scores, ([compact], [])
    keys: list[Node] = [Term("case_id", raw), Term("credit_code", raw.upper())]
    if notice:
        keys.append(Term("ids", notice))
    if ident:
        keys.extend(Term("ids", f) for f in identifier_forms(raw))
    for k in keys:
        scores.append((k, KEY))
    person = Term("people", normalise(raw))
    codes = [Term("finding_codes", raw.lower()), Term("grounds", raw)]
    scores += [(person, PERSON), *((c, CODE) for c in codes)]
    matches += [*keys, person, *codes]
    if notice or ident:
        # an identifier is found whole (or exactly as typed), never by its pieces
        exact = _substring("ngram", notice or raw)
        if exact is not None:
            matches.append(exact)
            scores.append((exact, EXACT * TYPED))
        return _or(matches), scores, ([notice or raw], [])
    for n, variant in enumerate(variants(raw)):
        typed = n == 0
        weight = TYPED if typed else SYNONYM
        ws = words(variant)
        compact = "".join(variant.split())
        whole.append(compact)
        parts.extend(w for w in ws if len(w) > 1)
        m = _variant_match(ws, compact if typed else None)
        if m is None:
            continue
        matches.append(m)
        scores.append((m, APART * weight))
        exact = _all_grams("ngram", compact)
        if exact is not None:
            scores.append((exact, EXACT * weight))
        together = query_pairs(ws)
        if together:
            scores.append((_and(Term("pairs", p) for p in together), ADJACENT * weight))
        naming = _and(_or([Term("target", w), *([_all_grams("target_ngram", w)] if len(w) > 1 else [])])
                      for w in ws)
        scores.append((naming, NAMING * weight))
        if typed:
            items = [Term("grounds", g) for g in _ground_items(ws)]
            if items:
                scores.append((_or(items), GROUND))
                matches.extend(items)
    return _or(matches), scores, (whole, parts)


def split_query(query: str) -> list[tuple[str, bool]]:
    """Whitespace-separated terms; "quoted words" (ASCII or Chinese quotes) are one exact term."""
    terms = [(m[1] if m[1] is not None else m[2], True) if m[3] is None else (m[3], False)
             for m in _QUOTED_RE.finditer(query or "")]
    return [(t, quoted) for t, quoted in terms if t.strip()]


# --- filters ------------------------------------------------------------------------------------------------

KINDS = {"institution": "institution", "bureau": "bureau", "机构": "institution",
         "检验检测机构": "institution", "下级部门": "bureau", "市场监管部门": "bureau"}


def filter_nodes(kind=None, ground=None, organizer=None, region=None, outcome=None, date_from=None,
                 date_to=None) -> list[Node]:
    """The filters as term nodes; a bad value is refused with a message naming it."""
    filters: list[Node] = []
    if kind:
        if kind not in KINDS:
            raise InvalidArgument(f"约谈对象类别“{kind}”无效：应为 institution（检验检测机构）或 bureau（下级市场监管部门）")
        filters.append(Term("target_kind", KINDS[kind]))
    if ground:
        g = str(ground).strip()
        if re.fullmatch(r"\d{1,2}\.\d{1,2}", g):
            filters.append(Term("grounds", g))
        elif re.fullmatch(r"\d{1,2}", g):
            filters.append(Term("ground_articles", g))
        else:
            raise InvalidArgument(f"约谈依据“{ground}”格式不对：应为“条.项”，如 6.2（第六条第（二）项），或只写条，如 6")
    if organizer:
        node = _substring("organizer_ngram", organizer.strip())
        if node is None or (isinstance(node, Term) and node.field == "chars"):
            raise InvalidArgument(f"组织机关“{organizer}”太短：请至少写两个字")
        filters.append(node)
    if region:
        r = str(region).strip()
        if not re.fullmatch(r"\d{2,6}", r):
            raise InvalidArgument(f"行政区划代码“{region}”无效：应为 2 到 6 位数字，如 360400（九江市）")
        while len(r) > 2 and r.endswith("00"):
            r = r[:-2]
        filters.append(Term("regions", r))
    if outcome:
        from pipeline.case.contract import OUTCOME_LABELS, Outcome
        labels = {label: o.value for o, label in OUTCOME_LABELS.items()}
        value = labels.get(outcome, outcome)
        if value not in {o.value for o in Outcome}:
            raise InvalidArgument(f"处理结果“{outcome}”无效：应为 " + "、".join(
                f"{o.value}（{OUTCOME_LABELS[o]}）" for o in Outcome))
        filters.append(Term("outcome", value))
    if date_from or date_to:
        lo, hi = _iso(date_from, "起始日期"), _iso(date_to, "截止日期")
        if lo and hi and lo > hi:
            raise InvalidArgument(f"起始日期 {lo} 晚于截止日期 {hi}")
        filters.append(DayRange(_day(lo), _day(hi)))
    return filters


def _day(iso: str | None) -> int | None:
    return int(iso.replace("-", "")) if iso else None


def _iso(value, label: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise InvalidArgument(f"{label}“{value}”无效：应为 YYYY-MM-DD，如 2025-07-15") from None


def plan(query: str = "", **filters) -> Plan:
    """The plan of a search: the terms AND-ed with the filters; no terms: the filtered cases, latest first."""
    nodes = filter_nodes(**filters)
    terms = split_query(query)
    scores: list[tuple[Node, int]] = []
    marks = []
    for t, quoted in terms:
        m, s, mk = term_plan(t, quoted)
        nodes.insert(len(marks), m)
        scores.extend(s)
        marks.append(mk)
    plain = [t for t, quoted in terms if not quoted]
    if len(plain) > 1 and len(plain) == len(terms):
        # terms typed apart still rank higher where they stand together, in the typed order
        joined = "".join(plain)
        together = _all_grams("ngram", joined)
        if together is not None:
            scores.append((together, EXACT * TYPED))
        together = query_pairs([w for t in plain for w in words(t)])
        if together:
            scores.append((_and(Term("pairs", p) for p in together), ADJACENT * TYPED))
    return Plan(match=_and(nodes) if nodes else None, scores=scores, ranked=bool(terms), marks=marks)
