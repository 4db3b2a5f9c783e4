"""检索's facets and paging through the test client, on 23 cases of this module's own (one organizer no other test
uses, so the counts are known whatever else the shared archive holds): each facet (kind, ground item, region,
year, outcome; a city's region count takes in its counties) shows its count for the query and filters; each count is a link that keeps the query in the URL
and, followed, gives exactly that many cases, and undoes itself once applied; pages follow one stable order
(points, then the latest interview, then the case id: many of these cases tie on the first two) with no case twice or missing."""
from __future__ import annotations

import html as html_lib
import re
from collections import Counter
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from pipeline.web.labels import KIND_LABELS, OUTCOMES, ground_text, region_label

ORGANIZER = "上饶分面测试市场监督管理局"
QUERY = {"q": "数据失实", "organizer": "分面测试"}
DAYS = {0: date(2024, 4, 1), 1: date(2023, 3, 1), 2: date(2022, 5, 2)}     # three dates, many ties on each


def spec(i: int) -> dict:
    bureau = i % 5 == 0
    return {"case_id": f"FAC-{i:02d}", "kind": "bureau" if bureau else "institution",
            "grounds": [(7, 2)] if bureau else [(6, 2) if i % 2 else (6, 3)],
            "region": "361100" if i % 3 else "361121",
            "outcome": "circulated_criticism" if bureau else ("completed" if i % 4 else "administrative_penalty"),
            "interview_on": DAYS[i % 3]}


SPECS = [spec(i) for i in range(1, 24)]


@pytest.fixture(scope="module")
def faceted(web_home) -> list[dict]:
    from tests.stored_cases import store_case

    with web_home.catalog() as catalog:
        missing = [s for s in SPECS if catalog.current(s["case_id"]) is None]
    for s in missing:
        store_case(web_home, s["case_id"], s["interview_on"] + timedelta(days=30), organizer=ORGANIZER,
                   region_code=s["region"], kind=s["kind"], grounds=s["grounds"], outcome=s["outcome"],
                   interview_on=s["interview_on"])
    return SPECS


def expected_facets(specs: list[dict]) -> dict[str, Counter]:
    return {"约谈对象": Counter(KIND_LABELS[s["kind"]] for s in specs),
            "约谈事由": Counter(ground_text(f"{a}.{i}") for s in specs for a, i in s["grounds"]),
            # a city's count takes in its counties: what its link (region=361100, a prefix filter) finds
            "行政区划": Counter({region_label(code): sum(1 for s in specs if s["region"].startswith(code.rstrip("0")))
                             for code in {s["region"] for s in specs}}),
            "年度": Counter(f"{s['interview_on'].year} 年" for s in specs),
            "处理结果": Counter(OUTCOMES[s["outcome"]] for s in specs)}


FACET_BLOCK = re.compile(r"<h3>([^<]+)</h3>\s*<ul>(.*?)</ul>", re.S)
FACET_ROW = re.compile(r'<li( class="on")?><a href="([^"]+)"><span>([^<]+)</span><span class="badge">(\d+)</span></a></li>')


def shown_facets(page: str) -> dict[str, dict[str, tuple[int, str, bool]]]:
    """facet title → label → (count, link, applied), as the page shows them."""
    aside = page[page.index('<aside class="facets">'):page.index("</aside>")]
    return {title: {html_lib.unescape(label): (int(count), html_lib.unescape(url), bool(on))
                    for on, url, label, count in FACET_ROW.findall(rows)}
            for title, rows in FACET_BLOCK.findall(aside)}


def hit_ids(page: str) -> list[str]:
    return re.findall(r'<h3><a href="/cases/([^/]+)/">', page)


def total(page: str) -> int:
    return int(re.search(r"共找到 <strong>(\d+)</strong> 件", page).group(1))


def test_facets_show_counts_as_links_that_keep_the_query(faceted, client_for):
    client = client_for("rea")
    page = client.get("/search/", QUERY).content.decode()
    assert total(page) == len(faceted)
    shown = shown_facets(page)
    expected = expected_facets(faceted)
    assert set(shown) == set(expected)
    for title, counts in expected.items():
        assert {label: count for label, (count, _, _) in shown[title].items()} == dict(counts), title

    for title, rows in shown.items():
        for label, (count, url, on) in rows.items():
            assert not on
            params = parse_qs(urlsplit(url).query)
            assert params["q"] == ["数据失实"] and params["organizer"] == ["分面测试"] and "page" not in params
            narrowed = client.get("/search/" + url).content.decode()
            assert total(narrowed) == count, (title, label, url)
            again = shown_facets(narrowed)[title][label]
            assert again[0] == count and again[2]                      # now applied, marked on
            undo = parse_qs(urlsplit(again[1]).query)
            assert undo["q"] == ["数据失实"] and not set(undo) - {"q", "organizer"}     # the link removes it


def test_filters_narrow_the_facets_too(faceted, client_for):
    page = client_for("rea").get("/search/", {**QUERY, "kind": "bureau"}).content.decode()
    bureaus = [s for s in faceted if s["kind"] == "bureau"]
    assert total(page) == len(bureaus) == 4
    shown = shown_facets(page)
    assert {label: c for label, (c, _, _) in shown["处理结果"].items()} == {OUTCOMES["circulated_criticism"]: 4}
    assert shown["约谈对象"][KIND_LABELS["bureau"]][2]


def test_pages_follow_one_stable_order(faceted, client_for):
    client = client_for("rea")
    everything = client.get("/api/search", {**QUERY, "limit": 100}).json()["hits"]
    ranked = sorted(everything, key=lambda h: (-h["score"], -date.fromisoformat(h["interview_on"]).toordinal(),
                                               h["case_id"]))
    assert everything == ranked                       # points, then the latest interview, then the case id
    ties = Counter((h["score"], h["interview_on"]) for h in everything)
    assert max(ties.values()) >= 3 and len(ties) >= 4  # many cases share points and day: the order must settle them
    expected = [h["case_id"] for h in everything]
    assert sorted(expected) == sorted(s["case_id"] for s in faceted)
    first = client.get("/search/", QUERY).content.decode()
    assert hit_ids(first) == expected[:20] and "第 1 / 2 页" in first
    next_url = html_lib.unescape(re.search(r'<a class="button secondary" href="([^"]+)">下一页</a>', first).group(1))
    params = parse_qs(urlsplit(next_url).query)
    assert params["page"] == ["2"] and params["q"] == ["数据失实"] and params["organizer"] == ["分面测试"]
    second = client.get("/search/" + next_url).content.decode()
    assert hit_ids(second) == expected[20:] and "第 21–23 件" in second and "上一页" in second
    assert sorted(hit_ids(first) + hit_ids(second)) == sorted(expected)          # none twice, none missing
    # the JSON API pages the same order in any page size, and asking again gives the same pages
    for size in (3, 7):
        pages = [client.get("/api/search", {**QUERY, "limit": size, "page": n}).json()
                 for n in range(1, -(-len(expected) // size) + 1)]
        assert [h["case_id"] for p in pages for h in p["hits"]] == expected, size
        assert {p["total"] for p in pages} == {len(expected)}
    assert hit_ids(client.get("/search/", QUERY).content.decode()) == expected[:20]

