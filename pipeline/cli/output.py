"""Everything the command line prints: each core API answer as JSON (`--json`: its model_dump) or for a person."""
from __future__ import annotations

import io
import json
import sys
from typing import TYPE_CHECKING

import click

from pipeline import api

if TYPE_CHECKING:          # rich and the answer models are loaded by the commands that print them
    from rich.table import Table

    from pipeline.api import models as m

say = click.echo
PIPE_WIDTH = 200       # a table written to a file or pipe is not cut to 80 columns


def table(*columns: str) -> Table:
    """A plain table: a header line, no frame; long cells fold rather than being cut off."""
    from rich import box
    from rich.table import Table

    grid = Table(*columns, box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, show_edge=False)
    for column in grid.columns:
        column.overflow = "fold"
    return grid


def show_table(grid: Table, title: str | None = None) -> None:
    from rich.console import Console

    if title:
        say(title)
    terminal = sys.stdout.isatty()
    for column in grid.columns:         # the cells are escaped here; the table's own styling reaches the terminal
        column._cells = [api.visible(c) if isinstance(c, str) else c for c in column._cells]
    Console(file=raw(sys.stdout), highlight=False, width=None if terminal else PIPE_WIDTH,
            color_system="auto" if terminal else None, soft_wrap=False).print(grid)


class VisibleStream(io.TextIOBase):
    """A text stream that shows control and bidi characters as escapes instead of obeying them.

    Wrapped around stdout and stderr for every command (`show_escaped`), so no message, name or reason read
    from the archive or the command line can rewrite the terminal, reverse text or forge a line. Inside a JSON
    string the escape is the same character, so JSON output keeps its meaning."""

    def __init__(self, raw):
        self.raw = raw

    @property
    def encoding(self):
        return getattr(self.raw, "encoding", "utf-8")

    @property
    def errors(self):
        return getattr(self.raw, "errors", "strict")

    def write(self, text: str) -> int:
        self.raw.write(api.visible(text))
        return len(text)

    def flush(self) -> None:
        self.raw.flush()

    def isatty(self) -> bool:
        return self.raw.isatty()

    def fileno(self) -> int:
        return self.raw.fileno()

    def writable(self) -> bool:
        return True


def show_escaped() -> None:
    """From here on, stdout and stderr escape control and bidi characters."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, VisibleStream):
            setattr(sys, name, VisibleStream(stream))


def raw(stream):
    """The terminal under a VisibleStream, for a progress bar that draws with escapes of its own."""
    return stream.raw if isinstance(stream, VisibleStream) else stream


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
    say(f"已生成案卷：{result.path}（{result.notice_number}，档号 {result.archival_code}，卷内 {result.page_count} 页）")
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
    lines = [head + (f" · {row.case_id} · {row.notice_number or ''}" if row.case_id else "")
             + (f" · 档号 {row.archival_code}" if row.archival_code else "")]
    if row.failed:
        lines.append(f"    {row.message}")
    return lines


def ingest_summary(report: m.IngestReport) -> None:
    say(f"共 {len(report.results)} 件：成功 {report.succeeded} 件，失败 {report.failed} 件")


def search(result: m.SearchResult) -> None:
    say(f"共找到 {result.total} 件" + (f"，显示前 {len(result.hits)} 件" if result.total > len(result.hits) else ""))
    for hit in result.hits:
        outcome = hit.outcome_label if hit.outcome else ""
        code = f"  档号 {hit.archival_code}" if hit.archival_code else ""
        say(f"{hit.notice_number}  {hit.target}  约谈日期 {hit.interview_on.isoformat()}  {outcome}{code}"
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
        elif key in ("archived_at", "purged_at"):
            value = api.clock.shown(value)
        say(f"    {label}：{'' if value is None else value}")


def show(result: m.ShowResult) -> None:
    if result.status == "purged":
        tombstone(result.tombstone)
        return
    r = result.record
    status = {"current": "现行", "superseded": "已被新版本取代"}.get(result.status, result.status)
    say(f"{r.notice_number}  {r.title}")
    for label, value in [("档号", r.archival_code or "（本功能启用前入库，未编档号）"),
                         ("案件编号", f"{r.case_id}（第 {r.version} 版，{status}）"),
                         ("约谈对象", r.target_name + (f"（{r.credit_code}）" if r.credit_code else "")),
                         ("约谈组织方", r.organizer), ("约谈事由", "、".join(r.grounds) or "集体约谈"),
                         ("约谈日期", r.interview_on.isoformat()), ("结案日期", r.closed_on.isoformat()),
                         ("处理结果", result.outcome_label), ("归档时间", api.clock.shown(r.archived_at)),
                         ("卷内页数", r.page_count), ("清单摘要", r.manifest_sha256),
                         ("案卷摘要", r.dossier_sha256)]:
        say(f"    {label}：{value}")
    say(f"    程序核查发现：{'无' if not result.findings else ''}")
    for f in result.findings:
        say(f"      [{f.article}] {f.message}")
    kept = result.retention
    if kept is not None and kept.expires_on is not None:
        say(f"    保管期限：{kept.years} 年，保管至 {kept.expires_on.isoformat()}，{kept.purgeable_from.isoformat()} 起可销毁"
            f"（{kept.status}）")
    active = [h for h in result.holds if not h.released_at]
    if active:
        say(f"    冻结中：{active[-1].reason}（{active[-1].held_by}，{api.clock.shown(active[-1].held_at)}）")
    if len(result.versions) > 1:
        say("    版本：" + "；".join(f"第 {v.version} 版 {v.status} {api.clock.shown(v.archived_at)}"
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


def backup(result: m.BackupResult) -> None:
    say(f"已备份目录数据库：{result.path}（台账到第 {result.ledger_seq} 条，sha256 {result.sha256}）")


def restore(result: m.RestoreResult) -> None:
    say(f"已从备份恢复目录数据库：备份的台账到第 {result.backup_seq} 条，恢复记录为台账第 {result.ledger_seq} 条")
    if result.lost:
        say(f"    档案库原已记到第 {result.mirrored_seq} 条：{result.lost}账目所记的操作已丢失")
    for path in result.moved_aside:
        say(f"    原目录数据库文件保留在 {path}")
    if result.numbers_reserved:
        say(f"    重新登记的文号（不会再次发出）：{'、'.join(result.numbers_reserved)}")
    if result.unknown_blobs:
        say(f"    存储中有 {result.unknown_blobs} 个文件不为恢复后的目录所知（已记入台账）：运行 yuetan audit 查看，"
            "重新入库这些案件即可补回目录")
    say("    检索索引可能与恢复后的目录不一致：请运行 yuetan reindex")


LEDGER_ACTIONS = {"ingest": "入库", "supersede": "新版本入库", "export": "导出", "hold": "保全（冻结）",
                  "release": "解除保全", "purge_plan": "编制销毁清册", "purge": "销毁", "reindex": "重建索引",
                  "backup": "备份目录数据库", "restore": "从备份恢复目录数据库"}


def role_label(role: str | None) -> str:
    return api.ROLE_LABELS.get(role, role) if role else "（未记录）"     # entries from before roles were recorded


def ledger_list(result: m.LedgerList) -> None:
    if not result.entries:
        say("台账中没有记录")
        return
    grid = table("序号", "时间", "操作人", "角色", "操作", "案件编号", "本条哈希（前 16 位）")
    for e in result.entries:
        grid.add_row(str(e.seq), api.clock.shown(e.at), e.actor, role_label(e.role), LEDGER_ACTIONS.get(e.action, e.action),
                     e.case_id or "", e.entry_hash[:16])
    show_table(grid)


# --- keeping --------------------------------------------------------------------------------------------------

def retention(result: m.RetentionResult) -> None:
    say(f"保管期限（截至 {result.as_of.isoformat()}）：{result.rule}")
    if not result.cases:
        say("档案库中没有案件")
        return
    grid = table("状态", "文号", "案件编号", "约谈对象", "结案日期", "保管至", "可销毁日期", "冻结理由")
    for e in result.cases:
        grid.add_row(e.status, e.notice_number, e.case_id, e.target, _day(e.closed_on), _day(e.expires_on),
                     _day(e.purgeable_from), "；".join(e.hold_reasons))
    show_table(grid)


def _day(value) -> str:
    return value.isoformat() if value is not None else ""


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
    grid = table("序号", "文号", "案件编号", "约谈对象", "结案日期", "页数")
    for c in plan.cases:
        grid.add_row(str(c.seq), c.notice_number, c.case_id, c.target_name, c.closed_on or "", str(c.page_count or ""))
    show_table(grid)
    say(f"    {plan.out_dir}/销毁清册.xlsx、销毁清册.pdf、plan.json（计划摘要 {plan.plan_sha256}）")


def plan_state(state, *, as_of=None) -> None:
    """A destruction plan kept in the archive (pipeline.api.approvals.PlanState): its state and who decided."""
    from pipeline.api.approvals import STATE_LABELS, WITNESSES_NEEDED

    if state is None:
        say(f"截至 {as_of or api.clock.today()} 没有到期且未冻结的案件，未编制销毁计划")
        return
    say(f"销毁计划 {state.plan_id}（截至 {state.as_of}，{state.cases} 卷，编制人 {state.created_by}）："
        f"{STATE_LABELS[state.state]}")
    for d in state.decisions:
        what = {"approved": "批准", "rejected": "驳回", "witnessed": "监销确认"}.get(d.status, d.status)
        say(f"    {what}：{d.reviewer}（{api.ROLE_LABELS.get(d.reviewer_role, d.reviewer_role)}），{d.reason}，"
            f"台账第 {d.ledger_seq} 条")
    if state.state == "drafted":
        say(f"    下一步：审批人 yuetan purge review {state.plan_id} --approve|--reject --reason 意见")
    elif state.state == "approved":
        say(f"    下一步：批准人以外的监销人 yuetan purge witness {state.plan_id}"
            f"（已确认 {len(state.witnesses)}/{WITNESSES_NEEDED} 人）")
    elif state.state == "witnessed":
        say(f"    下一步：yuetan purge execute {state.plan_id}")


def plan_list(plans) -> None:
    from pipeline.api.approvals import STATE_LABELS

    if not plans:
        say("档案库中没有销毁计划")
        return
    grid = table("计划编号", "截至", "卷数", "编制人", "状态", "批准人", "监销人")
    for p in plans:
        grid.add_row(p.plan_id, p.as_of, str(p.cases), p.created_by, STATE_LABELS[p.state], p.approver or "",
                     "、".join(p.witnesses))
    show_table(grid)


def purge_execute(report: m.PurgeResult) -> None:
    say(f"销毁计划 {report.plan_id}（批准人 {report.approved_by}）：计划与清册保存在 {report.kept_at}")
    grid = table("文号", "案件编号", "结果", "删除文件", "共用而保留")
    for o in report.cases:
        grid.add_row(o.notice_number, o.case_id, o.message, str(o.deleted_blobs), str(o.kept_shared_blobs))
    show_table(grid)


def export(result: m.ExportResult) -> None:
    say(f"已导出 {result.cases} 个案件：{result.path}（BagIt，台账第 {result.ledger_seq} 条）")
    say(f"    标签清单摘要 {result.tagmanifest_sha256}")


def export_verify(result: m.ExportVerifyResult) -> None:
    say(f"{'✓ 导出包完好' if result.valid else '✗ 导出包校验未通过'}：{result.path}")
    for check in result.checks:
        say(f"    {'✓' if check.ok else '✗'} {check.message}")
    for note in result.notes:
        say(f"    · {note}")


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


def statistics(result: m.StatisticsResult) -> None:
    say(f"现行案件 {result.cases} 件，程序核查发现 {result.findings} 项")
    for title, counts in [("按约谈年份", result.by_year), ("按约谈组织方", result.by_organizer),
                          ("按地区", result.by_region), ("按约谈事由", result.by_ground),
                          ("按处理结果", result.by_outcome), ("按约谈对象类型", result.by_kind),
                          ("程序核查发现：按条款", result.findings_by_article),
                          ("程序核查发现：按约谈组织方", result.findings_by_organizer)]:
        if not counts:
            continue
        grid = table("项目", "件数")
        for c in counts:
            grid.add_row(c.label if c.label == c.key else f"{c.label}（{c.key}）", str(c.count))
        show_table(grid, title)


def catalogue(result: m.CatalogueResult) -> None:
    say(f"已编制{result.year}年度{result.title}：{result.path}（{len(result.rows)}条，{result.pages}页）")
    for row in result.rows:
        say(f"  {row.seq}. {row.archival_code or '（无档号）'}  {row.number}  {row.title}  {row.period}"
            f"  {row.pages}页" + (f"  {row.note}" if row.note else ""))


def handover(result: m.HandoverResult) -> None:
    say(f"已编制{result.year}年度移交：{result.path}（{len(result.archival_codes)}卷，{result.pages}页，"
        f"{result.bytes} 字节，台账第 {result.ledger_seq} 条）")
    say(f"    移交包 {result.zip_path}")
    say(f"    包摘要（zip 的 SHA-256）{result.zip_sha256}")
    say("    请打印移交清单.pdf，由移交、接收双方签字盖章；接收方用 yuetan handover --verify 核验移交包")


def handover_verify(result: m.HandoverVerifyResult) -> None:
    say(f"{'✓ 移交包完好' if result.valid else '✗ 移交包校验未通过'}：{result.path}（{result.cases}卷）")
    if result.valid and result.signer:
        say(f"    电子签名有效（签名者 {result.signer}）")
    for p in result.problems:
        say(f"    {p}")
    for note in result.notes:
        say(f"    · {note}")
