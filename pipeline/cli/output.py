"""Everything the command line prints: each core API answer as JSON (`--json`: its model_dump) or for a person."""
from __future__ import annotations

import json

import click

from pipeline.api import models as m

say = click.echo


def as_json(result: m.ApiModel, *, indent: int | None = None) -> None:
    say(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=indent))


def json_lines(items) -> None:
    for item in items:
        as_json(item)


# --- the case -------------------------------------------------------------------------------------------------

def init(result: m.InitResult) -> None:
    say(f"{'已创建档案库' if result.created else '档案库已存在'}：{result.path}")
    if result.development_seal:
        say(f"    印章：{result.seal_path}（开发测试用自签名印章，非正式；正式归档前请在 yuetan.toml 的 [seal] "
            "中改为本单位的印章证书）")


def check(result: m.CheckResult) -> None:
    if not result.valid:
        say(f"✗ {result.source}：拒收，共 {len(result.errors)} 处问题")
        for problem in result.errors:
            say(f"    {problem.path}：{problem.message}")
        return
    say(f"✓ {result.source}：案件 {result.case_id} · {result.notice_label} · {result.target}")
    if result.unknown_keys:
        say(f"    契约之外的键（已原样保留）：{'、'.join(result.unknown_keys)}")
    if not result.findings:
        say("    程序核查：未发现问题")
        return
    say(f"    程序核查：{len(result.findings)} 项发现")
    for f in result.findings:
        say(f"    [{f.severity_label}] {f.article} {f.message}")


def render(result: m.RenderResult) -> None:
    say(f"已生成 {result.source} 的文书：")
    for document in result.documents:
        say(f"    {document}")


def build(result: m.BuildResult) -> None:
    say(f"已生成案卷：{result.path}（{result.notice_number}，卷内 {result.page_count} 页）")
    say(f"    清单摘要 {result.manifest_sha256}")
    say(f"    案卷摘要 {result.dossier_sha256}")


def verify(result: m.VerifyResult) -> None:
    say(f"{'✓ 案卷核验通过' if result.ok else '✗ 案卷核验未通过'}：{result.path}")
    if result.signer:
        say(f"    签章者：{result.signer}")
    if result.manifest_sha256:
        say(f"    清单摘要：{result.manifest_sha256}")
    for check in result.checks:
        say(f"    {'✓' if check.ok else '✗'} {check.message}")
    for note in result.notes:
        say(f"    · {note}")


# --- the archive ----------------------------------------------------------------------------------------------

INGEST_STATUS_LABELS = {"ingested": "已入库", "superseded": "已入库（新版本，旧版本保留）",
                        "unchanged": "已在库中，内容相同，未作改动", "completed": "已补全上次中断的入库",
                        "refused": "拒收", "conflict": "冲突", "failed": "失败"}


def ingest_row_lines(row: m.IngestRow) -> list[str]:
    head = f"{'✗' if row.failed else '✓'} {row.source}：{INGEST_STATUS_LABELS.get(row.status, row.status)}"
    lines = [head + (f" · {row.case_id} · {row.notice_number or ''}" if row.case_id else "")]
    if row.failed:
        lines.append(f"    {row.message}")
    return lines


def ingest_summary(report: m.IngestReport) -> None:
    say(f"共 {len(report.results)} 件：成功 {report.succeeded} 件，失败 {report.failed} 件")


def search(result: m.SearchResult) -> None:
    say(f"共找到 {result.total} 件" + (f"，显示前 {len(result.hits)} 件" if result.total > len(result.hits) else ""))
    for hit in result.hits:
        outcome = hit.outcome_label if hit.outcome else ""
        say(f"{hit.notice_number}  {hit.target}  约谈日期 {hit.interview_on.isoformat()}  {outcome}"
            f"  （{hit.case_id}，相关度 {hit.score:.2f}）")
        for snippet in hit.snippets:
            say(f"    {snippet}")


TOMBSTONE_LABELS = [("notice_number", "文号"), ("case_id", "案件编号"), ("versions", "版本"),
                    ("target_name", "约谈对象"), ("credit_code", "统一社会信用代码"), ("organizer", "约谈组织方"),
                    ("interview_on", "约谈日期"), ("closed_on", "结案日期"), ("archived_at", "归档时间"),
                    ("page_count", "页数"), ("manifest_sha256", "清单摘要"), ("dossier_sha256", "案卷摘要"),
                    ("plan_id", "销毁计划"), ("plan_sha256", "计划摘要"), ("approved_by", "批准人"),
                    ("purged_at", "销毁时间")]


def tombstone(stone: m.Tombstone) -> None:
    say(f"案件 {stone.case_id} 已按销毁计划 {stone.plan_id} 销毁，以下为保留的销毁记录：")
    for key, label in TOMBSTONE_LABELS:
        value = getattr(stone, key)
        if isinstance(value, list):
            value = "、".join(map(str, value))
        say(f"    {label}：{'' if value is None else value}")


def show(result: m.ShowResult) -> None:
    if result.status == "purged":
        tombstone(result.tombstone)
        return
    r = result.record
    status = {"current": "现行", "superseded": "已被新版本取代"}.get(result.status, result.status)
    say(f"{r.notice_number}  {r.title}")
    for label, value in [("案件编号", f"{r.case_id}（第 {r.version} 版，{status}）"),
                         ("约谈对象", r.target_name + (f"（{r.credit_code}）" if r.credit_code else "")),
                         ("约谈组织方", r.organizer), ("约谈事由", "、".join(r.grounds) or "集体约谈"),
                         ("约谈日期", r.interview_on.isoformat()), ("结案日期", r.closed_on.isoformat()),
                         ("处理结果", result.outcome_label), ("归档时间", r.archived_at.isoformat()),
                         ("卷内页数", r.page_count), ("清单摘要", r.manifest_sha256),
                         ("案卷摘要", r.dossier_sha256)]:
        say(f"    {label}：{value}")
    say(f"    程序核查发现：{'无' if not result.findings else ''}")
    for f in result.findings:
        say(f"      [{f.article}] {f.message}")
    active = [h for h in result.holds if not h.released_at]
    if active:
        say(f"    冻结中：{active[-1].reason}（{active[-1].held_by}，{active[-1].held_at.isoformat()}）")
    if len(result.versions) > 1:
        say("    版本：" + "；".join(f"第 {v.version} 版 {v.status} {v.archived_at.isoformat()}"
                                  for v in result.versions))
    say(f"    台账记录 {len(result.ledger)} 条；文件 {len(result.documents)} 个")


def open_dossier(result: m.OpenResult) -> None:
    say(f"已取出 {result.notice_number}（{result.case_id}）的案卷：{result.path}")


def reindex(result: m.ReindexResult) -> None:
    say(f"已重建检索索引：{result.cases} 件案件")


def follow(result: m.FollowResult) -> None:
    say(f"检索索引已追到台账第 {result.position} 条（补入 {result.indexed} 件，移除 {result.removed} 件）")


def migrate(result: m.MigrateResult) -> None:
    if result.changed:
        say(f"已将目录 {result.catalog} 从结构版本 {result.before or '（空库）'} 升级到 {result.after}")
    else:
        say(f"目录 {result.catalog} 已是最新结构版本 {result.after}，无需升级")


def audit(result: m.AuditResult) -> None:
    say(f"{'✓ 档案库核查通过' if result.ok else f'✗ 档案库核查发现 {len(result.problems)} 处问题'}："
        f"{result.cases} 件现行案件，{result.blobs_checked} 个文件，台账 {result.ledger_entries} 条")
    for problem in result.problems:
        say(f"    ✗ {problem}")
    for item in result.pending:
        say(f"    · 待完成：{item}")


def ledger_verify(result: m.LedgerVerifyResult) -> None:
    say(f"{'✓ 台账完整' if result.ok else '✗ 台账被改动'}：共 {result.entries} 条记录")
    for problem in result.problems:
        say(f"    ✗ {problem}")


def ledger_list(result: m.LedgerList) -> None:
    for entry in result.entries:
        say(f"{entry.seq:>5}  {entry.at}  {entry.actor}  {entry.action}  {entry.case_id or ''}  "
            f"{entry.entry_hash[:16]}")


# --- keeping --------------------------------------------------------------------------------------------------

def retention(result: m.RetentionResult) -> None:
    say(f"保管期限（截至 {result.as_of.isoformat()}）：{result.rule}")
    if not result.cases:
        say("档案库中没有案件")
    for e in result.cases:
        held = f"，冻结理由：{'；'.join(e.hold_reasons)}" if e.held else ""
        say(f"  [{e.status}] {e.notice_number} {e.case_id} {e.target}　结案 {e.closed_on}　"
            f"保管至 {e.expires_on}　{e.purgeable_from} 起可销毁{held}")


def hold(result: m.HoldResult) -> None:
    verb = "已冻结" if result.action == "hold" else "已解除冻结"
    say(f"{verb}：案件 {result.case_id}（{result.notice_number}），理由：{result.reason}，"
        f"操作人 {result.actor}，台账第 {result.ledger_seq} 条")


def purge_plan(plan: m.PurgePlan) -> None:
    if not plan.cases:
        say(f"截至 {plan.as_of} 没有到期且未冻结的案件，未编制销毁计划")
        return
    say(f"已编制销毁计划 {plan.plan_id}（截至 {plan.as_of}）：{plan.totals['cases']} 卷，"
        f"{plan.totals['pages']} 页；未删除任何内容")
    for c in plan.cases:
        say(f"  {c.seq}. {c.notice_number} {c.case_id} {c.target_name}　结案 {c.closed_on}")
    say(f"    {plan.out_dir}/销毁清册.xlsx、销毁清册.pdf、plan.json（计划摘要 {plan.plan_sha256}）")


def purge_execute(report: m.PurgeResult) -> None:
    say(f"销毁计划 {report.plan_id}（批准人 {report.approved_by}）：计划与清册保存在 {report.kept_at}")
    for o in report.cases:
        extra = f"，删除文件 {o.deleted_blobs} 个" if o.deleted_blobs else ""
        extra += f"，与其他案件共用而保留 {o.kept_shared_blobs} 个" if o.kept_shared_blobs else ""
        say(f"  {o.notice_number} {o.case_id}：{o.message}{extra}")


def export(result: m.ExportResult) -> None:
    say(f"已导出 {result.cases} 个案件：{result.path}（BagIt，台账第 {result.ledger_seq} 条）")
    say(f"    标签清单摘要 {result.tagmanifest_sha256}")


def export_verify(result: m.ExportVerifyResult) -> None:
    say(f"{'✓ 导出包完好' if result.valid else '✗ 导出包校验未通过'}：{result.path}")
    for p in result.problems:
        say(f"    {p}")


def credit(result: m.CreditResult) -> None:
    entries = result.interviews
    if result.written_to is not None:
        say(f"已写出 {len(entries)} 次约谈的信用档案：{result.written_to}")
        return
    if not entries:
        say(f"统一社会信用代码 {result.credit_code} 在档案库中没有约谈记录" if result.credit_code
            else "档案库中没有机构的约谈记录")
        return
    for i, e in enumerate(entries):
        if i == 0 or e.credit_code != entries[i - 1].credit_code:
            count = sum(1 for x in entries if x.credit_code == e.credit_code)
            say(f"{e.target}（{e.credit_code}）：约谈 {count} 次")
        say(f"  {e.interview_on} {e.notice_number}（{e.organizer}）事由：{e.grounds_text}")
        say(f"      程序核查：{e.findings_text}")
        r = e.rectification
        say(f"      整改：方案 {r.get('plan_submitted_on') or '未提交'}，报告 "
            f"{r.get('report_submitted_on') or '未提交'}，跟踪检查 {len(r.get('followups', []))} 次；"
            f"处理结果：{e.outcome_label}")
