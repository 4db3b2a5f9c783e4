"""The `yuetan` command: parses arguments, calls the stages, prints. Nothing else lives here."""
from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click

from archive_store.errors import ExitCode, InvalidCase, YuetanError
from archive_store.home import DEFAULT_SEAL_PKCS12, resolve_home
from pipeline import click_zh
from pipeline.case.contract import case_json_schema
from pipeline.case.findings import SEVERITY_LABELS, assess_procedure
from pipeline.case.intake import open_case
from pipeline.records.setup import init_home

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
click_zh.install()


class YuetanGroup(click.Group):
    """Turns every `YuetanError` into its Chinese message and its exit status, in one place."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except YuetanError as exc:
            click.echo(f"错误：{exc.message}", err=True)
            ctx.exit(int(exc.exit_code))


def home_option(command):
    """Every command takes --home; it overrides the one given before the command name."""
    def remember(ctx: click.Context, _param, value):
        if value is not None:
            ctx.ensure_object(dict)["home"] = value
        return value
    return click.option("--home", type=click.Path(path_type=Path), expose_value=False,
                        callback=remember, help="档案库文件夹（默认 $YUETAN_HOME，否则 ./yuetan-archive）")(command)


def _home(ctx: click.Context) -> Path:
    return resolve_home(ctx.ensure_object(dict).get("home"))


@click.group(cls=YuetanGroup, context_settings=CONTEXT)
@click.option("--home", type=click.Path(path_type=Path),
              help="档案库文件夹（默认 $YUETAN_HOME，否则 ./yuetan-archive）")
@click.version_option(package_name="yuetan", message="yuetan %(version)s")
@click.pass_context
def main(ctx: click.Context, home: Path | None):
    """约谈档案：检验检测领域约谈案件的归档流水线。

    \b
    示例：
      yuetan init --home /srv/yuetan
      yuetan check examples/institution-onsite
    """
    ctx.ensure_object(dict)["home"] = home


@main.command()
@home_option
@click.option("--organizer", help="约谈组织方名称，写入开发测试用印章的证书名称")
@click.pass_context
def init(ctx: click.Context, organizer: str | None):
    """创建档案库文件夹（设置、目录数据库）；未配置印章证书时生成开发测试用印章。

    \b
    示例：yuetan init --home /srv/yuetan --organizer 江西省市场监督管理局
    """
    home, created = init_home(_home(ctx), organizer=organizer)
    click.echo(f"{'已创建档案库' if created else '档案库已存在'}：{home.path.resolve()}")
    if home.settings.seal.pkcs12 == DEFAULT_SEAL_PKCS12:
        click.echo(f"    印章：{home.seal_pkcs12}（开发测试用自签名印章，非正式；正式归档前请在 yuetan.toml 的 [seal] "
                   "中改为本单位的印章证书）")


@main.command()
@home_option
def schema():
    """打印案件数据契约（schema_version 1）的 JSON Schema。

    \b
    示例：yuetan schema > case.schema.json
    """
    click.echo(json.dumps(case_json_schema(), ensure_ascii=False, indent=2))


@main.command()
@home_option
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（多个案件时每行一个对象）")
def check(paths: tuple[Path, ...], as_json: bool):
    """核验案件：数据契约与《实施办法》程序要求。PATH 可为案件文件夹、其 zip 或 case.json。

    无效输入逐项列出并以状态 2 退出；程序问题（如通知书送达过晚）作为核查发现列出，不影响收档。

    \b
    示例：yuetan check examples/refused-to-sign
          yuetan check --json case.zip
    """
    any_invalid = False
    for path in paths:
        report = _check_one(path)
        any_invalid |= not report["valid"]
        if as_json:
            click.echo(json.dumps(report, ensure_ascii=False))
        else:
            _print_check(path, report)
    if any_invalid:
        sys.exit(int(ExitCode.invalid_input))


def _check_one(path: Path) -> dict:
    try:
        with open_case(path) as bundle:
            findings = assess_procedure(bundle.case)
            return {"valid": True, "errors": [], "findings": [f.as_dict() for f in findings],
                    "case_id": bundle.case.case_id, "notice_number": bundle.case.notice.number,
                    "target": bundle.case.target.name, "unknown_keys": bundle.unknown_keys}
    except InvalidCase as exc:
        return {"valid": False, "errors": [p.as_dict() for p in exc.problems], "findings": []}


def _print_check(path: Path, report: dict) -> None:
    if not report["valid"]:
        click.echo(f"✗ {path}：拒收，共 {len(report['errors'])} 处问题")
        for problem in report["errors"]:
            click.echo(f"    {problem['path']}：{problem['message']}")
        return
    number = report["notice_number"] or "（文号待分配）"
    click.echo(f"✓ {path}：案件 {report['case_id']} · {number} · {report['target']}")
    if report["unknown_keys"]:
        click.echo(f"    契约之外的键（已原样保留）：{'、'.join(report['unknown_keys'])}")
    if not report["findings"]:
        click.echo("    程序核查：未发现问题")
        return
    click.echo(f"    程序核查：{len(report['findings'])} 项发现")
    for f in report["findings"]:
        label = SEVERITY_LABELS[f["severity"]]
        click.echo(f"    [{label}] {f['article']} {f['message']}")


@main.command()
@home_option
@click.argument("path", type=click.Path(path_type=Path))
@click.option("-o", "--output", "dest", required=True, type=click.Path(path_type=Path),
              help="案卷 PDF 的输出路径")
@click.option("--filed-by", default=None, help="立卷人（默认为当前登录名）")
@click.pass_context
def build(ctx: click.Context, path: Path, dest: Path, filed_by: str | None):
    """生成加盖电子印章的 PDF/A-3b 案卷：生成公文、规范化上传材料、合并、封存。

    未带文号的案件从档案库的文号登记表取得下一个文号。

    \b
    示例：yuetan build examples/institution-onsite -o 赣信检测案卷.pdf
    """
    from archive_store.home import open_home
    from archive_store.ledger import default_actor
    from pipeline.dossier import build_dossier
    from pipeline.pdf.pdfa import pdfa_converter

    home = open_home(_home(ctx))
    with pdfa_converter() as converter:
        built = build_dossier(path, dest, home=home, converter=converter, filed_by=default_actor(filed_by))
    click.echo(f"已生成案卷：{dest}（{built.notice_number}，卷内 {built.page_count} 页）")
    click.echo(f"    清单摘要 {built.manifest_sha256}")
    click.echo(f"    案卷摘要 {built.dossier_sha256}")


@main.command()
@home_option
@click.argument("dossier", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--trust", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="信任的印章证书（PEM/DER 证书或 PKCS#12）；不给出时只核验印章完好，并列出签章者")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def verify(dossier: Path, trust: Path | None, as_json: bool):
    """核验案卷：电子印章完好且覆盖整个文件、清单摘要（XMP、备考表、嵌入文件）一致、PDF/A 标识。

    全部满足时退出状态为 0，否则为 1 并指明哪一项不满足。

    \b
    示例：yuetan verify 赣信检测案卷.pdf
          yuetan verify --json 赣信检测案卷.pdf
    """
    from pipeline.pdf.verify import verify_dossier

    report = verify_dossier(dossier, trust=trust)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        click.echo(f"{'✓ 案卷核验通过' if report.ok else '✗ 案卷核验未通过'}：{dossier}")
        if report.signer:
            click.echo(f"    签章者：{report.signer}")
        if report.manifest_sha256:
            click.echo(f"    清单摘要：{report.manifest_sha256}")
        for check in report.checks:
            click.echo(f"    {'✓' if check.ok else '✗'} {check.message}")
        for note in report.notes:
            click.echo(f"    · {note}")
    if not report.ok:
        sys.exit(int(ExitCode.failed_check))


# --- retention, holds, purge, export, credit (issue 7) ---------------------------------------------------

class _IsoDate(click.ParamType):
    name = "日期"

    def convert(self, value, param, ctx):
        from datetime import date

        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"“{value}”不是有效日期：应为 YYYY-MM-DD，如 2026-01-01", param, ctx)


_DATE = _IsoDate()

CASE_FILTERS = [
    click.option("--kind", type=click.Choice(["institution", "bureau"]), help="约谈对象类型"),
    click.option("--ground", help="约谈事由，如 6.2（第六条第（二）项）或 6（第六条各项）"),
    click.option("--organizer", help="约谈组织方（名称的一部分）"),
    click.option("--region", help="行政区划代码（或其前几位），如 360100"),
    click.option("--outcome", help="处理结果，如 completed、administrative_penalty（或其中文名）"),
    click.option("--from", "date_from", type=_DATE, help="约谈日期自（含，YYYY-MM-DD）"),
    click.option("--to", "date_to", type=_DATE, help="约谈日期至（含，YYYY-MM-DD）"),
]


def case_filter_options(command):
    """The same case filters, with the same names and help, wherever cases are selected (search, export)."""
    for option in reversed(CASE_FILTERS):
        command = option(command)
    return command


@main.command()
@home_option
@click.option("--as-of", type=_DATE, help="按此日期计算（YYYY-MM-DD，默认今天）")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@click.pass_context
def retention(ctx: click.Context, as_of, as_json: bool):
    """列出每个案件的保管期限：结案日期、到期日期、可销毁日期、是否冻结、状态。

    保管期限六年（第二十条，可在 yuetan.toml 的 [retention] years 中设置），自结案之次年1月1日起计算。

    \b
    示例：yuetan retention
          yuetan retention --as-of 2026-01-01 --json
    """
    from archive_store.home import open_home
    from pipeline.records.retention import (
        retention_rule,
        retention_schedule,
        today_in_china,
    )

    home = open_home(_home(ctx))
    day = as_of or today_in_china()
    entries = retention_schedule(home, as_of=day)
    if as_json:
        click.echo(json.dumps({"as_of": day.isoformat(), "retention_years": home.settings.retention_years,
                               "cases": [e.as_dict() for e in entries]}, ensure_ascii=False))
        return
    click.echo(f"保管期限（截至 {day.isoformat()}）：{retention_rule(home.settings.retention_years)}")
    if not entries:
        click.echo("档案库中没有案件")
    for e in entries:
        held = f"，冻结理由：{'；'.join(e.hold_reasons)}" if e.held else ""
        click.echo(f"  [{e.status.value}] {e.notice_number} {e.case_id} {e.target_name}　结案 {e.closed_on}　"
                   f"保管至 {e.expires_on}　{e.purgeable_from} 起可销毁{held}")


def _hold_command(name: str, doc: str):
    @main.command(name=name, help=doc)
    @home_option
    @click.argument("case")
    @click.option("--reason", required=True, help="理由（记入台账）")
    @click.option("--actor", default=None, help="操作人（默认为当前登录名）")
    @click.pass_context
    def command(ctx: click.Context, case: str, reason: str, actor: str | None):
        from archive_store.home import open_home
        from archive_store.ledger import default_actor
        from pipeline.records.retention import place_hold, release_hold

        change = (place_hold if name == "hold" else release_hold)(
            open_home(_home(ctx)), case, reason=reason, actor=default_actor(actor))
        verb = "已冻结" if name == "hold" else "已解除冻结"
        click.echo(f"{verb}：案件 {change.case_id}（{change.notice_number}），理由：{change.reason}，"
                   f"操作人 {change.actor}，台账第 {change.ledger_seq} 条")
    return command


_hold_command("hold", """冻结案件（法律保全）：冻结中的案件不会被销毁。CASE 为案件编号或文号。

    \b
    示例：yuetan hold GZ-RZ-2025-004 --reason 行政复议期间保全""")
_hold_command("release", """解除案件冻结。CASE 为案件编号或文号。

    \b
    示例：yuetan release GZ-RZ-2025-004 --reason 行政复议已终结""")


@main.command()
@home_option
@click.option("--plan", "make_plan", is_flag=True, help="编制销毁清册与销毁计划（不删除任何内容）")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              help="--plan：销毁清册与 plan.json 的输出文件夹")
@click.option("--as-of", type=_DATE, help="--plan：按此日期计算到期（YYYY-MM-DD，默认今天）")
@click.option("--execute", "plan_path", type=click.Path(path_type=Path, dir_okay=False),
              help="执行经批准的销毁计划（plan.json）")
@click.option("--approved-by", default=None, help="--execute：批准人")
@click.option("--actor", default=None, help="操作人（默认为当前登录名）")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@click.pass_context
def purge(ctx: click.Context, make_plan: bool, out_dir: Path | None, as_of, plan_path: Path | None,
          approved_by: str | None, actor: str | None, as_json: bool):
    """销毁到期档案：先编制销毁清册（--plan），经鉴定、批准后执行（--execute）。

    --plan 写出 销毁清册.xlsx、销毁清册.pdf（PDF/A）和 plan.json，只列到期且未冻结的案件，不删除任何内容。
    --execute 只销毁计划中仍已到期、未冻结、未改动的案件；保留销毁记录、计划与台账。中断后重新运行即可补完。

    \b
    示例：yuetan purge --plan -o 销毁计划2026
          yuetan purge --execute 销毁计划2026/plan.json --approved-by 张局长
    """
    from archive_store.errors import InvalidArgument
    from archive_store.home import open_home
    from archive_store.ledger import default_actor
    from pipeline.records.retention import execute_plan, plan_destruction

    if make_plan == bool(plan_path):
        raise InvalidArgument("请给出 --plan -o 文件夹（编制计划）或 --execute plan.json（执行计划）二者之一")
    home = open_home(_home(ctx))
    actor = default_actor(actor)
    if make_plan:
        if out_dir is None:
            raise InvalidArgument("--plan 需要 -o 输出文件夹")
        plan = plan_destruction(home, out_dir, actor=actor, as_of=as_of)
        if as_json:
            click.echo(json.dumps(plan, ensure_ascii=False))
        elif not plan["cases"]:
            click.echo(f"截至 {plan['as_of']} 没有到期且未冻结的案件，未编制销毁计划")
        else:
            click.echo(f"已编制销毁计划 {plan['plan_id']}（截至 {plan['as_of']}）：{plan['totals']['cases']} 卷，"
                       f"{plan['totals']['pages']} 页；未删除任何内容")
            for c in plan["cases"]:
                click.echo(f"  {c['seq']}. {c['notice_number']} {c['case_id']} {c['target_name']}　结案 {c['closed_on']}")
            click.echo(f"    {out_dir}/销毁清册.xlsx、销毁清册.pdf、plan.json（计划摘要 {plan['plan_sha256']}）")
        return
    if as_of is not None or out_dir is not None:
        raise InvalidArgument("--as-of 与 -o 只用于 --plan；--execute 按今天的日期核对是否到期")
    if not approved_by:
        raise InvalidArgument("--execute 需要 --approved-by 批准人")
    report = execute_plan(home, plan_path, approved_by=approved_by, actor=actor)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    click.echo(f"销毁计划 {report.plan_id}（批准人 {report.approved_by}）：计划与清册保存在 {report.kept_at}")
    for o in report.outcomes:
        extra = f"，删除文件 {o.deleted_blobs} 个" if o.deleted_blobs else ""
        extra += f"，与其他案件共用而保留 {o.kept_shared_blobs} 个" if o.kept_shared_blobs else ""
        click.echo(f"  {o.notice_number} {o.case_id}：{o.status.value}{extra}")


@main.command()
@home_option
@click.argument("query", required=False)
@case_filter_options
@click.option("-o", "--output", "dest", type=click.Path(path_type=Path, dir_okay=False), help="导出的 zip 文件")
@click.option("--verify", "verify_path", type=click.Path(path_type=Path, dir_okay=False),
              help="核验收回的导出包（zip），不导出")
@click.option("--actor", default=None, help="操作人（默认为当前登录名）")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@click.pass_context
def export(ctx: click.Context, query, kind, ground, organizer, region, outcome, date_from, date_to,
           dest: Path | None, verify_path: Path | None, actor: str | None, as_json: bool):
    """合规导出：把选定案件的案卷、case.json、清单、汇总表和相关台账写成 BagIt 包（sha256）。

    筛选条件与 yuetan search 相同；导出本身记入台账。--verify 核验收回的导出包，全部问题逐项列出。

    \b
    示例：yuetan export --organizer 赣州市 --from 2025-01-01 -o 赣州2025.zip
          yuetan export 数据失实 --ground 6.2 -o 数据失实.zip
          yuetan export --verify 赣州2025.zip
    """
    from archive_store.errors import InvalidArgument

    if verify_path is not None:
        from archive_store.errors import ConfigurationError
        from archive_store.home import open_home
        from pipeline.records.export import verify_bag

        try:
            home = open_home(_home(ctx))
        except ConfigurationError:
            home = None   # a bag can be verified anywhere; the archive's ledger is an extra check
        problems = verify_bag(verify_path, home=home)
        if as_json:
            click.echo(json.dumps({"valid": not problems, "problems": problems}, ensure_ascii=False))
        else:
            click.echo(f"{'✓ 导出包完好' if not problems else '✗ 导出包校验未通过'}：{verify_path}")
            for p in problems:
                click.echo(f"    {p}")
        if problems:
            sys.exit(int(ExitCode.failed_check))
        return
    if dest is None:
        raise InvalidArgument("请用 -o 给出导出的 zip 文件（或用 --verify 核验导出包）")
    from archive_store.home import open_home
    from archive_store.ledger import default_actor
    from pipeline.records.export import ExportFilters, export_bag

    filters = ExportFilters(query=query, kind=kind, ground=ground, organizer=organizer, region=region,
                            outcome=outcome, date_from=date_from, date_to=date_to)
    result = export_bag(open_home(_home(ctx)), filters, dest, actor=default_actor(actor))
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        click.echo(f"已导出 {len(result.case_ids)} 个案件：{dest}（BagIt，台账第 {result.ledger_seq} 条）")
        click.echo(f"    标签清单摘要 {result.tagmanifest_sha256}")


@main.command()
@home_option
@click.argument("credit_code", required=False)
@click.option("--all", "everyone", is_flag=True, help="全部检验检测机构（与 -o 一起使用）")
@click.option("-o", "--output", "dest", type=click.Path(path_type=Path, dir_okay=False),
              help="写成表格：.xlsx 或 .csv")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@click.pass_context
def credit(ctx: click.Context, credit_code: str | None, everyone: bool, dest: Path | None, as_json: bool):
    """信用档案（第十八条）：机构的历次约谈、程序核查发现、整改情况与处理结果。

    \b
    示例：yuetan credit 91360702MA39ABCD1X
          yuetan credit --all -o 信用档案.xlsx
    """
    from archive_store.errors import InvalidArgument
    from archive_store.home import open_home
    from pipeline.records.credit import credit_file, credit_file_all, write_table

    if everyone == bool(credit_code):
        raise InvalidArgument("请给出一个统一社会信用代码，或用 --all 列出全部机构")
    home = open_home(_home(ctx))
    entries = credit_file_all(home) if everyone else credit_file(home, credit_code)
    if dest is not None:
        write_table(entries, dest)
    if as_json:
        click.echo(json.dumps({"credit_code": None if everyone else credit_code.strip().upper(),
                               "interviews": [e.as_dict() for e in entries]}, ensure_ascii=False))
        return
    if dest is not None:
        click.echo(f"已写出 {len(entries)} 次约谈的信用档案：{dest}")
        return
    if not entries:
        click.echo(f"统一社会信用代码 {credit_code} 在档案库中没有约谈记录" if credit_code else "档案库中没有机构的约谈记录")
        return
    for i, e in enumerate(entries):
        if i == 0 or e.credit_code != entries[i - 1].credit_code:
            count = sum(1 for x in entries if x.credit_code == e.credit_code)
            click.echo(f"{e.target_name}（{e.credit_code}）：约谈 {count} 次")
        click.echo(f"  {e.interview_on} {e.notice_number}（{e.organizer}）事由：{e.grounds_text}")
        click.echo(f"      程序核查：{e.findings_text}")
        r = e.rectification
        click.echo(f"      整改：方案 {r.get('plan_submitted_on') or '未提交'}，报告 "
                   f"{r.get('report_submitted_on') or '未提交'}，跟踪检查 {len(r.get('followups', []))} 次；"
                   f"处理结果：{e.outcome_label}")


@main.command()
@home_option
@click.argument("path", type=click.Path(path_type=Path))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="输出文件夹（写入约谈通知书、约谈记录的 DOCX 与 PDF/A）")
@click.pass_context
def render(ctx: click.Context, path: Path, out_dir: Path):
    """生成约谈通知书与约谈记录（DOCX 与 PDF/A-2b）。PATH 可为案件文件夹、其 zip 或 case.json。

    案件未带文号时，从档案库的文号登记表取得下一个文号；字体按 yuetan.toml 的 [documents] 设置。

    \b
    示例：yuetan render examples/institution-onsite -o 赣信检测文书
    """
    from archive_store.home import open_home
    from pipeline.dossier import render_case_documents
    from pipeline.pdf.pdfa import pdfa_converter

    home = open_home(_home(ctx))
    converter = pdfa_converter()   # starts on the first conversion: a refused case never starts it
    try:
        made = render_case_documents(path, out_dir, home=home, converter=converter)
    finally:
        converter.close()
    click.echo(f"已生成 {path} 的文书：")
    for document in made:
        click.echo(f"    {document}")


@main.command()
@home_option
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-j", "--jobs", type=click.IntRange(1, 16), default=1, show_default=True, help="并行处理的案件数")
@click.option("--supersede", is_flag=True, help="同一案件编号内容不同时，作为新版本入库（旧版本保留并关联）")
@click.option("--actor", default=None, help="操作人（写入台账；默认为当前登录名）")
@click.option("--json", "as_json", is_flag=True, help="每个案件输出一行 JSON")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], jobs: int, supersede: bool, actor: str | None,
           as_json: bool):
    """入库：生成并封存案卷，存入档案库，登记目录与台账，编入全文检索。

    PATH 可为案件文件夹、其 zip，或存放多个案件的文件夹。每个案件要么完整入库，要么不留痕迹；
    同一案件再次入库不作改动；任一案件失败不影响其余案件，退出状态表明是否有失败。

    \b
    示例：yuetan ingest examples/institution-onsite
          yuetan ingest -j 2 --actor 王晓明 /data/closed-cases/
    """
    from archive_store.home import open_home
    from archive_store.ledger import default_actor
    from pipeline.records.ingest import STATUS_LABELS, case_sources, ingest_cases

    home = open_home(_home(ctx))
    who = default_actor(actor)
    sources = case_sources(paths)

    progress = None
    if not as_json and sys.stderr.isatty():
        from rich.progress import Progress
        progress = Progress(transient=True)

    def say(line: str) -> None:
        """Above the progress bar when there is one, else plain."""
        if progress:
            progress.console.print(line, markup=False, highlight=False)
        else:
            click.echo(line)

    def report(result):
        if as_json:
            click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
        else:
            head = f"{'✗' if result.failed else '✓'} {result.source}：{STATUS_LABELS[result.status]}"
            say(head + (f" · {result.case_id} · {result.notice_number or ''}" if result.case_id else ""))
            if result.failed:
                say(f"    {result.message}")
        if progress:
            progress.advance(task)

    with progress or contextlib.nullcontext():
        task = progress.add_task("入库", total=len(sources)) if progress else None
        results = ingest_cases(sources, home=home, actor=who, jobs=jobs, supersede=supersede, on_result=report)
    failed = sum(r.failed for r in results)
    if not as_json:
        click.echo(f"共 {len(results)} 件：成功 {len(results) - failed} 件，失败 {failed} 件")
    if failed:
        statuses = {r.status for r in results if r.failed}
        sys.exit(int(ExitCode.invalid_input if "refused" in statuses else
                     ExitCode.archive_conflict if "conflict" in statuses else ExitCode.conversion_failed))


@main.command()
@home_option
@click.argument("query", required=False, default="")
@case_filter_options
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@click.pass_context
def search(ctx: click.Context, query: str, kind, ground, organizer, region, outcome, date_from, date_to,
           limit: int, as_json: bool):
    """全文检索约谈档案（含扫描件识别出的文字）。文号、统一社会信用代码、人名均可直接检索。

    \b
    示例：yuetan search 数据失实
          yuetan search 超范围 --kind institution --from 2025-01-01
          yuetan search "赣市监检约〔2025〕3号"
    """
    from archive_store.home import open_home
    from pipeline.case.contract import OUTCOME_LABELS, Outcome
    from pipeline.search.index import search as search_index

    home = open_home(_home(ctx))
    results = search_index(home.index_dir, query, kind=kind, ground=ground, organizer=organizer, region=region,
                           outcome=outcome, date_from=date_from, date_to=date_to, limit=limit)
    if as_json:
        click.echo(json.dumps(results.as_dict(), ensure_ascii=False))
        return
    click.echo(f"共找到 {results.total} 件" + (f"，显示前 {len(results.hits)} 件" if results.total > len(results.hits)
                                            else ""))
    for hit in results.hits:
        outcome_label = OUTCOME_LABELS.get(Outcome(hit.outcome), hit.outcome) if hit.outcome else ""
        click.echo(f"{hit.notice_number}  {hit.target}  约谈日期 {hit.interview_on.isoformat()}  {outcome_label}"
                   f"  （{hit.case_id}，相关度 {hit.score:.2f}）")
        for snippet in hit.snippets:
            click.echo(f"    {snippet}")


@main.command()
@home_option
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@click.pass_context
def show(ctx: click.Context, reference: str, as_json: bool):
    """显示案件的目录记录、程序核查发现、文件、版本、冻结与台账记录；已销毁的显示销毁记录。

    \b
    示例：yuetan show "赣市监检约〔2025〕3号"
          yuetan show JX-RZ-2025-017 --json
    """
    from archive_store.home import open_home
    from pipeline.records.lookup import show_case
    from pipeline.records.retention import format_tombstone

    info = show_case(open_home(_home(ctx)), reference)
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False))
        return
    if info["status"] == "purged":
        click.echo(format_tombstone(info["tombstone"]))
        return
    r = info["record"]
    status = {"current": "现行", "superseded": "已被新版本取代"}.get(info["status"], info["status"])
    click.echo(f"{r['notice_number']}  {r['title']}")
    for label, value in [("案件编号", f"{r['case_id']}（第 {r['version']} 版，{status}）"),
                         ("约谈对象", r["target_name"] + (f"（{r['credit_code']}）" if r["credit_code"] else "")),
                         ("约谈组织方", r["organizer"]), ("约谈事由", "、".join(r["grounds"]) or "集体约谈"),
                         ("约谈日期", r["interview_on"]), ("结案日期", r["closed_on"]),
                         ("处理结果", info["outcome_label"]), ("归档时间", r["archived_at"]),
                         ("卷内页数", r["page_count"]), ("清单摘要", r["manifest_sha256"]),
                         ("案卷摘要", r["dossier_sha256"])]:
        click.echo(f"    {label}：{value}")
    click.echo(f"    程序核查发现：{'无' if not info['findings'] else ''}")
    for f in info["findings"]:
        click.echo(f"      [{f['article']}] {f['message']}")
    active = [h for h in info["holds"] if not h["released_at"]]
    if active:
        click.echo(f"    冻结中：{active[-1]['reason']}（{active[-1]['held_by']}，{active[-1]['held_at']}）")
    if len(info["versions"]) > 1:
        click.echo("    版本：" + "；".join(f"第 {v['version']} 版 {v['status']} {v['archived_at']}"
                                         for v in info["versions"]))
    click.echo(f"    台账记录 {len(info['ledger'])} 条；文件 {len(info['documents'])} 个")


@main.command(name="open")
@home_option
@click.argument("reference")
@click.option("-o", "--output", "dest", required=True, type=click.Path(path_type=Path), help="案卷的输出路径")
@click.pass_context
def open_command(ctx: click.Context, reference: str, dest: Path):
    """从档案库取出案件的封存案卷（取出时核对摘要）。

    \b
    示例：yuetan open "赣市监检约〔2025〕3号" -o 案卷.pdf
    """
    from archive_store.home import open_home
    from pipeline.records.lookup import open_dossier

    record = open_dossier(open_home(_home(ctx)), reference, dest)
    click.echo(f"已取出 {record.notice_number}（{record.case_id}）的案卷：{dest}")


@main.command()
@home_option
@click.option("--actor", default=None, help="操作人（写入台账；默认为当前登录名）")
@click.pass_context
def reindex(ctx: click.Context, actor: str | None):
    """仅依据档案库（目录与存储）重建全文检索索引；新索引建成后整体替换旧索引。

    \b
    示例：yuetan reindex
    """
    from archive_store.home import open_home
    from archive_store.ledger import default_actor
    from pipeline.search.reindex import reindex as rebuild_index

    count = rebuild_index(open_home(_home(ctx)), actor=default_actor(actor))
    click.echo(f"已重建检索索引：{count} 件案件")


@main.command()
@home_option
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@click.pass_context
def audit(ctx: click.Context, as_json: bool):
    """核查档案库：每个文件的摘要、目录与存储、索引与目录、台账哈希链。

    发现问题时逐项列出并以状态 1 退出；中断的入库或销毁留下的待完成事项单独列出，不算问题。

    \b
    示例：yuetan audit
          yuetan audit --json
    """
    from archive_store.home import open_home
    from pipeline.records.audit import audit_archive

    report = audit_archive(open_home(_home(ctx)))
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        click.echo(f"{'✓ 档案库核查通过' if report.ok else f'✗ 档案库核查发现 {len(report.problems)} 处问题'}："
                   f"{report.cases} 件现行案件，{report.blobs_checked} 个文件，台账 {report.ledger_entries} 条")
        for problem in report.problems:
            click.echo(f"    ✗ {problem}")
        for item in report.pending:
            click.echo(f"    · 待完成：{item}")
    if not report.ok:
        sys.exit(int(ExitCode.failed_check))


@main.group(name="ledger", cls=YuetanGroup)
def ledger_group():
    """台账（只增不改的哈希链）：查看与核验。"""


@ledger_group.command(name="verify")
@home_option
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@click.pass_context
def ledger_verify(ctx: click.Context, as_json: bool):
    """核验台账哈希链：发现被修改、删除或调换次序的记录。

    \b
    示例：yuetan ledger verify
    """
    from archive_store import ledger
    from archive_store.home import open_home

    with open_home(_home(ctx)).catalog() as catalog:
        problems = ledger.verify_chain(catalog.conn)
        count = len(ledger.entries(catalog.conn))
    if as_json:
        click.echo(json.dumps({"ok": not problems, "entries": count, "problems": problems}, ensure_ascii=False))
    else:
        click.echo(f"{'✓ 台账完整' if not problems else '✗ 台账被改动'}：共 {count} 条记录")
        for problem in problems:
            click.echo(f"    ✗ {problem}")
    if problems:
        sys.exit(int(ExitCode.failed_check))


@ledger_group.command(name="list")
@home_option
@click.argument("case_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="每条记录输出一行 JSON")
@click.pass_context
def ledger_list(ctx: click.Context, case_id: str | None, as_json: bool):
    """列出台账记录（可只列某一案件的）。

    \b
    示例：yuetan ledger list JX-RZ-2025-017
    """
    from archive_store import ledger
    from archive_store.home import open_home

    with open_home(_home(ctx)).catalog() as catalog:
        for entry in ledger.entries(catalog.conn, case_id):
            if as_json:
                click.echo(json.dumps(entry.as_dict(), ensure_ascii=False))
            else:
                click.echo(f"{entry.seq:>5}  {entry.at}  {entry.actor}  {entry.action}  {entry.case_id or ''}  "
                           f"{entry.entry_hash[:16]}")
