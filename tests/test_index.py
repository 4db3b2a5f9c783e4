"""The full-text index on disk: the three example cases found by what an archivist would type.

Every test that touches an index runs on both engines (the `engine` fixture): same queries, same answers.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from archive_store.errors import ConfigurationError, IndexDamaged, InvalidArgument
from pipeline.case.findings import assess_procedure
from pipeline.case.intake import open_case
from pipeline.search import index
from pipeline.search.analysis import chinese_analyzer, variants, words

ROOT = Path(__file__).resolve().parent.parent
INSTITUTION, BUREAU, REFUSED = "JX-RZ-2025-017", "JX-RZ-2025-021", "GZ-RZ-2025-004"
BUREAU_NUMBER = "赣市监检约〔2025〕5号"     # the bureau example carries no number; the registry would give one


def _documents() -> list[index.IndexDocument]:
    docs = []
    for name in ("institution-onsite", "bureau-video", "refused-to-sign"):
        with open_case(ROOT / "examples" / name) as bundle:
            case = bundle.case
            p = case.interview.proceedings
            texts = {
                "约谈通知书": "\n".join(f for g in case.grounds for f in g.facts),
                "约谈记录": "\n".join([p.purpose_and_basis, p.issues_and_evidence, p.statement, p.opinions,
                                       *p.requirements, p.commitment]),
            }
            if name == "institution-onsite":
                texts["现场复查记录（扫描件）"] = "现场复查记录\n经现场复查，能力核查程序已修订，整改到位。"
            docs.append(index.document_for_case(
                case, case.notice.number or BUREAU_NUMBER, assess_procedure(case), texts,
                manifest_sha256=f"{len(docs):064x}"))
    return docs


@pytest.fixture(scope="module", params=index.ENGINES)
def engine(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def built(tmp_path_factory, engine) -> Path:
    folder = tmp_path_factory.mktemp(f"archive-{engine}") / "index"
    assert index.rebuild(folder, _documents(), engine=engine) == 3
    assert index.index_engine(folder) == engine
    return folder


def ids(results: index.SearchResults) -> list[str]:
    return [h.case_id for h in results.hits]


def test_document_for_case_takes_grounds_people_and_dates():
    doc = {d.case_id: d for d in _documents()}[INSTITUTION]
    assert doc.grounds == ("6.2", "6.3")
    assert "超出资质认定证书规定的检验检测能力范围" in doc.grounds_text      # 第六条第（三）项's wording
    assert "第六条第（二）项" in doc.grounds_text
    assert {"张建国", "赵丽", "刘志强", "陈静", "黄振华", "吴涛"} <= set(doc.people)
    assert doc.interview_on == date(2025, 7, 15) and doc.closed_on == date(2025, 9, 1)
    assert doc.region_code == "360000" and doc.target_kind == "institution"


def test_positions_run_in_order():
    tokens = [(t.text, t.pos) for t in chinese_analyzer()("张建国表示问题系检测人员未按作业指导书记录数据",
                                                          positions=True, mode="query")]
    assert [p for _, p in tokens] == list(range(len(tokens)))
    assert ("作业指导书", tokens[[t for t, _ in tokens].index("作业指导书")][1]) in tokens


def test_domain_words_stay_whole():
    assert "资质认定" in words("超出资质认定范围")
    assert "整改到位" in words("坚决按期整改到位")
    assert "授权签字人" in words("授权签字人钱进")


def test_synonyms_expand_abbreviations():
    assert "超出资质认定证书规定的检验检测能力范围" in variants("超范围")
    assert "数据、结果失实" in variants("数据不实")
    assert variants("CMA") == ["cma"]          # 资质认定 is in every notice: CMA must not turn into it
    assert variants("投诉举报") == ["投诉举报"]


def test_finds_by_a_facts_sub_phrase(built):
    r = index.search(built, "数据失实")
    assert ids(r) == [INSTITUTION]
    assert any("【数据失实】" in s for s in r.hits[0].snippets)
    assert ids(index.search(built, "尾气检测设备未检定")) == [REFUSED]
    assert ids(index.search(built, "完成率仅为46%")) == [BUREAU]


def test_abbreviation_finds_the_full_wording(built):
    r = index.search(built, "超范围")
    assert ids(r) == [INSTITUTION]
    assert any("【超出资质认定证书附表范围】" in s for s in r.hits[0].snippets)
    assert ids(index.search(built, "数据不实")) == [INSTITUTION]


def test_abbreviation_matches_text_that_never_says_it(tmp_path, engine):
    """Only the fact's own wording is indexed: 超范围 must come through the synonyms or not at all."""
    folder = tmp_path / "index"
    institution, bureau = _documents()[:2]
    index.index_cases(folder, engine=engine, docs=[
        replace(institution, content="超出资质认定证书附表范围出具建筑节能材料导热系数检验报告12份",
                grounds_text="", findings=""),
        replace(bureau, content="数据、结果失实的检验报告3份", grounds_text="", findings="")])
    assert ids(index.search(folder, "超范围")) == [INSTITUTION]
    assert ids(index.search(folder, "数据不实")) == [BUREAU]
    assert ids(index.search(folder, "超范围 导热系数")) == [INSTITUTION]
    assert index.search(folder, "超范围 数据不实").total == 0


def test_word_only_in_the_scan(built):
    r = index.search(built, "能力核查程序已修订")
    assert ids(r) == [INSTITUTION]
    # 整改到位 is in the scan of the institution case and in the bureau's commitment, nowhere else
    assert set(ids(index.search(built, "整改到位"))) == {INSTITUTION, BUREAU}


def test_notice_number_credit_code_and_person(built):
    assert ids(index.search(built, "赣市监检约〔2025〕3号")) == [INSTITUTION]
    assert ids(index.search(built, "〔2025〕12号")) == [REFUSED]
    assert ids(index.search(built, "赣市监检约[2025]5号")) == [BUREAU]
    assert ids(index.search(built, "91360100MA35K2Q74M")) == [INSTITUTION]
    assert ids(index.search(built, "91360500ma39r8h16n")) == [REFUSED]
    assert ids(index.search(built, "张建国")) == [INSTITUTION]
    assert ids(index.search(built, "冯丹")) == [BUREAU]          # an attendee named nowhere in the texts
    assert ids(index.search(built, BUREAU)) == [BUREAU]


def test_hit_carries_the_catalog_keys(built):
    hit = index.search(built, "张建国").hits[0]
    assert (hit.notice_number, hit.target, hit.interview_on, hit.outcome) == (
        "赣市监检约〔2025〕3号", "江西赣信检测技术有限公司", date(2025, 7, 15), "completed")
    assert hit.score > 0
    assert index.search(built, "张建国", highlight="none").hits[0].snippets[0].count("【") == 0


def test_filters_narrow(built):
    assert ids(index.search(built, "", kind="bureau")) == [BUREAU]
    assert set(ids(index.search(built, "", kind="institution"))) == {INSTITUTION, REFUSED}
    assert ids(index.search(built, "", ground="6.3")) == [INSTITUTION]
    assert set(ids(index.search(built, "", ground="6"))) == {INSTITUTION, REFUSED}
    assert ids(index.search(built, "", outcome="administrative_penalty")) == [REFUSED]
    assert ids(index.search(built, "", outcome="通报批评")) == [BUREAU]
    assert ids(index.search(built, "", date_from="2025-08-01", date_to="2025-08-31")) == [BUREAU]
    assert ids(index.search(built, "", date_from=date(2025, 10, 9))) == [REFUSED]
    assert ids(index.search(built, "", region="360400")) == [BUREAU]
    assert len(ids(index.search(built, "", region="360000"))) == 3
    assert ids(index.search(built, "", organizer="赣州市")) == [REFUSED]
    # latest interview first when there is no query
    assert ids(index.search(built, "")) == [REFUSED, BUREAU, INSTITUTION]
    assert ids(index.search(built, "整改到位", kind="bureau")) == [BUREAU]


def test_a_filter_that_excludes_gives_nothing(built):
    assert index.search(built, "数据失实", kind="bureau").total == 0
    assert index.search(built, "超范围", ground="6.9").total == 0
    assert index.search(built, "张建国", date_to="2025-07-14").total == 0
    assert index.search(built, "", outcome="certificate_revoked").total == 0


def test_bad_filters_are_refused_in_chinese(built):
    with pytest.raises(InvalidArgument, match="约谈依据"):
        index.search(built, "", ground="第六条")
    with pytest.raises(InvalidArgument, match="YYYY-MM-DD"):
        index.search(built, "", date_from="2025/07/01")
    with pytest.raises(InvalidArgument, match="处理结果"):
        index.search(built, "", outcome="罚款")
    with pytest.raises(InvalidArgument, match="约谈对象类别"):
        index.search(built, "", kind="company")


def test_phrase_query_needs_the_words_in_order(built):
    assert ids(index.search(built, '"作业指导书 记录数据"')) == [INSTITUTION]
    assert index.search(built, '"记录数据 作业指导书"').total == 0
    # the same through the engine directly, on the word field alone: positions must be a running count
    from pipeline.search.query import Phrase, Plan
    engine = index.open_index(built)
    assert engine.search(Plan(match=Phrase("content", ("作业指导书", "记录", "数据"))), limit=5).total == 1
    assert engine.search(Plan(match=Phrase("content", ("记录", "作业指导书", "数据"))), limit=5).total == 0


def test_index_case_replaces_and_remove_case_removes(tmp_path, engine):
    folder = tmp_path / "index"
    docs = _documents()
    for doc in docs:
        index.index_case(folder, doc, engine=engine)
    assert index.index_engine(folder) == engine
    assert set(index.indexed_case_ids(folder)) == {INSTITUTION, BUREAU, REFUSED}
    newer = replace(docs[0], version=2, manifest_sha256="f" * 64, content=docs[0].content + "\n补充材料：留样记录齐全")
    index.index_case(folder, newer)
    assert index.indexed_case_ids(folder)[INSTITUTION] == "f" * 64
    assert index.search(folder, "", limit=50).total == 3
    assert ids(index.search(folder, "留样记录齐全")) == [INSTITUTION]
    assert index.remove_case(folder, INSTITUTION) == 1
    assert set(index.indexed_case_ids(folder)) == {BUREAU, REFUSED}
    assert index.search(folder, "张建国").total == 0
    assert index.search(folder, "91360100MA35K2Q74M").total == 0


def test_index_cases_batches(tmp_path, engine):
    folder = tmp_path / "index"
    assert index.index_cases(folder, _documents(), engine=engine) == 3
    assert index.index_cases(folder, _documents()[:1]) == 1
    assert len(index.indexed_case_ids(folder)) == 3


def test_ties_are_ranked_by_the_latest_interview_then_the_case_id_across_pages(tmp_path, engine):
    """Many cases scoring alike (a word every one contains): each page is the next ones by date, then case id,
    past the engine's first fetch window; cases that score more still come first."""
    base = _documents()[0]
    docs = [replace(base, case_id=f"TIE-{n:03d}", interview_on=date(2021, 1, 1) + timedelta(days=n * 37 % 211),
                    manifest_sha256=f"{n:064x}") for n in range(300)]
    docs.append(replace(base, case_id="TIE-MORE", interview_on=date(2020, 1, 1), manifest_sha256="f" * 64,
                        target="南昌能力核查技术有限公司"))
    folder = tmp_path / "index"
    index.rebuild(folder, docs, engine=engine)
    expected = [d.case_id for d in sorted(docs[:-1], key=lambda d: (-d.interview_on.toordinal(), d.case_id))]
    first = index.search(folder, "能力核查", limit=10)
    assert first.total == 301 and ids(first)[0] == "TIE-MORE"
    assert ids(first)[1:] == expected[:9]
    assert ids(index.search(folder, "能力核查", limit=10, offset=150)) == expected[149:159]
    assert ids(index.search(folder, "能力核查", limit=5, offset=296)) == expected[295:300]
    assert ids(index.search(folder, "", limit=10, offset=100)) == [
        d.case_id for d in sorted(docs, key=lambda d: (-d.interview_on.toordinal(), d.case_id))][100:110]


def test_an_index_of_an_earlier_engine_format_asks_for_reindex(tmp_path, engine):
    folder = tmp_path / "index"
    index.rebuild(folder, _documents()[:1], engine=engine)
    marker = folder / index.MARKER
    info = json.loads(marker.read_text(encoding="utf-8"))
    info["engine_format"] = index.ENGINE_FORMATS[engine] - 1
    marker.write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(ConfigurationError, match="由其他版本建立.*yuetan reindex"):
        index.search(folder, "能力核查")


def test_rebuild_swaps_and_a_failed_rebuild_keeps_the_old_index(tmp_path, engine):
    folder = tmp_path / "index"
    docs = _documents()
    index.rebuild(folder, docs[:2], engine=engine)
    assert set(index.indexed_case_ids(folder)) == {INSTITUTION, BUREAU}

    def broken():
        yield docs[2]
        raise RuntimeError("store unreadable midway")

    with pytest.raises(RuntimeError):
        index.rebuild(folder, broken(), jobs=1)
    assert set(index.indexed_case_ids(folder)) == {INSTITUTION, BUREAU}
    assert ids(index.search(folder, "张建国")) == [INSTITUTION]
    assert not (tmp_path / "index.new").exists()

    inode = os.stat(folder).st_ino
    assert index.rebuild(folder, docs[1:]) == 2            # the engine that is there
    assert index.index_engine(folder) == engine
    assert set(index.indexed_case_ids(folder)) == {BUREAU, REFUSED}
    assert os.stat(folder).st_ino != inode                 # a new folder was swapped in
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("index") and p.is_dir()] == ["index"]
    assert ids(index.search(folder, "宏达")) == [REFUSED]


def test_missing_index_searches_empty(tmp_path):
    assert index.search(tmp_path / "none", "张建国").total == 0
    assert index.indexed_case_ids(tmp_path / "none") == {}


def _run(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TMPDIR": os.environ.get("TMPDIR", "/tmp")})


def test_search_prints_nothing_of_jieba(built):
    """jieba's "Building prefix dict" lines must not reach the terminal of a CLI."""
    done = _run("import sys; from pipeline.search.index import search; r = search(sys.argv[1], '超范围'); "
                "assert r.total == 1, r", str(built))
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")


WRITER = """
import sys
from dataclasses import replace
sys.path.insert(0, "tests")
from test_index import _documents
from pipeline.search import index
folder, tag, engine = sys.argv[1], sys.argv[2], sys.argv[3]
for doc in _documents():
    index.index_case(folder, replace(doc, case_id=f"{doc.case_id}-{tag}"), engine=engine)
"""


def test_two_processes_write_one_index(tmp_path, engine):
    """ingest -j 2 in two processes: writers wait for each other's lock and every case ends up indexed."""
    folder = tmp_path / "index"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(folder), tag, engine], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for tag in "ab"]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert set(index.indexed_case_ids(folder)) == {f"{c}-{t}" for c in (INSTITUTION, BUREAU, REFUSED) for t in "ab"}
    assert index.search(folder, "张建国").total == 2


def test_a_search_sees_what_another_process_committed_at_once(tmp_path, engine):
    """A web worker keeps its index open: a case another process (ingest) has just indexed is found by the next
    search, not a reload delay later."""
    folder = tmp_path / "index"
    index.rebuild(folder, _documents(), engine=engine)
    assert index.search(folder, "张建国").total == 1
    writer = subprocess.run([sys.executable, "-c", WRITER, str(folder), "x", engine], cwd=ROOT,
                            capture_output=True, text=True, timeout=300, check=False)
    assert writer.returncode == 0, writer.stderr
    assert index.search(folder, "张建国").total == 2


def test_an_index_of_another_version_asks_for_reindex(tmp_path):
    from whoosh import index as whoosh_index
    from whoosh.fields import ID, Schema

    folder = tmp_path / "index"
    folder.mkdir()
    whoosh_index.create_in(str(folder), Schema(case_id=ID(stored=True))).close()   # an older yuetan's index
    with pytest.raises(ConfigurationError, match="yuetan reindex"):
        index.search(folder, "张建国")
    with pytest.raises(ConfigurationError, match="yuetan reindex"):
        index.index_case(folder, _documents()[0])
    assert index.rebuild(folder, _documents()) == 3
    assert ids(index.search(folder, "张建国")) == [INSTITUTION]


def test_garbage_index_files_ask_for_reindex(tmp_path, engine):
    folder = tmp_path / "index"
    index.rebuild(folder, _documents(), engine=engine)
    for p in folder.iterdir():
        if p.name != index.MARKER and p.is_file():
            p.write_bytes(b"not an index")
    index._forget(folder)
    with pytest.raises(IndexDamaged, match="yuetan reindex"):      # exit status 7: the archive's own state
        index.search(folder, "张建国")
    (folder / index.MARKER).write_text("{", encoding="utf-8")
    with pytest.raises(IndexDamaged, match=index.MARKER):
        index.search(folder, "张建国")
    assert index.rebuild(folder, _documents(), engine=engine) == 3
    assert ids(index.search(folder, "张建国")) == [INSTITUTION]


def test_texts_as_pairs_keep_documents_that_share_a_title():
    with open_case(ROOT / "examples" / "bureau-video") as bundle:
        doc = index.document_for_case(bundle.case, BUREAU_NUMBER, [], [("扫描件", "第一页 整改到位"),
                                                                         ("扫描件", "第二页 书面审查")],
                                      manifest_sha256="0" * 64)
    assert "整改到位" in doc.content and "书面审查" in doc.content


# --- the kinds of query that found nothing before, each with its ranking ------------------------------------

def _corpus(folder: Path, engine: str, contents: dict[str, dict]) -> None:
    """Cases made from the institution example, each with its own id, date and the given fields."""
    base = _documents()[0]
    docs = []
    for n, (case_id, fields) in enumerate(contents.items()):
        defaults = dict(case_id=case_id, target=f"江西第{n}检测有限公司", grounds_text="", findings="", content="",
                        people=(), credit_code=None, identifiers=(), interview_on=date(2025, 1, 1 + n),
                        notice_number=f"赣市监检约〔2025〕{100 + n}号", manifest_sha256=f"{n:064x}")
        docs.append(replace(base, **{**defaults, **fields}))
    index.rebuild(folder, docs, engine=engine, jobs=1)


def test_words_written_together_find_them_apart_ranked_exact_then_adjacent_then_apart(tmp_path, engine):
    folder = tmp_path / "index"
    _corpus(folder, engine, {
        "APART": {"content": "样品管理混乱，部分留存不足，相关记录缺失", "interview_on": date(2025, 3, 1)},
        "ADJACENT": {"content": "检查发现样品的留存记录不全", "interview_on": date(2025, 2, 1)},
        "EXACT": {"content": "样品留存记录不全", "interview_on": date(2025, 1, 1)},
        "NONE": {"content": "留存记录齐全"},
    })
    r = index.search(folder, "样品留存记录")
    assert ids(r) == ["EXACT", "ADJACENT", "APART"]                # not by date: by how the words stand
    assert r.hits[0].score > r.hits[1].score > r.hits[2].score
    assert ids(index.search(folder, "样品 留存记录")) == ["EXACT", "ADJACENT", "APART"]
    assert ids(index.search(folder, '"样品留存记录"')) == ["EXACT"]          # quoted: exactly as typed


def test_compound_query_over_a_longer_phrase(built):
    assert ids(index.search(built, "混凝土报告")) == [INSTITUTION]          # 混凝土抗压强度检验报告
    assert ids(index.search(built, "尾气检测设备未检定")) == [REFUSED]


def test_shorthand_for_a_ground_finds_the_cases_on_it(tmp_path, engine, built):
    assert ids(index.search(built, "监督抽查违规"))[0] == REFUSED        # 第六条第（八）项
    assert ids(index.search(built, "程序违规敷衍"))[0] == BUREAU         # 第七条第（三）项
    folder = tmp_path / "index"
    on_ground = "第六条第（一）项 " + index.GROUND_TEXTS[(6, 1)]
    _corpus(folder, engine, {
        "BODY": {"content": "样品台账不全，计量溯源计划未执行", "interview_on": date(2025, 6, 1)},
        "GROUND": {"grounds": ("6.1",), "grounds_text": on_ground, "interview_on": date(2025, 1, 1)},
        "OTHER": {"grounds": ("6.2",), "grounds_text": "第六条第（二）项 " + index.GROUND_TEXTS[(6, 2)]},
    })
    assert ids(index.search(folder, "样品溯源")) == ["GROUND", "BODY"]


def test_part_of_a_name_and_a_single_character(tmp_path, engine):
    folder = tmp_path / "index"
    _corpus(folder, engine, {
        "BOYUAN": {"target": "瑞昌市博远环境检测有限公司", "interview_on": date(2024, 1, 1)},
        "MENTION": {"content": "博远公司的检测报告由本机构复核", "interview_on": date(2025, 5, 1)},
        "QIAN": {"people": ("钱进",), "content": "授权签字人未到场"},
        "ELSE": {"target": "江西远博环境科技有限公司"},
    })
    assert ids(index.search(folder, "博远检测")) == ["BOYUAN", "MENTION"]       # the name first
    assert ids(index.search(folder, "博远环境")) == ["BOYUAN"]
    assert ids(index.search(folder, "钱")) == ["QIAN"]                          # the surname alone
    assert set(ids(index.search(folder, "远"))) == {"BOYUAN", "MENTION", "ELSE"}


def test_tantivy_reads_2_gram_positions_only_where_the_words_did_not_match(tmp_path, monkeypatch):
    """The shortcut (the phrase checked only on the cases the word fields left out, named by key) answers what
    the plain phrase query answers, with the same ranks, scores and facets."""
    from pipeline.search import tantivy_engine
    folder = tmp_path / "index"
    _corpus(folder, "tantivy", {
        "BOYUAN": {"target": "瑞昌市博远环境检测有限公司", "interview_on": date(2024, 1, 1)},
        "MENTION": {"content": "博远公司的检测报告由本机构复核", "interview_on": date(2025, 5, 1)},
        "WORDS": {"content": "检测报告与原始记录不一致，整改到位", "interview_on": date(2025, 6, 1)},
        "SPLIT": {"content": "原始记录的整改到位情况另行报告", "interview_on": date(2025, 4, 1)},
        "ELSE": {"target": "江西远博环境科技有限公司"},
        "CUT": {"content": "本机构检测报告书编号有误", "interview_on": date(2023, 1, 1)},
    })
    queries = ["博远检测", "博远环境", "整改到位", "原始记录", "检测报告", "远博"]

    def answers():
        found = []
        for q in queries:
            r = index.search(folder, q)
            found.append((ids(r), [h.score for h in r.hits], r.total, r.facets))
        return found

    shortcut = answers()
    assert shortcut[0][0] == ["BOYUAN", "MENTION"] and shortcut[1][0] == ["BOYUAN"]
    assert shortcut[4][0] == ["WORDS", "MENTION", "CUT"]     # 检测/报告书: found by its 2-grams alone
    monkeypatch.setattr(tantivy_engine, "PHRASE_CHECK_LIMIT", 0)      # every phrase read as a phrase query
    monkeypatch.setattr(tantivy_engine, "FACETS_ASIDE", False)
    assert answers() == shortcut


def test_every_identifier_finds_its_case_exactly(built):
    for key in ["91360100MA35K2Q74M", "231412340567", "赣市监检约〔2025〕3号", "赣市监检约(2025)3号",
                "赣市监检约【2025】03号", "赣市监检约[2025]3", "〔2025〕3号", "JX-RZ-2025-017", "jx-rz-2025-017",
                "GX-2025-0312", "GX20250312", "13907910001"]:
        assert ids(index.search(built, key)) == [INSTITUTION], key
    assert ids(index.search(built, "0792-8226001")) == [BUREAU]
    assert ids(index.search(built, "13970700088")) == [REFUSED]
    # the organizer's phone is in two cases: both, and only those
    assert set(ids(index.search(built, "0791-86358120"))) == {INSTITUTION, BUREAU}
    assert set(ids(index.search(built, "86358120"))) == {INSTITUTION, BUREAU}


def test_a_synonym_does_not_swallow_the_query(tmp_path, engine):
    folder = tmp_path / "index"
    _corpus(folder, engine, {
        "STAMP": {"content": "在资质认定能力范围外出具水质检测报告并加盖CMA标志"},
        "PLAIN1": {"content": "资质认定证书附表未更新"},
        "PLAIN2": {"content": "已办理资质认定变更手续"},
    })
    assert ids(index.search(folder, "CMA")) == ["STAMP"]
    assert ids(index.search(folder, "cma 标志")) == ["STAMP"]


def test_the_name_of_the_case_ranks_above_its_body(tmp_path, engine):
    folder = tmp_path / "index"
    _corpus(folder, engine, {
        "BODY": {"content": "宏达公司提供的检测报告有误", "interview_on": date(2025, 9, 1)},
        "TARGET": {"target": "江西宏达检测有限公司", "interview_on": date(2024, 1, 1)},
    })
    assert ids(index.search(folder, "宏达")) == ["TARGET", "BODY"]


def test_facets_count_every_match_for_the_query_and_filters(built):
    r = index.search(built, "", limit=1)
    assert r.total == 3 and len(r.hits) == 1
    assert r.facets["kind"] == {"institution": 2, "bureau": 1}
    assert r.facets["ground"] == {"6.2": 1, "6.3": 1, "6.8": 1, "6.9": 1, "7.2": 1, "7.3": 1}
    assert r.facets["region"] == {"360000": 1, "360400": 1, "360700": 1}
    assert r.facets["year"] == {"2025": 3}
    assert r.facets["outcome"] == {"completed": 1, "circulated_criticism": 1, "administrative_penalty": 1}
    r = index.search(built, "整改到位", kind="institution")
    assert r.facets["kind"] == {"institution": 1} and r.facets["outcome"] == {"completed": 1}
    assert index.search(built, "数据失实", kind="bureau").facets["kind"] == {}


def test_paging_with_offset(built):
    everything = ids(index.search(built, "", limit=10))
    assert [ids(index.search(built, "", limit=1, offset=i))[0] for i in range(3)] == everything
    page = index.search(built, "", limit=2, offset=2)
    assert page.total == 3 and ids(page) == everything[2:]
    with pytest.raises(InvalidArgument, match="起始位置"):
        index.search(built, "", offset=-1)


def test_both_engines_answer_alike(tmp_path):
    """The same documents in both engines: the same cases, order, points and facets for every query."""
    folders = {}
    for name in index.ENGINES:
        folders[name] = tmp_path / name
        index.rebuild(folders[name], _documents(), engine=name, jobs=1)
    for q in ["数据失实", "整改", "超范围", "报告", "王", "检测 报告", "", '"原始记录"', "约谈 2025"]:
        answers = [index.search(f, q, limit=3) for f in folders.values()]
        assert answers[0].as_dict() == answers[1].as_dict(), q


def test_a_search_reads_the_same_dictionary_from_sqlite(tmp_path):
    """Query words come from the dictionary in SQLite (a command starts without loading jieba's), the same."""
    from pipeline.search import analysis
    path = str(tmp_path / "freq.sqlite")
    analysis._write_freq_file(analysis.segmenter(), path)
    fast = analysis._sqlite_tokenizer(path)
    assert isinstance(fast.FREQ, analysis._SqliteFreq)
    for text in ["超出资质认定证书规定的检验检测能力范围", "瑞昌市博远环境检测有限公司", "样品的留存记录",
                 "张建国表示问题系检测人员未按作业指导书记录数据", "机动车排放检验数据与监控视频记录不符12次"]:
        assert list(fast.tokenize(text)) == list(analysis.segmenter().tokenize(text)), text
    (tmp_path / "broken.sqlite").write_bytes(b"not sqlite")
    assert analysis._sqlite_tokenizer(str(tmp_path / "broken.sqlite")) is None


def test_whoosh_rebuild_in_several_segments_answers_the_same(tmp_path, monkeypatch):
    from pipeline.search import whoosh_engine
    one = tmp_path / "one"
    index.rebuild(one, _documents(), engine="whoosh", jobs=1)
    monkeypatch.setattr(whoosh_engine, "BULK_SEGMENT", 1)
    many = tmp_path / "many"
    index.rebuild(many, _documents(), engine="whoosh", jobs=1)
    assert len(index.open_index(many).searcher().leaf_searchers()) == 3
    for q in ["数据失实", "整改", "王", "", '"原始记录"', "91360100MA35K2Q74M"]:
        assert index.search(one, q).as_dict() == index.search(many, q).as_dict(), q
    index.remove_case(many, INSTITUTION)
    assert set(index.indexed_case_ids(many)) == {BUREAU, REFUSED}
    assert index.search(many, "张建国").total == 0


def test_dictionary_cache_outlives_a_command(tmp_path, monkeypatch):
    """jieba's dictionary files are made once per machine: a command's own scratch folder (removed when it ends)
    must not hold them, else every `yuetan search` loads the whole dictionary again (seconds, not milliseconds)."""
    import tempfile

    from archive_store import scratch
    from pipeline.search import analysis

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with scratch.session() as own:
        assert Path(analysis._freq_file()).parent == tmp_path
        assert not Path(analysis._freq_file()).is_relative_to(own)
        assert scratch.shared_tempdir() == str(tmp_path)
    assert scratch.shared_tempdir() == str(tmp_path)


def test_whoosh_column_files_are_written_with_their_segment_and_leave_with_it(tmp_path, monkeypatch):
    """Each Whoosh segment's columns (date, case id, facet values) are decoded when it is committed and kept
    beside it; a new searcher (a new command) loads that file and answers the same, writing nothing; a segment
    merged away takes its file along; without a file, or with one that is not its segment's, the columns are
    decoded again and the answer is the same."""
    from pipeline.search import whoosh_engine
    monkeypatch.setattr(whoosh_engine, "BULK_SEGMENT", 1)
    folder = tmp_path / "index"
    index.rebuild(folder, _documents(), engine="whoosh", jobs=1)

    def fresh(q: str = "", **filters) -> dict:
        index._open.pop(os.path.realpath(folder), None)         # a new process: no warm searcher
        return index.search(folder, q, **filters).as_dict()

    def column_files() -> dict[str, int]:
        return {p.name: p.stat().st_mtime_ns for p in folder.glob(f"*{whoosh_engine.COLUMN_FILE}")}

    written = column_files()
    assert len(written) == 3
    first = fresh()
    assert first["total"] == 3 and first["facets"]["kind"] == {"institution": 2, "bureau": 1}
    assert fresh("整改", kind="institution") == index.search(folder, "整改", kind="institution").as_dict()
    assert column_files() == written                             # loaded, never written by a search

    a_file = folder / sorted(written)[0]
    a_file.write_text('{"documents": 99, "columns": {}}', encoding="utf-8")       # not this segment's
    assert fresh() == first
    for name in written:
        (folder / name).unlink()
    assert fresh() == first and column_files() == {}

    newer = replace(_documents()[0], version=2, manifest_sha256="f" * 64, content="补充材料：留样记录齐全")
    index.index_case(folder, newer)                              # a new segment; Whoosh merges the small ones
    live = {s.segment_id() for s in index.open_index(folder).ix._segments()}
    assert {name.split(".")[0] for name in column_files()} == live
    assert [h["case_id"] for h in fresh("留样记录齐全")["hits"]] == [INSTITUTION]
    after = fresh()
    assert after["total"] == 3 and after["facets"] == first["facets"]
    index.remove_case(folder, INSTITUTION)
    assert fresh()["facets"]["kind"] == {"institution": 1, "bureau": 1}
    live = {s.segment_id() for s in index.open_index(folder).ix._segments()}
    assert {name.split(".")[0] for name in column_files()} == live


def test_jiebas_hmm_loads_only_when_a_cut_needs_it():
    """A search command does not load jieba's HMM tables (a tenth of a second) unless its query has a run of
    characters the dictionary does not know; the words are the same either way."""
    code = """
import json, sys
from pipeline.search import analysis
tk = analysis.query_segmenter()
states = [type(sys.modules["jieba.finalseg"]).__name__]
known = list(tk.cut("数据失实"))
states.append(type(sys.modules["jieba.finalseg"]).__name__)
unknown = list(tk.cut("瑞昌市博远环境检测有限公司张建国表示"))
states.append(type(sys.modules["jieba.finalseg"]).__name__)
print(json.dumps({"states": states, "known": known, "unknown": unknown}, ensure_ascii=False))
"""
    import json
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    answer = json.loads(run.stdout)
    assert answer["states"] == ["_HmmOnFirstUse", "_HmmOnFirstUse", "module"]
    tk = __import__("pipeline.search.analysis", fromlist=["segmenter"]).segmenter()
    assert answer["known"] == list(tk.cut("数据失实"))
    assert answer["unknown"] == list(tk.cut("瑞昌市博远环境检测有限公司张建国表示"))
    assert "张建国" in answer["unknown"]                 # a name only the HMM puts together
