"""What every command shares: --home, --json, --actor, the case filters, dates; the group that turns errors into
exit statuses; groups whose modes keep today's flag forms working."""
from __future__ import annotations

import getpass
import logging
import os
import sys
from datetime import date
from pathlib import Path

import click

from pipeline import api

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
HOME_HELP = "档案库文件夹（默认 $YUETAN_HOME，否则 ./yuetan-archive）"


class YuetanGroup(click.Group):
    """Turns every `YuetanError` into its Chinese message and its exit status, in one place: the exit status
    comes only from the exception's class. Any other error too: a full disk or a forbidden folder says so (5), a
    fault of the program is an internal error (10), never a traceback (YUETAN_DEBUG=1 shows it). Every control or
    bidi character written to stdout or stderr is shown as an escape (output.show_escaped), so no text can
    rewrite the terminal."""

    def invoke(self, ctx: click.Context):
        from pipeline.cli import output
        output.show_escaped()
        try:
            with api.scratch_session():      # a private temp folder; a killed run's is swept by the next
                return super().invoke(ctx)
        except api.YuetanError as exc:
            if not exc.reported:
                click.echo(f"错误：{exc.message}", err=True)
            ctx.exit(int(exc.exit_code))
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            sys.stdout = output.VisibleStream(open(os.devnull, "w"))     # the reader went away (yuetan … | head)
            ctx.exit(int(api.ExitCode.failed_check))
        except Exception as exc:  # noqa: BLE001 - the one place where anything left becomes a message
            if os.environ.get("YUETAN_DEBUG"):
                raise
            explained = api.environment_error(exc)
            if explained is None:
                explained = api.YuetanError(f"内部错误（{type(exc).__name__}: {str(exc)[:200]}）：操作未完成；请把此"
                                            "信息报告给维护人员（设置环境变量 YUETAN_DEBUG=1 可显示出错位置）")
            click.echo(f"错误：{explained.message}", err=True)
            ctx.exit(int(explained.exit_code))


class MainGroup(YuetanGroup):
    """The `yuetan` group. The web face's commands (`serve`, `user`) plug in by entry point (the command line never
    imports the web face); they are looked up only when a command is not one of ours or the list is shown, so
    `yuetan search` does not scan the installed packages' metadata at start."""

    plugin_group = "yuetan.commands"

    def _plugins(self) -> dict:
        if getattr(self, "_entry_points", None) is None:
            from importlib.metadata import entry_points

            self._entry_points = {ep.name: ep for ep in entry_points(group=self.plugin_group)}
        return self._entry_points

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugins()))

    def get_command(self, ctx: click.Context, name: str):
        command = super().get_command(ctx, name)
        if command is None and name in self._plugins():
            command = self._plugins()[name].load()
            self.add_command(command, name)
        return command


class ModeGroup(YuetanGroup):
    """A group whose first word may be left out: then `default` runs (e.g. `yuetan export --kind bureau -o x.zip`
    is `yuetan export create ...`), so the flag forms of before (`purge --plan`, `export --verify`) keep working."""

    default: str = ""
    help_goes_to_default = False

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = args[0] if args else None
        asks_help = first in CONTEXT["help_option_names"]
        if self.default and first not in self.commands and (not asks_help or self.help_goes_to_default):
            args = [self.default, *args]
        return super().parse_args(ctx, args)


class _GroupNamedContext(click.Context):
    @property
    def command_path(self) -> str:
        return self.parent.command_path if self.parent is not None else super().command_path


class DefaultCommand(click.Command):
    """The command a ModeGroup runs when its first word is left out; usage and errors name it by the group's
    name (`yuetan export`), as the person typed it."""

    context_class = _GroupNamedContext


def home_option(command):
    """Every command takes --home; it overrides the one given before the command name."""
    def remember(ctx: click.Context, _param, value):
        if value is not None:
            ctx.ensure_object(dict)["home"] = value
        return value
    return click.option("--home", type=click.Path(path_type=Path), expose_value=False, callback=remember,
                        help=HOME_HELP)(command)


def verbose_option(command):
    """-v / --verbose: what yuetan does, with each stage's time, on stderr (logging at debug level)."""
    def switch_on(ctx: click.Context, _param, value):
        if value:
            configure_logging(verbose=True)
        return value
    return click.option("-v", "--verbose", is_flag=True, expose_value=False, callback=switch_on,
                        help="在标准错误输出中显示处理过程与各阶段耗时")(command)


def common_options(command):
    """What every command takes: --home and -v."""
    return home_option(verbose_option(command))


def configure_logging(*, verbose: bool = False) -> None:
    """Warnings always reach stderr; with -v everything yuetan logs (pipeline, archive_store) does too."""
    root = logging.getLogger()
    if not any(getattr(h, "_yuetan", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s", "%H:%M:%S"))
        handler._yuetan = True
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
    for name in ("pipeline", "archive_store"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)


def json_option(help: str = "输出 JSON"):
    return click.option("--json", "as_json", is_flag=True, help=help)


def actor_option(help: str = "操作人（写入台账；默认为当前登录名）"):
    """--actor NAME: who acts, in the console role (see `console_actor`)."""
    return click.option("--actor", default=None, help=help)


def home_path(ctx: click.Context) -> Path:
    return api.resolve_home(ctx.ensure_object(dict).get("home"))


def archive(ctx: click.Context, *, check_head: bool = True) -> api.ArchiveHome:
    return api.open_archive(home_path(ctx), check_head=check_head)


def console_actor(name: str | None = None, *, reading: bool = False) -> api.Actor:
    """The command line acts as the person named by --actor, else the login name, in the role `console`.

    A command that only reads may run without a login name (in a container, say): it acts as the uid then.
    """
    if name and name.strip():
        return api.Actor(name=api.plain_text(name.strip(), "操作人（--actor）"), role=api.Role.console)
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = ""
    if not login:
        if reading:
            return api.Actor(name=f"uid {os.getuid()}", role=api.Role.console)
        raise api.ConfigurationError("无法确定操作人（系统未提供登录名），请用 --actor 指定操作人姓名")
    return api.Actor(name=login, role=api.Role.console)


class IsoDate(click.ParamType):
    name = "日期"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"“{value}”不是有效日期：应为 YYYY-MM-DD，如 2026-01-01", param, ctx)


DATE = IsoDate()

CASE_FILTERS = [
    click.option("--kind", type=click.Choice(["institution", "bureau"]), help="约谈对象类型"),
    click.option("--ground", help="约谈事由，如 6.2（第六条第（二）项）或 6（第六条各项）"),
    click.option("--organizer", help="约谈组织方（名称的一部分）"),
    click.option("--region", help="行政区划代码（或其前几位），如 360100"),
    click.option("--outcome", help="处理结果，如 completed、administrative_penalty（或其中文名）"),
    click.option("--from", "date_from", type=DATE, help="约谈日期自（含，YYYY-MM-DD）"),
    click.option("--to", "date_to", type=DATE, help="约谈日期至（含，YYYY-MM-DD）"),
]


def case_filter_options(command):
    """The same case filters, with the same names and help, wherever cases are selected (search, export)."""
    for option in reversed(CASE_FILTERS):
        command = option(command)
    return command


def finish(result) -> None:
    """After a result is printed: its failure (a failed check, refused cases) sets the exit status."""
    failure = result.failure()
    if failure is not None:
        raise failure
