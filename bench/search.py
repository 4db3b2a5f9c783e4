"""Search bench: build the index of N synthetic cases (plus the labelled cases of bench/queries/) on one engine
or both, time 20 realistic queries, and score the labelled query set (recall@10, MRR).

    .venv/bin/python bench/search.py [--cases 10000] [--engine whoosh|tantivy|both] [--json] [--repeats 5]

Cases are made from the bundled examples (real Case models through `document_for_case`) with random targets,
people, dates, grounds and facts, and ~2,000 characters of document text each (notice, record, plan, report,
follow-up scan). The labelled cases (bench/queries/cases.json) and the three examples are mixed in; every query of
bench/queries/queries.json names the cases it must find. With --json: one JSON object per engine,
{"engine", "cases", "build_s", "index_mib", "p50_ms", "p95_ms", "recall_at_10", "mrr"} (and a few more keys).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from types import SimpleNamespace
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "bench" / "queries"
sys.path.insert(0, str(ROOT))

from pipeline.case.contract import Case, credit_code_check_digit  # noqa: E402
from pipeline.case.findings import assess_procedure  # noqa: E402
from pipeline.case.intake import open_case  # noqa: E402
from pipeline.search import index  # noqa: E402

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CITIES = {"南昌": "360100", "景德镇": "360200", "萍乡": "360300", "九江": "360400", "新余": "360500",
          "鹰潭": "360600", "赣州": "360700", "吉安": "360800", "宜春": "360900", "抚州": "361000", "上饶": "361100"}
TRADES = ["检测技术", "质量检验", "工程检测", "环境检测", "计量检测", "食品检测", "机动车检测", "建设工程质量检测"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌辉鹏宇浩凯晨欣怡子涵海波"
FACTS = {
    (6, 1): ["仪器设备未定期进行计量溯源，{n}台设备检定证书过期仍在使用", "未按国家标准管理样品，留样记录缺失{n}份",
             "质量管理体系内审和管理评审连续两年未开展"],
    (6, 2): ["{y}年{m}月出具的混凝土抗压强度检验报告与原始记录数据不一致",
             "钢筋力学性能检验报告中屈服强度数据无原始记录支撑", "机动车排放检验数据与监控视频记录不符{n}次",
             "食品农药残留检测报告结论与仪器原始谱图不符"],
    (6, 3): ["超出资质认定证书附表范围出具建筑节能材料导热系数检验报告{n}份",
             "在资质认定能力范围外出具水质检测报告{n}份并加盖CMA标志"],
    (6, 4): ["{y}年省级能力验证结果不满意且未按期整改", "无故不参加国家级能力验证计划"],
    (6, 8): ["{y}年{m}月监督检查发现的不合格事项逾期未整改", "承担监督抽查任务时未按规定封样{n}批次"],
    (6, 9): ["收到关于“不上线检验即出具合格报告”的投诉举报{n}件，经查证属实{k}件", "投诉举报检测报告造假{n}件，查证属实"],
    (7, 1): ["辖区内检验检测机构{y}年被投诉{n}次，监管不力", "辖区内{n}家机构连续两年抽查不合格"],
    (7, 2): ["未按期完成省局部署的“双随机、一公开”监督抽查任务，完成率仅为{n}%"],
    (7, 3): ["对辖区内{n}家机构的监督检查未制作现场检查笔录，检查程序不完整"],
}
OUTCOMES = {"institution": ["completed", "ordered_to_correct", "administrative_penalty", "case_filed",
                            "certificate_revoked"],
            "bureau": ["completed", "circulated_criticism", "three_letters_one_notice", "escalated"]}

NOTICE = """约谈通知书
{number}
{target}：
根据《江西省检验检测领域监督检查工作约谈实施办法（试行）》{articles}规定，经查，你单位存在以下问题：
{facts}
为督促你单位落实主体责任，我局决定于{when}在{venue}对你单位进行约谈。请你单位{roles}准时参加，并携带营业执照副本、
资质认定证书、相关检验检测报告及原始记录、情况说明等材料。约谈对象无正当理由不参加约谈的，将依法依规处理，
并列入重点监管对象。
其他事项：约谈对象应当如实陈述问题原因，提出整改措施。约谈结束后，你单位应当在5个工作日内向我局提交书面整改方案，
在规定期限内完成整改并提交整改报告。整改期间，属地市场监管部门将跟踪检查整改落实情况，必要时组织现场复查或书面审查。
对整改不到位或拒不整改的，我局将依法依规采取责令限期改正、行政处罚、撤销资质认定证书等措施，并将有关情况
记入信用档案，列入重点监管对象，增加监督检查频次。
联系人：{contact}，联系电话：0791-86358120。
{organizer}
"""
REMARKS = """案卷封面
{organizer}　约谈案卷　{number}　约谈对象：{target}　保管期限：6年
卷内文件目录
1 约谈通知书　2 约谈记录　3 整改方案　4 整改报告　5 现场复查记录
备考表
本卷共{pages}页。程序核查：约谈经分管领导批准后组织实施；通知书于约谈前送达；约谈记录经约谈对象签字确认；
整改方案、整改报告按期提交，经{local}审查，现场复查整改到位。立卷人：{recorder}　检查人：{host}
"""
RECORD = """约谈记录
时间：{when}　地点：{venue}　方式：现场约谈
主持人：{host}　记录人：{recorder}
约谈机关人员：{staff}
约谈对象参加人员：{attendees}
一、说明约谈目的和依据。{purpose}
二、通报存在的问题并出示证据。{facts}经核查，相关检验检测报告、原始记录及设备档案已调取在案。
三、约谈对象陈述。{principal}表示，问题系内部管理不严、人员培训不到位、业务受理环节未核对资质认定能力附表所致，
对通报问题无异议，愿意认真整改。
四、提出处理意见和整改要求。责令立即停止违规行为，全面梳理质量管理体系文件，对{y}年以来出具的同类报告逐份核对原始记录，
于5个工作日内提交整改方案，{deadline}前提交整改报告。
五、约谈对象表态。{principal}代表单位承诺按期完成整改，配合后续现场复查。
六、约谈对象确认记录并签字。
"""
PLAN = """{target}整改方案
针对约谈通报的问题，我单位成立以{principal}为组长的整改工作领导小组，制定整改方案如下：
一是开展全面自查，对{y}年以来出具的全部检验检测报告逐份核对原始记录，建立问题台账；
二是修订业务受理程序，受理前逐项核对资质认定证书附表，确保在批准的项目和标准内出具报告；
三是加强人员培训，组织授权签字人、技术负责人、质量负责人学习《检验检测机构监督管理办法》；
四是完善仪器设备计量溯源计划，过期设备全部停用送检；
五是落实质量监督，每月抽查报告不少于30份，确保数据真实准确。
"""
REPORT = """{target}整改报告
按照整改方案，我单位已完成全部整改任务：自查报告{n}份，发现问题报告{k}份，已全部收回并重新出具；
修订程序文件4份、作业指导书7份；开展培训3次共{n}人次；{n2}台设备已重新检定校准。
整改落实情况报告报{local}审查。
"""
FOLLOWUP = """现场复查记录
复查时间：{on}　复查人员：{staff}
经现场复查，该单位能力核查程序已修订并运行，抽查{n}份报告原始记录完整，设备检定证书在有效期内，整改到位。
"""


def credit_code(rng: random.Random) -> str:
    first17 = "91360" + "".join(rng.choice("0123456789") for _ in range(3)) + \
        "".join(rng.choice(_ALPHABET) for _ in range(9))
    return first17 + credit_code_check_digit(first17)


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def synthetic_documents(n: int, seed: int = 7):
    """N index documents; the template cases are the bundled examples, varied."""
    rng = random.Random(seed)
    templates = {kind: Case.model_validate(json.loads((ROOT / "examples" / name / "case.json").read_text("utf-8")))
                 for kind, name in (("institution", "institution-onsite"), ("bureau", "bureau-video"))}
    seq: dict[int, int] = {}
    for i in range(n):
        kind = "bureau" if rng.random() < 0.15 else "institution"
        base = templates[kind]
        city = rng.choice(list(CITIES))
        interview = date(2019, 1, 1) + timedelta(days=rng.randrange(0, 7 * 365))
        year = interview.year
        seq[year] = seq.get(year, 0) + 1
        number = f"赣市监检约〔{year}〕{1000 + seq[year]}号"     # apart from the examples' numbers
        names = [person(rng) for _ in range(8)]
        article = 6 if kind == "institution" else 7
        items = rng.sample([it for (a, it) in FACTS if a == article], k=rng.choice((1, 1, 2)))
        fill = dict(y=year, m=rng.randint(1, 12), n=rng.randint(2, 60), k=rng.randint(1, 9))
        grounds = [{"article": article, "item": it,
                    "facts": [f.format(**fill) for f in rng.sample(FACTS[(article, it)],
                                                                   k=min(2, len(FACTS[(article, it)])))]}
                   for it in sorted(items)]
        if kind == "institution":
            target = f"江西{city}{rng.choice('信诚华正通达安恒')}{rng.choice('泰源捷科盛')}{rng.choice(TRADES)}有限公司"
            tgt = {**base.target.model_dump(mode="json"), "name": target, "credit_code": credit_code(rng),
                   "region_code": CITIES[city],
                   "principal": {"name": names[0], "phone": "13900000000"}}
        else:
            target = f"{city}市市场监督管理局"
            tgt = {**base.target.model_dump(mode="json"), "name": target, "region_code": CITIES[city],
                   "principal": {"name": names[0], "phone": "0791-0000000"}}
        data = base.model_dump(mode="json")
        data.update(case_id=f"SYN-{year}-{i:06d}", target=tgt, grounds=grounds, closed_on=str(interview + timedelta(days=60)))
        data["interview"]["held_at"] = data["interview"]["scheduled_at"] = f"{interview}T09:30:00+08:00"
        data["interview"]["host"]["name"] = names[1]
        data["interview"]["recorder"]["name"] = names[2]
        data["interview"]["organizer_staff"] = [{"name": names[1], "title": "处长"}, {"name": names[2], "title": "科员"}]
        for a, name in zip(data["interview"]["attendees"], names[3:]):
            a["name"] = name
        data["rectification"]["outcome"] = rng.choice(OUTCOMES[kind])
        case = Case.model_validate(data)
        facts = "\n".join(f"{j}. {f}" for j, f in enumerate((f for g in grounds for f in g["facts"]), 1))
        articles = "、".join(f"第{'六' if article == 6 else '七'}条第（{'一二三四五六七八九十'[it - 1]}）项" for it in items)
        common = dict(number=number, target=target, articles=articles, facts=facts, when=f"{interview:%Y年%-m月%-d日}上午9时30分",
                      venue=case.interview.venue, roles="法定代表人、技术负责人、质量负责人、授权签字人",
                      contact=names[1], organizer=case.organizer.name, host=names[1], recorder=names[2],
                      staff="、".join(names[1:3]), attendees="、".join(names[3:7]), principal=names[0],
                      purpose=f"依据《江西省检验检测领域监督检查工作约谈实施办法（试行）》{articles}，对你单位存在的问题进行约谈。", y=year, deadline=f"{interview + timedelta(days=30)}",
                      local=f"{city}市市场监督管理局", n=fill["n"], k=fill["k"], n2=rng.randint(1, 9),
                      on=f"{interview + timedelta(days=45)}", pages=rng.randint(12, 60))
        texts = {"约谈通知书": NOTICE.format(**common), "约谈记录": RECORD.format(**common),
                 "整改方案": PLAN.format(**common), "整改报告": REPORT.format(**common),
                 "现场复查记录（扫描件）": FOLLOWUP.format(**common), "案卷封面与备考表": REMARKS.format(**common)}
        yield index.document_for_case(case, number, assess_procedure(case), texts,
                                      manifest_sha256=f"{rng.getrandbits(256):064x}")


EXAMPLE_NUMBERS = {"bureau-video": "赣市监检约〔2025〕5号"}      # the bureau example carries no number


def example_documents():
    """The three bundled examples, as the tests index them (facts and proceedings as document text)."""
    for name in ("institution-onsite", "bureau-video", "refused-to-sign"):
        with open_case(ROOT / "examples" / name) as bundle:
            case = bundle.case
            p = case.interview.proceedings
            texts = {"约谈通知书": "\n".join(f for g in case.grounds for f in g.facts),
                     "约谈记录": "\n".join([p.purpose_and_basis, p.issues_and_evidence, p.statement, p.opinions,
                                            *p.requirements, p.commitment])}
            if name == "institution-onsite":
                texts["现场复查记录（扫描件）"] = "现场复查记录\n经现场复查，能力核查程序已修订，整改到位。"
            yield index.document_for_case(case, case.notice.number or EXAMPLE_NUMBERS[name],
                                          assess_procedure(case), texts, manifest_sha256="e" * 64)


def labelled_documents():
    """The cases of bench/queries/cases.json, each on the example of its kind with the listed fields replaced."""
    spec = json.loads((QUERIES / "cases.json").read_text("utf-8"))
    templates = {kind: json.loads((ROOT / "examples" / name / "case.json").read_text("utf-8"))
                 for kind, name in (("institution", "institution-onsite"), ("bureau", "bureau-video"))}
    for n, c in enumerate(spec["cases"], 1):
        data = json.loads(json.dumps(templates[c["kind"]]))
        day = date.fromisoformat(c["interview_on"])
        data["case_id"] = c["case_id"]
        data["target"].update(name=c["target"], region_code=c["region_code"])
        for key in ("credit_code", "cma_certificate"):
            data["target"][key] = c.get(key)
        if c.get("phone"):
            data["target"]["principal"]["phone"] = c["phone"]
        data["target"]["principal"]["name"] = c["people"][0]
        data["grounds"] = [{"article": a, "item": i, "facts": facts} for a, i, facts in c["grounds"]]
        for a, name in zip(data["interview"]["attendees"], c["people"]):
            a["name"] = name
        data["interview"]["held_at"] = data["interview"]["scheduled_at"] = f"{day}T09:30:00+08:00"
        data["closed_on"] = str(day + timedelta(days=60))
        data["rectification"]["outcome"] = c["outcome"]
        case = Case.model_validate(data)
        texts = {"约谈通知书": "\n".join(f for _, _, facts in c["grounds"] for f in facts), **c["documents"]}
        yield index.document_for_case(case, f"赣市监认约〔{day.year}〕{n}号", [], texts,
                                      manifest_sha256=f"{n:064x}")


def corpus(n: int, seed: int, picks: dict):
    """Synthetic cases, with the examples and the labelled cases spread among them; `picks` gets the synthetic
    case a third of the way in (the latency queries look for its number, code and people)."""
    extra = [*example_documents(), *labelled_documents()]
    step = max(1, n // (len(extra) + 1))
    for i, doc in enumerate(synthetic_documents(n, seed)):
        if i == n // 3:
            picks["sample"] = doc
        if extra and i % step == step - 1:
            yield extra.pop(0)
        yield doc
    yield from extra


def labelled_queries() -> list[dict]:
    return json.loads((QUERIES / "queries.json").read_text("utf-8"))["queries"]


def score_queries(folder: Path, queries: list[dict]) -> tuple[float, float, list[dict]]:
    """Mean recall@10 and MRR (first relevant hit in the top 10) over the labelled queries, and the misses."""
    recalls, ranks, misses = [], [], []
    for q in queries:
        got = [h.case_id for h in index.search(folder, q["q"], limit=10, facets=False, **q.get("filters", {})).hits]
        relevant = set(q["relevant"])
        recalls.append(len(relevant & set(got)) / len(relevant))
        first = next((i for i, c in enumerate(got, 1) if c in relevant), None)
        ranks.append(1 / first if first else 0.0)
        if recalls[-1] < 1 or first != 1:
            misses.append({"q": q["q"], "kind": q["kind"], "relevant": q["relevant"], "top": got[:5]})
    return statistics.fmean(recalls), statistics.fmean(ranks), misses


def folder_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def bench_engine(engine: str, args, work: Path, say) -> dict:
    folder = work / engine / "index"
    kept = work / engine / "sample.json"          # what the latency queries look for, kept for --reuse
    if args.reuse and folder.is_dir() and kept.is_file():
        sample = SimpleNamespace(**json.loads(kept.read_text("utf-8")))
        count, build_s = len(index.indexed_case_ids(folder)), None
        say(f"[{engine}] 沿用 {folder} 中已建的索引：{count} 件（不重建，build_s 为空）")
    else:
        picks: dict = {}
        t0 = time.perf_counter()
        count = index.rebuild(folder, corpus(args.cases, args.seed, picks), engine=engine)
        build_s = time.perf_counter() - t0
        sample = picks["sample"]
        kept.write_text(json.dumps({"notice_number": sample.notice_number, "credit_code": sample.credit_code,
                                    "target": sample.target, "people": list(sample.people)}, ensure_ascii=False),
                        "utf-8")
        say(f"[{engine}] 重建索引：{count} 件，{build_s:.1f} s（{count / build_s:.0f} 件/s）")
    size = folder_mib(folder)
    say(f"[{engine}] 索引 {size:.1f} MiB")

    queries: list[tuple[str, dict]] = [
        ("数据失实", {}), ("超范围", {}), ("整改到位", {}), ("原始记录", {}), ("能力验证", {}),
        (sample.notice_number, {}), (sample.credit_code or sample.target, {}), (sample.people[0], {}),
        ("机动车 排放", {}), ('"原始记录数据不一致"', {}), ("CMA 证书", {}), ("留样记录缺失", {}),
        ("投诉举报 查证属实", {}), ("现场复查", {"date_from": "2023-01-01", "date_to": "2023-12-31"}),
        ("检测技术", {"region": "360700"}), ("约谈", {"kind": "bureau"}), ("超范围", {"ground": "6.3"}),
        ("双随机", {"outcome": "circulated_criticism"}), ("", {"outcome": "administrative_penalty"}),
        ("", {"date_from": "2024-03-01", "date_to": "2024-03-31"}),
    ]
    index.search(folder, "热身")
    every: list[float] = []
    first: list[float] = []
    rows = []
    for q, filters in queries:
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            r = index.search(folder, q, limit=10, **filters)
            times.append(time.perf_counter() - t0)
        every.extend(times)
        first.append(times[0])
        rows.append((q + (" " + json.dumps(filters, ensure_ascii=False) if filters else ""),
                     statistics.median(times), max(times), r.total))
    say(f"\n{'查询':<44} {'p50 ms':>8} {'max ms':>8} {'命中':>7}")
    for label, p50, worst, total in rows:
        say(f"{label:<44} {p50 * 1000:8.2f} {worst * 1000:8.2f} {total:7d}")
    p50, p95 = statistics.median(every), statistics.quantiles(every, n=20)[18]
    first_p95 = statistics.quantiles(first, n=20)[18]
    say(f"全部 {len(every)} 次查询（含分面统计）：p50 {p50 * 1000:.2f} ms，p95 {p95 * 1000:.2f} ms；"
        f"每个查询第一次（未缓存其词项）p95 {first_p95 * 1000:.2f} ms")

    labelled = labelled_queries()
    recall, mrr, misses = score_queries(folder, labelled)
    say(f"标注查询 {len(labelled)} 条：recall@10 {recall:.3f}，MRR {mrr:.3f}")
    for m in misses:
        say(f"    未达：{m['q']}（{m['kind']}）应为 {m['relevant']}，前五 {m['top']}")

    singles = []
    for j in range(5 if not args.reuse else 0):
        doc = replace(sample, content=sample.content + f"\n补充说明第{j}次")
        t0 = time.perf_counter()
        index.index_case(folder, doc)
        singles.append(time.perf_counter() - t0)
    if singles:
        say(f"单案件 index_case：中位 {statistics.median(singles) * 1000:.0f} ms")
    return {"engine": engine, "cases": count, "build_s": round(build_s, 2) if build_s is not None else None, "index_mib": round(size, 1),
            "p50_ms": round(p50 * 1000, 2), "p95_ms": round(p95 * 1000, 2), "recall_at_10": round(recall, 4),
            "mrr": round(mrr, 4), "first_run_p95_ms": round(first_p95 * 1000, 2), "queries": len(labelled), "index_case_ms": round(statistics.median(singles) * 1000, 1) if singles else None,
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--engine", choices=("whoosh", "tantivy", "both"), default="both")
    ap.add_argument("--json", action="store_true", help="one JSON object per engine on stdout, the rest on stderr")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dir", type=Path, default=None, help="where to build (default: a temp folder, removed)")
    ap.add_argument("--reuse", action="store_true",
                    help="with --dir: time the index built there by an earlier run instead of rebuilding it")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="yuetan-bench-search-"))

    def say(line: str) -> None:
        print(line, file=sys.stderr if args.json else sys.stdout, flush=True)

    engines = ("whoosh", "tantivy") if args.engine == "both" else (args.engine,)
    say(f"{args.cases} 个合成案件 + 标注案件，引擎：{'、'.join(engines)}，{os.cpu_count()} 核")
    for engine in engines:
        result = bench_engine(engine, args, work, say)
        if args.json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
    if args.dir is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
