"""The `yuetan` command: parses arguments, calls the stages, prints. Nothing else lives here."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from archive_store.home import init_home, resolve_home

from . import click_zh
from .contract import case_json_schema
from .errors import ExitCode, InvalidCase, YuetanError
from .findings import SEVERITY_LABELS, assess_procedure
from .intake import open_case

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
@click.pass_context
def init(ctx: click.Context):
    """创建档案库文件夹（设置、目录数据库）。

    \b
    示例：yuetan init --home /srv/yuetan
    """
    home, created = init_home(_home(ctx))
    click.echo(f"{'已创建档案库' if created else '档案库已存在'}：{home.path.resolve()}")


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

    from .dossier import build_dossier
    from .external.libreoffice import LibreOfficeConverter

    home = open_home(_home(ctx))
    with LibreOfficeConverter() as converter:
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
    from .verify import verify_dossier

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
    if not report.ok:
        sys.exit(int(ExitCode.failed_check))
