"""The `yuetan` command: parses arguments, calls the core API (`pipeline.api`), prints its answer. Nothing else."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from pipeline import api
from pipeline.cli import click_zh
from pipeline.cli import output as out
from pipeline.cli.options import (
    CONTEXT,
    DATE,
    HOME_HELP,
    DefaultCommand,
    MainGroup,
    ModeGroup,
    YuetanGroup,
    actor_option,
    archive,
    case_filter_options,
    common_options,
    configure_logging,
    console_actor,
    finish,
    home_path,
    json_option,
    verbose_option,
)

click_zh.install()
configure_logging()


@click.group(cls=MainGroup, context_settings=CONTEXT)
@click.option("--home", type=click.Path(path_type=Path), help=HOME_HELP)
@verbose_option
@click.version_option(package_name="yuetan", message="yuetan %(version)s")
@click.pass_context
def main(ctx: click.Context, home: Path | None):
    """约谈档案：检验检测领域约谈案件的归档流水线。

    \b
    示例：
      yuetan init --home /srv/yuetan
      yuetan check examples/institution-onsite
      yuetan -v ingest examples/institution-onsite   （-v 显示各阶段耗时）
    """
    ctx.ensure_object(dict)["home"] = home


@main.command()
@common_options
@click.option("--organizer", help="约谈组织方名称，写入开发测试用印章的证书名称")
@click.pass_context
def init(ctx: click.Context, organizer: str | None):
    """创建档案库文件夹（设置、目录数据库）；未配置印章证书时生成开发测试用印章。

    \b
    示例：yuetan init --home /srv/yuetan --organizer 江西省市场监督管理局
    """
    out.init(api.init(home_path(ctx), actor=console_actor(reading=True), organizer=organizer))


@main.command()
@common_options
def schema():
    """打印案件数据契约（schema_version 1）的 JSON Schema。

    \b
    示例：yuetan schema > case.schema.json
    """
    out.as_json(api.schema(), indent=2)


@main.command()
@common_options
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option("输出 JSON（多个案件时每行一个对象）")
def check(paths: tuple[Path, ...], as_json: bool):
    """核验案件：数据契约与《实施办法》程序要求。PATH 可为案件文件夹、其 zip 或 case.json。

    无效输入逐项列出并以状态 2 退出；程序问题（如通知书送达过晚）作为核查发现列出，不影响收档。

    \b
    示例：yuetan check examples/refused-to-sign
          yuetan check --json case.zip
    """
    results = [api.check(path) for path in paths]
    for result in results:
        out.as_json(result) if as_json else out.check(result)
    for result in results:
        finish(result)


@main.command()
@common_options
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
    out.render(api.render(archive(ctx), path, out_dir, actor=console_actor(reading=True)))


@main.command()
@common_options
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
    home = archive(ctx)
    out.build(api.build(home, path, dest, actor=console_actor(filed_by)))


@main.command()
@common_options
@click.argument("dossier", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--trust", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="信任的印章证书（PEM/DER 证书或 PKCS#12）；不给出时只核验印章完好，并列出签章者")
@json_option()
def verify(dossier: Path, trust: Path | None, as_json: bool):
    """核验案卷：电子印章完好且覆盖整个文件、清单摘要（XMP、备考表、嵌入文件）一致、PDF/A 标识。

    全部满足时退出状态为 0，否则为 1 并指明哪一项不满足。

    \b
    示例：yuetan verify 赣信检测案卷.pdf
          yuetan verify --json 赣信检测案卷.pdf
    """
    result = api.verify(dossier, trust=trust)
    out.as_json(result) if as_json else out.verify(result)
    finish(result)


@main.command()
@common_options
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-j", "--jobs", type=click.IntRange(1, 16), default=1, show_default=True, help="并行处理的案件数")
@click.option("--supersede", is_flag=True, help="同一案件编号内容不同时，作为新版本入库（旧版本保留并关联）")
@actor_option()
@json_option("每个案件输出一行 JSON")
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
    home = archive(ctx)
    who = console_actor(actor)
    progress = None
    if not as_json and sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress
        progress = Progress(transient=True, console=Console(file=out.raw(sys.stderr)))  # its escapes draw the bar
    task = None

    def started(count: int) -> None:
        nonlocal task
        if progress:
            task = progress.add_task("入库", total=count)

    def report(row: api.models.IngestRow) -> None:
        if as_json:
            out.as_json(row)
        else:
            for line in out.ingest_row_lines(row):
                if progress:      # above the progress bar
                    progress.console.print(api.visible(line), markup=False, highlight=False)
                else:
                    click.echo(line)
        if progress:
            progress.advance(task)

    with progress or contextlib.nullcontext():
        result = api.ingest(home, paths, actor=who, jobs=jobs, supersede=supersede, on_result=report,
                            on_start=started)
    if not as_json:
        out.ingest_summary(result)
    finish(result)


@main.command()
@common_options
@click.argument("query", required=False, default="")
@case_filter_options
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@json_option()
@click.pass_context
def search(ctx: click.Context, query: str, kind, ground, organizer, region, outcome, date_from, date_to,
           limit: int, as_json: bool):
    """全文检索约谈档案（含扫描件识别出的文字）。文号、统一社会信用代码、人名均可直接检索。

    \b
    示例：yuetan search 数据失实
          yuetan search 超范围 --kind institution --from 2025-01-01
          yuetan search "赣市监检约〔2025〕3号"
    """
    result = api.search(archive(ctx), query, actor=console_actor(reading=True), kind=kind, ground=ground,
                        organizer=organizer, region=region, outcome=outcome, date_from=date_from, date_to=date_to,
                        limit=limit)
    out.as_json(result) if as_json else out.search(result)


@main.command()
@common_options
@click.argument("reference")
@json_option()
@click.pass_context
def show(ctx: click.Context, reference: str, as_json: bool):
    """显示案件的目录记录、程序核查发现、文件、版本、冻结与台账记录；已销毁的显示销毁记录。

    \b
    示例：yuetan show "赣市监检约〔2025〕3号"
          yuetan show JX-RZ-2025-017 --json
    """
    result = api.show(archive(ctx), reference, actor=console_actor(reading=True))
    out.as_json(result) if as_json else out.show(result)


@main.command(name="open")
@common_options
@click.argument("reference")
@click.option("-o", "--output", "dest", required=True, type=click.Path(path_type=Path), help="案卷的输出路径")
@click.pass_context
def open_command(ctx: click.Context, reference: str, dest: Path):
    """从档案库取出案件的封存案卷（取出时核对摘要）。

    \b
    示例：yuetan open "赣市监检约〔2025〕3号" -o 案卷.pdf
    """
    out.open_dossier(api.open_dossier(archive(ctx), reference, dest, actor=console_actor(reading=True)))


@main.command()
@common_options
@actor_option()
@click.pass_context
def reindex(ctx: click.Context, actor: str | None):
    """仅依据档案库（目录与存储）重建全文检索索引；新索引建成后整体替换旧索引。

    按 yuetan.toml 中 [index] engine（whoosh 或 tantivy）所指的引擎建索引：修改该设置后运行本命令即切换引擎。

    \b
    示例：yuetan reindex
    """
    out.reindex(api.reindex(archive(ctx), actor=console_actor(actor)))


@main.command()
@common_options
@click.option("--interval", type=click.FloatRange(0.5, 3600), default=3.0, show_default=True,
              help="检查目录变化的间隔（秒）")
@click.option("--once", is_flag=True, help="只追一次，追上后退出")
@click.pass_context
def follow(ctx: click.Context, interval: float, once: bool):
    """让本节点的检索索引跟上共享目录：按台账序号补入其他节点入库的案件、移除已销毁的案件。

    多个节点共用一个目录（PostgreSQL）与存储时，每个节点各有自己的索引；本命令在启动时与之后每隔几秒追一次，
    直到被停止（systemd 的 yuetan-follow.service 即运行它）。

    \b
    示例：yuetan follow
          yuetan follow --once
    """
    home = archive(ctx)
    actor = console_actor(reading=True)
    if once:
        out.follow(api.follow(home, actor=actor, once=True))
        return
    out.follow(api.follow(home, actor=actor, once=True))
    with contextlib.suppress(KeyboardInterrupt):
        api.follow(home, actor=actor, interval=interval, on_change=out.follow)


@main.command()
@common_options
@json_option()
@actor_option()
@click.pass_context
def migrate(ctx: click.Context, as_json: bool, actor: str | None):
    """把目录数据库的表结构升级到本程序的版本（Alembic）。PostgreSQL 目录只由本命令升级，在一个节点上运行；
    SQLite 目录在打开时自动升级。

    \b
    示例：yuetan migrate
    """
    result = api.migrate(home_path(ctx), actor=console_actor(actor))     # the catalog may not exist yet
    out.as_json(result) if as_json else out.migrate(result)


@main.command()
@common_options
@json_option()
@click.pass_context
def audit(ctx: click.Context, as_json: bool):
    """核查档案库：每个文件的摘要、目录与存储、索引与目录、台账哈希链。

    发现问题时逐项列出并以状态 1 退出；中断的入库或销毁留下的待完成事项单独列出，不算问题。

    \b
    示例：yuetan audit
          yuetan audit --json
    """
    result = api.audit(archive(ctx, check_head=False), actor=console_actor(reading=True))
    out.as_json(result) if as_json else out.audit(result)
    finish(result)


@main.command()
@common_options
@click.option("-o", "--output", "dest", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="备份文件（在档案库之外；不覆盖已有文件）")
@actor_option()
@json_option()
@click.pass_context
def backup(ctx: click.Context, dest: Path, actor: str | None, as_json: bool):
    """备份目录数据库（案件目录、文号登记表、台账）为一个文件；存储（blobs）中的文件按原样复制即可。

    \b
    示例：yuetan backup -o /backup/yuetan-catalog-20260101.sqlite
    """
    result = api.backup(archive(ctx), dest, actor=console_actor(actor))
    out.as_json(result) if as_json else out.backup(result)


@main.command()
@common_options
@click.argument("backup_file", type=click.Path(path_type=Path, dir_okay=False))
@actor_option()
@json_option()
@click.pass_context
def restore(ctx: click.Context, backup_file: Path, actor: str | None, as_json: bool):
    """从备份恢复目录数据库：只在目录数据库缺失、损坏或被替换（yuetan 以状态 7 拒绝运行）时可用。

    先核对备份：是本档案库的、SQLite 完整、台账哈希链完整、与台账头副本一致。原目录数据库移入 damaged/ 保留；
    存储中有而备份不知道的案件，其文号重新登记，不会再次发出；丢失的台账条目记入一条新的台账记录。

    \b
    示例：yuetan restore /backup/yuetan-catalog-20260101.sqlite
    """
    result = api.restore(home_path(ctx), backup_file, actor=console_actor(actor))
    out.as_json(result) if as_json else out.restore(result)


@main.group(name="ledger", cls=YuetanGroup)
def ledger_group():
    """台账（只增不改的哈希链）：查看与核验。"""


@ledger_group.command(name="verify")
@common_options
@json_option()
@click.pass_context
def ledger_verify(ctx: click.Context, as_json: bool):
    """核验台账哈希链：发现被修改、删除或调换次序的记录。

    \b
    示例：yuetan ledger verify
    """
    result = api.ledger_verify(archive(ctx, check_head=False), actor=console_actor(reading=True))
    out.as_json(result) if as_json else out.ledger_verify(result)
    finish(result)


@ledger_group.command(name="list")
@common_options
@click.argument("case_id", required=False)
@json_option("每条记录输出一行 JSON")
@click.pass_context
def ledger_list(ctx: click.Context, case_id: str | None, as_json: bool):
    """列出台账记录（可只列某一案件的）。

    \b
    示例：yuetan ledger list JX-RZ-2025-017
    """
    result = api.ledger_list(archive(ctx), case_id, actor=console_actor(reading=True))
    out.json_lines(result.entries) if as_json else out.ledger_list(result)


# --- retention, holds, purge, export, credit ------------------------------------------------------------------

@main.command()
@common_options
@click.option("--as-of", type=DATE, help="按此日期计算（YYYY-MM-DD，默认今天）")
@json_option()
@click.pass_context
def retention(ctx: click.Context, as_of, as_json: bool):
    """列出每个案件的保管期限：结案日期、到期日期、可销毁日期、是否冻结、状态。

    保管期限六年（第二十条，可在 yuetan.toml 的 [retention] years 中设置），自结案之次年1月1日起计算。

    \b
    示例：yuetan retention
          yuetan retention --as-of 2026-01-01 --json
    """
    result = api.retention(archive(ctx), actor=console_actor(reading=True), as_of=as_of)
    out.as_json(result) if as_json else out.retention(result)


def _hold_command(name: str, doc: str):
    @main.command(name=name, help=doc)
    @common_options
    @click.argument("case")
    @click.option("--reason", required=True, help="理由（记入台账）")
    @actor_option("操作人（默认为当前登录名）")
    @click.pass_context
    def command(ctx: click.Context, case: str, reason: str, actor: str | None):
        change = api.hold if name == "hold" else api.release
        out.hold(change(archive(ctx), case, reason=reason, actor=console_actor(actor)))
    return command


_hold_command("hold", """冻结案件（法律保全）：冻结中的案件不会被销毁。CASE 为案件编号或文号。

    \b
    示例：yuetan hold GZ-RZ-2025-004 --reason 行政复议期间保全""")
_hold_command("release", """解除案件冻结。CASE 为案件编号或文号。

    \b
    示例：yuetan release GZ-RZ-2025-004 --reason 行政复议已终结""")


@main.group(cls=ModeGroup)
def purge():
    """销毁到期档案：先编制销毁清册（purge plan），经鉴定、批准后执行（purge execute）。

    两种做法：清册写到 -o 文件夹，纸面签批后 purge execute plan.json --approved-by 批准人；或清册保存在档案库中
    （purge plan 不带 -o），与网页同一套审批：purge review 批准或驳回，两名批准人以外的监销人 purge witness，
    再 purge execute 计划编号。旧写法 purge --plan -o 文件夹 与 purge --execute plan.json 仍然可用。

    \b
    示例：yuetan purge plan -o 销毁计划2026
          yuetan purge execute 销毁计划2026/plan.json --approved-by 张局长
          yuetan purge plan --actor 王档案 && yuetan purge list
          yuetan purge review XH-2032-0001 --approve --reason 经鉴定同意销毁 --actor 张局长
          yuetan purge witness XH-2032-0001 --actor 刘监销
          yuetan purge execute XH-2032-0001 --actor 王档案
    """


purge.default = "flags"


@purge.command(name="plan")
@common_options
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              help="销毁清册与 plan.json 的输出文件夹（不给则保存在档案库中，待 purge review 审批）")
@click.option("--as-of", type=DATE, help="按此日期计算到期（YYYY-MM-DD，默认今天）")
@actor_option("操作人（默认为当前登录名）")
@json_option()
@click.pass_context
def purge_plan(ctx: click.Context, out_dir: Path | None, as_of, actor: str | None, as_json: bool):
    """编制销毁清册与销毁计划：写出 销毁清册.xlsx、销毁清册.pdf（PDF/A）和 plan.json，只列到期且未冻结的案件，
    不删除任何内容。不给 -o 时清册保存在档案库中（与网页“保管与销毁”所编的相同），经 purge review 批准、
    purge witness 两人监销后由 purge execute 计划编号 执行。

    \b
    示例：yuetan purge plan -o 销毁计划2032 --as-of 2032-01-01
          yuetan purge plan --as-of 2032-01-01 --actor 王档案
    """
    if out_dir is None:
        state = api.approvals.draft_plan(archive(ctx), actor=console_actor(actor), as_of=as_of)
        if as_json:
            out.as_json(state) if state is not None else out.say("null")
        else:
            out.plan_state(state, as_of=as_of)
        return
    plan = api.purge_plan(archive(ctx), out_dir, actor=console_actor(actor), as_of=as_of)
    out.as_json(plan) if as_json else out.purge_plan(plan)


@purge.command(name="list")
@common_options
@json_option("输出 JSON（每个计划一行）")
@click.pass_context
def purge_list(ctx: click.Context, as_json: bool):
    """列出档案库中的销毁计划及其审批状态（待审批、已批准待监销、已监销待执行、已执行、已驳回）。

    \b
    示例：yuetan purge list
    """
    plans = api.approvals.plans(archive(ctx), actor=console_actor(reading=True))
    out.json_lines(plans) if as_json else out.plan_list(plans)


@purge.command(name="review")
@common_options
@click.argument("plan_id")
@click.option("--approve/--reject", "approve", default=None, help="批准或驳回（必须二选一）")
@click.option("--reason", required=True, help="审批意见（记入台账）")
@actor_option("审批人（默认为当前登录名；不能是清册编制人）")
@json_option()
@click.pass_context
def purge_review(ctx: click.Context, plan_id: str, approve: bool | None, reason: str, actor: str | None,
                 as_json: bool):
    """审批档案库中的销毁计划：批准或驳回，意见记入台账与审批记录。编制清册的人不能审批它。

    \b
    示例：yuetan purge review XH-2032-0001 --approve --reason 经鉴定同意销毁 --actor 张局长
    """
    if approve is None:
        raise api.InvalidArgument("请用 --approve（批准）或 --reject（驳回）写明审批结果")
    state = api.approvals.review_plan(archive(ctx), plan_id, actor=console_actor(actor), approve=approve,
                                      reason=reason)
    out.as_json(state) if as_json else out.plan_state(state)


@purge.command(name="witness")
@common_options
@click.argument("plan_id")
@click.option("--reason", default="到场监销", show_default=True, help="监销意见（记入台账）")
@actor_option("监销人（默认为当前登录名；不能是批准人，两人须不同）")
@json_option()
@click.pass_context
def purge_witness(ctx: click.Context, plan_id: str, reason: str, actor: str | None, as_json: bool):
    """监销人确认到场：已批准的销毁计划须经批准人以外的两名监销人确认后才能执行。

    \b
    示例：yuetan purge witness XH-2032-0001 --actor 刘监销
    """
    state = api.approvals.witness_plan(archive(ctx), plan_id, actor=console_actor(actor), reason=reason)
    out.as_json(state) if as_json else out.plan_state(state)


@purge.command(name="execute")
@common_options
@click.argument("plan_path", metavar="PLAN")
@click.option("--approved-by", default=None, help="批准人（执行 plan.json 文件时必填）")
@actor_option("操作人（默认为当前登录名）")
@json_option()
@click.pass_context
def purge_execute(ctx: click.Context, plan_path: str, approved_by: str | None, actor: str | None, as_json: bool):
    """执行经批准的销毁计划：PLAN 为纸面签批的 plan.json（配 --approved-by 批准人），或档案库中已批准、
    已经两人监销的计划编号（见 purge list）。只销毁计划中仍已到期、未冻结、未改动的案件；保留销毁记录、
    计划与台账。中断后重新运行即可补完。

    \b
    示例：yuetan purge execute 销毁计划2026/plan.json --approved-by 张局长
          yuetan purge execute XH-2032-0001 --actor 王档案
    """
    home = archive(ctx)
    if approved_by is None:
        if plan_path.endswith(".json") or Path(plan_path).exists():
            raise api.InvalidArgument("执行 plan.json 文件需要 --approved-by 批准人；"
                                      "档案库中经审批的计划请给出计划编号（见 yuetan purge list）")
        report = api.approvals.execute_plan(home, plan_path, actor=console_actor(actor))
    else:
        report = api.purge_execute(home, Path(plan_path), approved_by=approved_by, actor=console_actor(actor))
    out.as_json(report) if as_json else out.purge_execute(report)


@purge.command(name="flags", cls=DefaultCommand, hidden=True)
@common_options
@click.option("--plan", "make_plan", is_flag=True, help="编制销毁清册与销毁计划（不删除任何内容）")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              help="--plan：销毁清册与 plan.json 的输出文件夹")
@click.option("--as-of", type=DATE, help="--plan：按此日期计算到期（YYYY-MM-DD，默认今天）")
@click.option("--execute", "plan_path", type=click.Path(path_type=Path, dir_okay=False),
              help="执行经批准的销毁计划（plan.json）")
@click.option("--approved-by", default=None, help="--execute：批准人")
@actor_option("操作人（默认为当前登录名）")
@json_option()
@click.pass_context
def purge_flags(ctx: click.Context, make_plan: bool, out_dir: Path | None, as_of, plan_path: Path | None,
                approved_by: str | None, actor: str | None, as_json: bool):
    """The flag forms of before: purge --plan -o DIR, purge --execute plan.json --approved-by NAME.

    \b
    示例：yuetan purge --plan -o 销毁计划2026
    """
    if make_plan == bool(plan_path):
        raise api.InvalidArgument("请给出 --plan -o 文件夹（编制计划）或 --execute plan.json（执行计划）二者之一")
    if make_plan:
        if out_dir is None:
            raise api.InvalidArgument("--plan 需要 -o 输出文件夹")
        ctx.invoke(purge_plan, out_dir=out_dir, as_of=as_of, actor=actor, as_json=as_json)
        return
    if as_of is not None or out_dir is not None:
        raise api.InvalidArgument("--as-of 与 -o 只用于 --plan；--execute 按今天的日期核对是否到期")
    if not approved_by:
        raise api.InvalidArgument("--execute 需要 --approved-by 批准人")
    ctx.invoke(purge_execute, plan_path=str(plan_path), approved_by=approved_by, actor=actor, as_json=as_json)


class ExportGroup(ModeGroup):
    default = "create"
    help_goes_to_default = True


@main.group(cls=ExportGroup)
def export():
    """合规导出（yuetan export …）与核验收回的导出包（yuetan export verify）。"""


@export.command(name="create", cls=DefaultCommand, hidden=True)
@common_options
@click.argument("query", required=False)
@case_filter_options
@click.option("-o", "--output", "dest", type=click.Path(path_type=Path, dir_okay=False), help="导出的 zip 文件")
@click.option("--verify", "verify_path", type=click.Path(path_type=Path, dir_okay=False),
              help="核验收回的导出包（zip），不导出（同 yuetan export verify）")
@click.option("--trust", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="--verify：信任的印章证书（PEM/DER 或 PKCS#12）")
@actor_option("操作人（默认为当前登录名）")
@json_option()
@click.pass_context
def export_create(ctx: click.Context, query, kind, ground, organizer, region, outcome, date_from, date_to,
                  dest: Path | None, verify_path: Path | None, trust: Path | None, actor: str | None,
                  as_json: bool):
    """合规导出：把选定案件的案卷、case.json、清单、汇总表和相关台账写成 BagIt 包（sha256），以本库印章签名。

    筛选条件与 yuetan search 相同；导出本身记入台账。yuetan export verify 核验收回的导出包：zip 结构、BagIt 清单、
    电子签名、台账哈希链，逐项说明哪一项未通过。

    \b
    示例：yuetan export --organizer 赣州市 --from 2025-01-01 -o 赣州2025.zip
          yuetan export 数据失实 --ground 6.2 -o 数据失实.zip
          yuetan export verify 赣州2025.zip
    """
    if verify_path is not None:
        ctx.invoke(export_verify, path=verify_path, trust=trust, as_json=as_json)
        return
    if dest is None:
        raise api.InvalidArgument("请用 -o 给出导出的 zip 文件（或用 yuetan export verify 核验导出包）")
    if trust is not None:
        raise api.InvalidArgument("--trust 只用于核验导出包（yuetan export verify）")
    filters = api.ExportFilters(query=query, kind=kind, ground=ground, organizer=organizer, region=region,
                                outcome=outcome, date_from=date_from, date_to=date_to)
    result = api.export(archive(ctx), filters, dest, actor=console_actor(actor))
    out.as_json(result) if as_json else out.export(result)


@export.command(name="verify")
@common_options
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--trust", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="信任的印章证书（PEM/DER 或 PKCS#12）；不给出时在档案库中按本库印章核验，否则只核验签名完好")
@json_option()
@click.pass_context
def export_verify(ctx: click.Context, path: Path, trust: Path | None, as_json: bool):
    """核验收回的导出包（zip）：zip 结构、BagIt 清单、印章对标签清单的电子签名、台账哈希链，
    以及（在原档案库中时）本库台账；逐项说明哪一项未通过。

    \b
    示例：yuetan export verify 赣州2025.zip
          yuetan export verify 赣州2025.zip --trust 印章证书.crt
    """
    result = api.export_verify(path, home=home_path(ctx), trust=trust)
    out.as_json(result) if as_json else out.export_verify(result)
    finish(result)


@main.command()
@common_options
@click.argument("credit_code", required=False)
@click.option("--all", "everyone", is_flag=True, help="全部检验检测机构（与 -o 一起使用）")
@click.option("-o", "--output", "dest", type=click.Path(path_type=Path, dir_okay=False),
              help="写成表格：.xlsx 或 .csv")
@json_option()
@click.pass_context
def credit(ctx: click.Context, credit_code: str | None, everyone: bool, dest: Path | None, as_json: bool):
    """信用档案（第十八条）：机构的历次约谈、程序核查发现、整改情况与处理结果。

    \b
    示例：yuetan credit 91360702MA39ABCD1X
          yuetan credit --all -o 信用档案.xlsx
    """
    if everyone == bool(credit_code):
        raise api.InvalidArgument("请给出一个统一社会信用代码，或用 --all 列出全部机构")
    result = api.credit(archive(ctx), None if everyone else credit_code, actor=console_actor(reading=True),
                        dest=dest)
    out.as_json(result) if as_json else out.credit(result)


@main.command()
@common_options
@json_option()
@click.pass_context
def statistics(ctx: click.Context, as_json: bool):
    """统计现行案件：按约谈年份、组织方、地区、事由、处理结果、对象类型计数；程序核查发现按条款、按组织方计数。

    \b
    示例：yuetan statistics
          yuetan statistics --json
    """
    result = api.statistics(archive(ctx), actor=console_actor(reading=True))
    out.as_json(result) if as_json else out.statistics(result)


@main.command()
@common_options
@click.option("--year", required=True, type=click.IntRange(1900, 2999), help="年度（结案年度，四位数字）")
@click.option("-o", "--output", "dest", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="目录文件：.xlsx 或 .pdf（A4 横向，PDF/A）")
@actor_option("操作人（默认为当前登录名）")
@json_option()
@click.pass_context
def catalogue(ctx: click.Context, year: int, dest: Path, actor: str | None, as_json: bool):
    """案卷目录（归档文件目录）：该年度结案案件的全部档号，按档号顺序，列序号、档号、文号、责任者、题名、
    起止日期、页数、保管期限、备注。

    \b
    示例：yuetan catalogue --year 2025 -o 2025年度案卷目录.xlsx
          yuetan catalogue --year 2025 -o 2025年度案卷目录.pdf
    """
    result = api.catalogue(archive(ctx), year, dest, actor=console_actor(actor, reading=True))
    out.as_json(result) if as_json else out.catalogue(result)


@main.command()
@common_options
@click.option("--year", type=click.IntRange(1900, 2999), help="移交的年度（结案年度）")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              help="移交输出文件夹（不存在或为空）")
@click.option("--receiver", default="", help="接收单位（印在移交清单上，如某市档案馆）")
@click.option("--verify", "verify_path", type=click.Path(path_type=Path),
              help="接收方核验移交包（移交文件夹或其中的 zip），不编制移交")
@click.option("--trust", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="--verify：信任的印章证书（PEM/DER 或 PKCS#12）；不给出时在档案库中按本库印章核验")
@actor_option("操作人（默认为当前登录名）")
@json_option()
@click.pass_context
def handover(ctx: click.Context, year: int | None, out_dir: Path | None, receiver: str, verify_path: Path | None,
             trust: Path | None, actor: str | None, as_json: bool):
    """年度移交：该年度在库案卷写成 BagIt 包（含案卷目录与移交清单），以本库印章签名，供移交、接收双方签字；记入台账。
    --verify 在接收方核验移交包：包的校验和与电子签名（--trust 给出信任的印章证书）、台账哈希链、每卷的电子印章与
    PDF/A、案卷目录与包内案卷一一对应。

    \b
    示例：yuetan handover --year 2025 -o 2025年度移交 --receiver 江西省档案馆
          yuetan handover --verify 2025年度移交 --trust 印章证书.crt
    """
    if verify_path is not None:
        if year is not None or out_dir is not None:
            raise api.InvalidArgument("--verify 只核验移交包，不与 --year、-o 同用")
        result = api.handover_verify(verify_path, home=home_path(ctx), trust=trust)
        out.as_json(result) if as_json else out.handover_verify(result)
        finish(result)
        return
    if year is None or out_dir is None:
        raise api.InvalidArgument("请给出 --year 年度与 -o 输出文件夹（或用 --verify 核验移交包）")
    if trust is not None:
        raise api.InvalidArgument("--trust 只与 --verify 一起使用")
    result = api.handover(archive(ctx), year, out_dir, actor=console_actor(actor), receiver=receiver)
    out.as_json(result) if as_json else out.handover(result)
