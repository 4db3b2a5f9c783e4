"""`yuetan serve` and `yuetan user …`: the web application's commands, plugged into the `yuetan` command through
the `yuetan.commands` entry points (the command line itself does not import the web face)."""
from __future__ import annotations

import ctypes
import getpass
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import click

from pipeline.api import ConfigurationError, InvalidArgument, open_archive, resolve_home
from pipeline.api.authority import ROLE_LABELS, ROLES


def _home_option(command):
    return click.option("--home", type=click.Path(path_type=Path), default=None,
                        help="档案库文件夹（默认 $YUETAN_HOME，否则 ./yuetan-archive）")(command)


def _open(ctx: click.Context, home: Path | None):
    """The archive (from --home here, else the one given before the command), Django configured for it."""
    from pipeline.web import config

    given = home or (ctx.find_root().obj or {}).get("home")
    archive = open_archive(resolve_home(given))
    config.configure(archive)
    config.migrate()
    return archive


def console_actor() -> str:
    """The person at the archive's machine, as the ledger names them."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        raise ConfigurationError("无法确定操作人（系统未提供登录名）") from None


@click.command()
@_home_option
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址（对外服务请置于 TLS 反向代理之后）")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="监听端口")
@click.option("--workers", type=click.IntRange(1, 32), default=None,
              help="工作进程数（默认按 yuetan.toml 的 [web] workers，初始为 2）")
@click.option("--follow/--no-follow", "follow", default=None,
              help="同时运行索引跟随（yuetan follow）：目录在 PostgreSQL 上（多节点）时默认开启，SQLite 时默认关闭")
@click.pass_context
def serve(ctx: click.Context, home: Path | None, host: str, port: int, workers: int | None, follow: bool | None):
    """运行约谈档案网页服务（gunicorn；静态文件由 whitenoise 提供）。

    首次运行时在档案库数据库中建立账户等数据表。账户用 yuetan user add 创建。
    对外服务时请置于 TLS 反向代理之后，并在 yuetan.toml 的 [web] 中设 behind_tls = true、allowed_hosts。
    多节点（目录在 PostgreSQL 上）时，本节点的检索索引由一同启动的 yuetan follow 进程跟上其他节点的入库与销毁，
    服务停止时它也停止（也可用 --no-follow 关闭，改由 systemd 的 yuetan-follow.service 运行）。

    \b
    示例：yuetan serve --home /srv/yuetan --host 127.0.0.1 --port 8000
    """
    from pipeline.web.server import run

    archive = _open(ctx, home)
    if follow is None:
        follow = not archive.catalog_location.is_sqlite
    follower = _start_follower(archive) if follow else None
    try:
        run(archive, host=host, port=port, workers=workers)
    finally:
        if follower is not None:
            follower.terminate()
            try:
                follower.wait(timeout=30)
            except subprocess.TimeoutExpired:
                follower.kill()
                follower.wait()


def _start_follower(archive) -> subprocess.Popen:
    """`yuetan follow` for this node as a child process: gunicorn forks its workers from this process, and a
    thread here (with its pooled database connections) must not be copied into them. The kernel ends it when
    this process ends, however it ends (a SIGKILLed server runs no `finally`)."""
    server = os.getpid()
    return subprocess.Popen([sys.executable, "-c", "from pipeline.cli import main; main()",
                             "--home", str(archive.path), "follow"], stdin=subprocess.DEVNULL,
                            preexec_fn=lambda: _die_with(server))


PR_SET_PDEATHSIG = 1       # <linux/prctl.h>


def _die_with(server: int) -> None:
    """In the follower, between fork and exec: SIGTERM when the server's thread that forked it exits (Linux's
    PR_SET_PDEATHSIG, kept across exec); a server already gone before that is caught by the parent check."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != server:
        os._exit(0)


@click.group()
def user():
    """网页服务的账户：创建、列出、停用、签发 API 令牌。

    \b
    示例：yuetan user add 王晓明 --role archivist
    """


def _read_password(password_file: Path | None) -> str:
    if password_file is not None:
        try:
            text = password_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"无法读取密码文件 {password_file}（{exc}）") from None
        return text.splitlines()[0] if text.splitlines() else ""
    if sys.stdin.isatty():
        return click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
    return sys.stdin.readline().rstrip("\r\n")


@user.command(name="add")
@_home_option
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="角色（可多次给出）：sysadmin 系统管理员、secadmin 安全管理员、auditor 安全审计员、"
                   "archivist 档案员、reader 查阅人员、approver 审批人、inspector 检查人员")
@click.option("--full-name", default="", help="姓名（显示用）")
@click.option("--password-file", type=click.Path(path_type=Path, dir_okay=False),
              help="从文件第一行读取密码（否则在终端提示输入；非终端时从标准输入读取一行）")
@click.pass_context
def user_add(ctx: click.Context, home: Path | None, name: str, roles: tuple[str, ...], full_name: str,
             password_file: Path | None):
    """创建账户并授予角色。三员（sysadmin、secadmin、auditor）与检查人员不得兼任其他角色。

    \b
    示例：yuetan user add 王晓明 --role archivist --role reader
          yuetan user add 审计员李 --role auditor --password-file 密码.txt
    """
    archive = _open(ctx, home)
    from pipeline.web.accounts import service

    password = _read_password(password_file)
    account = service.add_account(archive, name, roles=roles, password=password, full_name=full_name,
                                  by=console_actor())
    click.echo(f"已创建账户 {account.username}：{'、'.join(ROLE_LABELS[r] for r in sorted(roles))}")


@user.command(name="list")
@_home_option
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（每个账户一行）")
@click.pass_context
def user_list(ctx: click.Context, home: Path | None, as_json: bool):
    """列出账户：角色、是否停用、最近登录、有效的 API 令牌。

    \b
    示例：yuetan user list
    """
    _open(ctx, home)
    from pipeline.web.accounts import service

    accounts = service.list_accounts()
    for a in accounts:
        if as_json:
            click.echo(json.dumps(a, ensure_ascii=False))
        else:
            roles = "、".join(ROLE_LABELS[r] for r in a["roles"]) or "（无角色）"
            state = "正常" if a["active"] else "已停用"
            token = f"，API 令牌 {a['token_prefix']}…" if a["token_prefix"] else ""
            click.echo(f"{a['username']:<12} {a['full_name'] or '':<8} {roles}　{state}　"
                       f"最近登录 {a['last_login'] or '从未'}{token}")
    if not accounts and not as_json:
        click.echo("还没有账户：用 yuetan user add 创建")


@user.command(name="disable")
@_home_option
@click.argument("name")
@click.pass_context
def user_disable(ctx: click.Context, home: Path | None, name: str):
    """停用账户：不能再登录，其会话与 API 令牌立即失效（账户保留，台账中的姓名仍可追溯）。

    \b
    示例：yuetan user disable 王晓明
    """
    archive = _open(ctx, home)
    from pipeline.web.accounts import service

    service.disable_account(archive, name, by=console_actor())
    click.echo(f"已停用账户 {name}")


@user.command(name="token")
@_home_option
@click.argument("name")
@click.option("--revoke", is_flag=True, help="吊销该账户的 API 令牌，不签发新令牌")
@click.pass_context
def user_token(ctx: click.Context, home: Path | None, name: str, revoke: bool):
    """签发 API 令牌（只显示这一次；同时吊销该账户原有的令牌），或用 --revoke 吊销。

    用法：在请求头中给出 Authorization: Token <令牌>。

    \b
    示例：yuetan user token 王晓明
          yuetan user token 王晓明 --revoke
    """
    archive = _open(ctx, home)
    from pipeline.web.accounts import service

    if revoke:
        count = service.revoke_tokens(archive, name, by=console_actor())
        click.echo(f"已吊销账户 {name} 的 API 令牌 {count} 个")
        return
    token = service.issue_token(archive, name, by=console_actor())
    click.echo(token)
    click.echo(f"（账户 {name} 的新 API 令牌，只显示这一次；原有令牌已吊销）", err=True)
