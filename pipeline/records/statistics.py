"""Statistics over the current cases: how many interviews by year, organizer, region, ground item, outcome and
kind, and the procedure findings by article and by organizer (the 统计 page, `yuetan statistics`)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from archive_store.home import ArchiveHome
from pipeline.case.contract import OUTCOME_LABELS, Outcome
from pipeline.records.credit import ground_label

KIND_LABELS = {"institution": "检验检测机构", "bureau": "下级市场监管部门"}
# Jiangxi's province and prefecture-level divisions (GB/T 2260); counties are counted under their prefecture.
REGION_NAMES = {"360000": "江西省", "360100": "南昌市", "360200": "景德镇市", "360300": "萍乡市", "360400": "九江市",
                "360500": "新余市", "360600": "鹰潭市", "360700": "赣州市", "360800": "吉安市", "360900": "宜春市",
                "361000": "抚州市", "361100": "上饶市"}
ARTICLE_ORDER = "一二三四五六七八九十"


@dataclass(frozen=True)
class Count:
    key: str
    label: str
    count: int


@dataclass
class Statistics:
    cases: int = 0
    by_year: list[Count] = field(default_factory=list)
    by_organizer: list[Count] = field(default_factory=list)
    by_region: list[Count] = field(default_factory=list)
    by_ground: list[Count] = field(default_factory=list)
    by_outcome: list[Count] = field(default_factory=list)
    by_kind: list[Count] = field(default_factory=list)
    findings: int = 0
    findings_by_article: list[Count] = field(default_factory=list)
    findings_by_organizer: list[Count] = field(default_factory=list)


def archive_statistics(home: ArchiveHome) -> Statistics:
    with home.catalog() as catalog:
        cases = catalog.all_cases(status="current")
        findings = catalog.current_findings()
    organizer_of = {r.case_id: r.organizer for r in cases}
    grounds = Counter(g for r in cases for g in r.grounds)
    return Statistics(
        cases=len(cases),
        by_year=_counts(Counter(str(r.interview_on.year) for r in cases), order="key"),
        by_organizer=_counts(Counter(r.organizer for r in cases)),
        by_region=_counts(Counter(prefecture(r.region_code) for r in cases), label=region_label),
        by_ground=_counts(grounds, label=ground_label, order=_ground_key),
        by_outcome=_counts(Counter(r.outcome for r in cases), label=outcome_label),
        by_kind=_counts(Counter(r.target_kind for r in cases), label=lambda k: KIND_LABELS.get(k, k)),
        findings=len(findings),
        findings_by_article=_counts(Counter(article for _, article, _ in findings), order=_article_key),
        findings_by_organizer=_counts(Counter(organizer_of[case_id] for case_id, _, _ in findings)))


def prefecture(region_code: str) -> str:
    """A county's code counts under its prefecture (360702 → 360700); province and prefecture codes stay."""
    code = (region_code or "").strip()
    return code[:4] + "00" if len(code) == 6 and code.isdigit() else code


def region_label(code: str) -> str:
    return REGION_NAMES.get(code, code)


def outcome_label(outcome: str) -> str:
    try:
        return OUTCOME_LABELS[Outcome(outcome)]
    except ValueError:
        return outcome


def _counts(counter: Counter, *, label=lambda key: key, order=None) -> list[Count]:
    """Largest first (ties by key), or in the order `order` gives ("key": by the key itself)."""
    if order == "key":
        keys = sorted(counter)
    elif order is not None:
        keys = sorted(counter, key=order)
    else:
        keys = sorted(counter, key=lambda k: (-counter[k], k))
    return [Count(key=k, label=label(k), count=counter[k]) for k in keys]


def _ground_key(ground: str) -> tuple[int, int]:
    article, _, item = ground.partition(".")
    return int(article) if article.isdigit() else 99, int(item) if item.isdigit() else 0


def _article_key(article: str) -> tuple[int, str]:
    """第九条 before 第十三条: by the article's number, written in Chinese numerals."""
    numeral = article.removeprefix("第").removesuffix("条")
    value = 0
    if numeral and all(c in ARTICLE_ORDER for c in numeral):
        tens, _, units = numeral.rpartition("十")
        if "十" in numeral:
            value = (ARTICLE_ORDER.index(tens) + 1 if tens else 1) * 10 + (ARTICLE_ORDER.index(units) + 1 if units else 0)
        else:
            value = ARTICLE_ORDER.index(numeral) + 1
    return (value or 999, article)


SHEETS = [("by_year", "按年度", "年度"), ("by_organizer", "按组织方", "约谈组织方"), ("by_region", "按地区", "地区"),
          ("by_ground", "按约谈事由", "约谈事由"), ("by_outcome", "按处理结果", "处理结果"), ("by_kind", "按约谈对象", "约谈对象"),
          ("findings_by_article", "程序核查发现按条款", "条款"),
          ("findings_by_organizer", "程序核查发现按组织方", "约谈组织方")]


def write_statistics_xlsx(stats: Statistics, path: Path) -> Path:
    """One sheet per count (label, count), written to a temporary name and renamed."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for attr, title, header in SHEETS:
        sheet = book.create_sheet(title)
        sheet.append([header, "件数" if not attr.startswith("findings") else "发现数"])
        for c in getattr(stats, attr):
            sheet.append([c.label, c.count])
        sheet.column_dimensions["A"].width = 40
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    book.save(tmp)
    tmp.replace(path)
    return path
