"""The `yuetan` command as an archivist runs it: real process, real exit status, Chinese output."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import EXAMPLES, ROOT, tree_snapshot

YUETAN = Path(sys.executable).parent / "yuetan"


def yuetan(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(YUETAN), *args], capture_output=True, text=True, cwd=cwd or ROOT,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_check_examples_prints_findings():
    result = yuetan("check", *(str(EXAMPLES / n) for n in ("institution-onsite", "bureau-video", "refused-to-sign")))
    assert result.returncode == 0, result.stderr
    assert "赣市监检约〔2025〕3号" in result.stdout
    assert "第十三条" in result.stdout and "第十五条" in result.stdout and "第十六条" in result.stdout
    assert result.stdout.count("未发现问题") == 2


def test_check_json_shape():
    result = yuetan("check", "--json", str(EXAMPLES / "refused-to-sign"))
    report = json.loads(result.stdout)
    assert report["valid"] is True and report["errors"] == []
    codes = {f["code"] for f in report["findings"]}
    assert {"notice_served_late", "record_signature_refused", "plan_late"} <= codes
    first = report["findings"][0]
    assert set(first) == {"code", "article", "severity", "message", "evidence"}


def test_check_refuses_invalid_case_with_status_2_and_writes_nothing(make_case, tmp_path):
    folder = make_case(change=lambda d: (d["target"].update(credit_code="91360100MA35K2Q74N"),
                                         d["notice"].update(number="赣市监检约〔2025〕03号")))
    before = tree_snapshot(folder)
    home = tmp_path / "home"
    result = yuetan("--home", str(home), "check", "--json", str(folder), cwd=tmp_path)
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["valid"] is False
    paths = {e["path"] for e in report["errors"]}
    assert {"target.credit_code", "notice.number"} <= paths
    assert tree_snapshot(folder) == before
    assert not home.exists() and not (tmp_path / "yuetan-archive").exists()
    human = yuetan("check", str(folder))
    assert human.returncode == 2 and "拒收" in human.stdout and "target.credit_code" in human.stdout


def test_check_missing_path():
    result = yuetan("check", "/nonexistent/case")
    assert result.returncode == 2 and "路径不存在" in result.stdout


def test_init_home_resolution(prepare_home, catalog_backend, tmp_path):
    explicit = prepare_home(tmp_path / "explicit")
    assert yuetan("--home", str(explicit), "init").returncode == 0
    assert (explicit / "yuetan.toml").is_file()
    assert (explicit / "catalog.sqlite").is_file() == (catalog_backend == "sqlite")
    again = yuetan("init", "--home", str(explicit))
    assert again.returncode == 0 and "已存在" in again.stdout
    from_env = prepare_home(tmp_path / "from-env")
    assert yuetan("init", env={"YUETAN_HOME": str(from_env)}).returncode == 0
    assert (from_env / "yuetan.toml").is_file()
    prepare_home(tmp_path / "yuetan-archive")
    env = {k: v for k, v in os.environ.items() if k != "YUETAN_HOME"}
    result = subprocess.run([str(YUETAN), "init"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert result.returncode == 0 and (tmp_path / "yuetan-archive" / "yuetan.toml").is_file()


def test_init_refuses_a_file_as_home(tmp_path):
    (tmp_path / "afile").write_text("x")
    result = yuetan("--home", str(tmp_path / "afile"), "init")
    assert result.returncode == 5 and "不是文件夹" in result.stderr


def test_schema_is_json_schema_of_the_contract():
    schema = json.loads(yuetan("schema").stdout)
    assert schema["properties"]["schema_version"]["const"] == 1
    assert "case_id" in schema["required"]
    assert schema["$defs"]["Interview"]["properties"]["mode"]["$ref"].endswith("InterviewMode")


def all_commands() -> list[str]:
    """Every command the CLI has, sub-commands of groups as "group sub"."""
    import click

    from pipeline.cli import main

    names = []
    for name, command in sorted(main.commands.items()):
        if isinstance(command, click.Group):
            names += [f"{name} {sub}" for sub, c in sorted(command.commands.items()) if not c.hidden]
            if getattr(command, "help_goes_to_default", False):
                names.append(name)      # `yuetan export …` runs its default command
        else:
            names.append(name)
    return names


@pytest.mark.parametrize("command", all_commands())
def test_every_command_documents_itself_with_an_example(command):
    result = yuetan(*command.split(), "--help")
    assert result.returncode == 0 and "示例" in result.stdout and "--home" in result.stdout
    assert f"yuetan {command}" in result.stdout


@pytest.mark.parametrize("command", all_commands())
def test_readme_documents_every_command(command):
    assert f"`yuetan {command}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_usage_errors_are_in_chinese():
    result = yuetan("check")
    assert result.returncode == 2 and "缺少参数" in result.stderr and "Missing" not in result.stderr
    result = yuetan("check", "--bogus", "x")
    assert result.returncode == 2 and "没有选项" in result.stderr
    assert "用法" in yuetan("--help").stdout


def test_the_console_actor_is_the_named_person_or_the_login_name(monkeypatch):
    from pipeline.api import ConfigurationError, Role
    from pipeline.cli.options import console_actor

    assert console_actor(" 档案员甲 ").name == "档案员甲" and console_actor("甲").role is Role.console
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOGNAME", "archivist")
    assert console_actor(None).name == "archivist" and console_actor("  ").name == "archivist"
    monkeypatch.delenv("LOGNAME")
    monkeypatch.setattr("getpass.getuser", lambda: "")
    with pytest.raises(ConfigurationError):
        console_actor(None)
    assert console_actor(None, reading=True).name.startswith("uid ")
