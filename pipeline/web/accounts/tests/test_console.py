"""`yuetan user …` as an administrator types it at the archive's machine (a real process, its own archive)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pipeline.web.conftest import PASSWORD

YUETAN = [str(Path(sys.executable).with_name("yuetan"))]


def run(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*YUETAN, "--home", str(home), *args], input=stdin, capture_output=True, text=True,
                          timeout=120)


def test_user_commands_add_list_token_disable(prepare_home, tmp_path):
    home = prepare_home(tmp_path / "home")
    assert run(home, "init").returncode == 0
    secret = tmp_path / "pw.txt"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    added = run(home, "user", "add", "王晓明", "--role", "archivist", "--role", "reader", "--full-name", "王晓明",
                "--password-file", str(secret))
    assert added.returncode == 0, added.stderr
    assert "已创建账户 王晓明" in added.stdout and "档案员" in added.stdout
    from_stdin = run(home, "user", "add", "李审计", "--role", "auditor", stdin=PASSWORD + "\n")
    assert from_stdin.returncode == 0, from_stdin.stderr

    apart = run(home, "user", "add", "张三", "--role", "auditor", "--role", "reader", stdin=PASSWORD + "\n")
    assert apart.returncode == 2 and "三员分立" in apart.stderr and "Traceback" not in apart.stderr
    weak = run(home, "user", "add", "张三", "--role", "reader", stdin="123\n")
    assert weak.returncode == 2 and "密码不符合要求" in weak.stderr
    again = run(home, "user", "add", "王晓明", "--role", "reader", stdin=PASSWORD + "\n")
    assert again.returncode == 4 and "已存在" in again.stderr

    token = run(home, "user", "token", "王晓明")
    assert token.returncode == 0 and len(token.stdout.strip()) >= 40 and "只显示这一次" in token.stderr
    listed = [json.loads(line) for line in run(home, "user", "list", "--json").stdout.splitlines()]
    by_name = {a["username"]: a for a in listed}
    assert set(by_name) == {"王晓明", "李审计"}
    assert by_name["王晓明"]["roles"] == ["archivist", "reader"] and by_name["王晓明"]["active"]
    assert by_name["王晓明"]["token_prefix"] == token.stdout.strip()[:8]
    assert by_name["李审计"]["roles"] == ["auditor"] and by_name["李审计"]["token_prefix"] is None

    assert run(home, "user", "disable", "王晓明").returncode == 0
    after = {a["username"]: a for a in map(json.loads, run(home, "user", "list", "--json").stdout.splitlines())}
    assert not after["王晓明"]["active"] and after["王晓明"]["token_prefix"] is None
    missing = run(home, "user", "disable", "无此人")
    assert missing.returncode == 2 and "没有名为“无此人”的账户" in missing.stderr
    # the accounts live in the archive's own database; the catalog opens (and migrates) beside them
    import sqlalchemy as sa

    from pipeline.api import open_archive
    with open_archive(home).catalog().reading() as db:
        tables = set(sa.inspect(db).get_table_names())
    assert {"auth_user", "accounts_apitoken", "accounts_accessevent", "cases", "ledger"} <= tables


def test_an_account_name_with_control_or_bidi_characters_is_refused(prepare_home, tmp_path):
    """Account names and full names reach the ledger: the core refuses what it refuses in --actor (issue 17)."""
    home = prepare_home(tmp_path / "home")
    assert run(home, "init").returncode == 0
    for args in (["王\u202e明"], ["王\u001b[2J明"], ["王晓明", "--full-name", "王\u2028晓明"]):
        refused = run(home, "user", "add", *args, "--role", "reader", stdin=PASSWORD + "\n")
        assert refused.returncode == 2 and "含有不允许的字符" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    assert run(home, "user", "list", "--json").stdout.strip() == ""
