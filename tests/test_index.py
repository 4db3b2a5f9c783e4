"""The full-text index on disk: the three example cases found by what an archivist would type."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh import query as Q

from archive_store.errors import InvalidArgument
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


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("archive") / "index"
    assert index.rebuild(folder, _documents()) == 3
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
    assert "资质认定" in variants("CMA")
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


def test_abbreviation_matches_text_that_never_says_it(tmp_path):
    """Only the fact's own wording is indexed: 超范围 must come through the synonyms or not at all."""
    folder = tmp_path / "index"
    institution, bureau = _documents()[:2]
    index.index_cases(folder, [
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
    # the same through Whoosh directly, on the word field alone: positions must be a running count
    ix = whoosh_index.open_dir(str(built))
    with ix.searcher() as s:
        assert len(s.search(Q.Phrase("content", ["作业指导书", "记录", "数据"]))) == 1
        assert len(s.search(Q.Phrase("content", ["记录", "作业指导书", "数据"]))) == 0
    ix.close()


def test_index_case_replaces_and_remove_case_removes(tmp_path):
    folder = tmp_path / "index"
    docs = _documents()
    for doc in docs:
        index.index_case(folder, doc)
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


def test_index_cases_batches(tmp_path):
    folder = tmp_path / "index"
    assert index.index_cases(folder, _documents()) == 3
    assert index.index_cases(folder, _documents()[:1]) == 1
    assert len(index.indexed_case_ids(folder)) == 3


def test_rebuild_swaps_and_a_failed_rebuild_keeps_the_old_index(tmp_path):
    folder = tmp_path / "index"
    docs = _documents()
    index.rebuild(folder, docs[:2])
    assert set(index.indexed_case_ids(folder)) == {INSTITUTION, BUREAU}

    def broken():
        yield docs[2]
        raise RuntimeError("store unreadable midway")

    with pytest.raises(RuntimeError):
        index.rebuild(folder, broken())
    assert set(index.indexed_case_ids(folder)) == {INSTITUTION, BUREAU}
    assert ids(index.search(folder, "张建国")) == [INSTITUTION]
    assert not (tmp_path / "index.new").exists()

    inode = os.stat(folder).st_ino
    assert index.rebuild(folder, docs[1:]) == 2
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
folder, tag = sys.argv[1], sys.argv[2]
for doc in _documents():
    index.index_case(folder, replace(doc, case_id=f"{doc.case_id}-{tag}"))
"""


def test_two_processes_write_one_index(tmp_path):
    """ingest -j 2 in two processes: writers wait for each other's lock and every case ends up indexed."""
    folder = tmp_path / "index"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(folder), tag], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for tag in "ab"]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert set(index.indexed_case_ids(folder)) == {f"{c}-{t}" for c in (INSTITUTION, BUREAU, REFUSED) for t in "ab"}
    assert index.search(folder, "张建国").total == 2


def test_an_index_of_another_version_asks_for_reindex(tmp_path):
    from whoosh.fields import ID, Schema

    from archive_store.errors import ConfigurationError
    folder = tmp_path / "index"
    folder.mkdir()
    whoosh_index.create_in(str(folder), Schema(case_id=ID(stored=True))).close()
    with pytest.raises(ConfigurationError, match="yuetan reindex"):
        index.search(folder, "张建国")
    with pytest.raises(ConfigurationError, match="yuetan reindex"):
        index.index_case(folder, _documents()[0])


def test_texts_as_pairs_keep_documents_that_share_a_title():
    with open_case(ROOT / "examples" / "bureau-video") as bundle:
        doc = index.document_for_case(bundle.case, BUREAU_NUMBER, [], [("扫描件", "第一页 整改到位"),
                                                                         ("扫描件", "第二页 书面审查")],
                                      manifest_sha256="0" * 64)
    assert "整改到位" in doc.content and "书面审查" in doc.content
