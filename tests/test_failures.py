"""Every failure ends with a Chinese message and a documented exit status, never a traceback (issue 17, item 6)."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
import zipfile
from datetime import date
from pathlib import Path

import pytest

from .backend import sqlite_only
from .conftest import EXAMPLES
from .stored_cases import store_case
from .test_cli import YUETAN, yuetan

INVALID, CONFIGURATION, DAMAGED = 2, 5, 7


def assert_clean_failure(result, status: int, *words: str) -> None:
    text = result.stdout + result.stderr
    assert result.returncode == status, (result.returncode, text)
    assert "Traceback" not in text and "内部错误" not in text, text
    for word in words:
        assert word in text, (word, text)


@pytest.fixture
def home(new_home, tmp_path):
    home = new_home(tmp_path / "home")
    store_case(home, "GZ-1", date(2025, 3, 1))
    return home


def test_a_case_json_nested_ten_thousand_levels_is_refused(tmp_path):
    (tmp_path / "case.json").write_text('{"a":' * 10_000 + "1" + "}" * 10_000, encoding="utf-8")
    assert_clean_failure(yuetan("check", str(tmp_path)), INVALID, "case.json", "嵌套过深")
    (tmp_path / "case.json").write_text('{"a":' * 500 + "1" + "}" * 500, encoding="utf-8")
    assert_clean_failure(yuetan("check", str(tmp_path)), INVALID, "嵌套过深")
    (tmp_path / "case.json").write_text('{"schema_version": ' + "9" * 5000 + "}", encoding="utf-8")
    assert_clean_failure(yuetan("check", str(tmp_path)), INVALID, "case.json")


def test_a_zip_member_with_a_bad_crc_is_refused_naming_it(tmp_path):
    archive = tmp_path / "case.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted((EXAMPLES / "institution-onsite").iterdir()):
            zf.write(path, path.name)
    data = bytearray(archive.read_bytes())
    data[data.index(b'"case_id"') + 2] ^= 0x01          # the CRC no longer matches the stored bytes
    archive.write_bytes(bytes(data))
    assert_clean_failure(yuetan("check", str(archive)), INVALID, "case.json", "已损坏")


@sqlite_only("SQLite writes beside its file even to read (WAL); with the catalog on a server a read-only home "
             "reads fine")
def test_read_commands_on_a_read_only_home_say_so(home):
    """Run as an unprivileged user (root ignores permissions) on a home it may read but not write."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run as another user")
    shared = Path(tempfile.mkdtemp(prefix="yuetan-readonly-", dir="/tmp"))
    try:
        copy = shared / "home"
        shutil.copytree(home.path, copy)
        for path in [shared, *shared.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))
        for args in (["search", "整改"], ["show", "GZ-1"], ["audit"], ["retention"], ["ledger", "list"]):
            result = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", str(YUETAN),
                                     "--home", str(copy), *args], capture_output=True, text=True, timeout=120)
            assert_clean_failure(result, CONFIGURATION, "可写")
    finally:
        shutil.rmtree(shared)


FULL_DISK_SCRIPT = r"""
set -u
mount -t tmpfs -o size=24m tmpfs "$MNT" || exit 99
cp -a "$SRC" "$MNT/home"
H="$MNT/home"
free=$(df -k --output=avail "$MNT" | tail -1)
dd if=/dev/zero of="$MNT/filler" bs=1k count=$((free - 150)) status=none 2>/dev/null
run() { "$YUETAN" --home "$H" "$@" >"$MNT.out" 2>&1; printf '%s\t%s\n' "$?" "$(tr '\n' ' ' < "$MNT.out")"; }
run reindex
run open JX-RZ-2025-017 -o "$MNT/x.pdf"
run export -o "$MNT/e.zip"
run backup -o "$MNT/b.sqlite"
run ingest "$CASE"
dd if=/dev/zero of="$MNT/filler2" bs=4k status=none 2>/dev/null
run hold JX-RZ-2025-017 --reason 复议中
run search 整改
rm -f "$MNT"/filler*
run audit
"""


@sqlite_only("the full tmpfs holds the copied home with its SQLite catalog file, and the script runs yuetan "
             "backup, which refuses a PostgreSQL catalog")
def test_a_full_disk_is_said_plainly_and_leaves_the_archive_whole(example_archive, make_case, tmp_path):
    """A small tmpfs in a private mount namespace, filled to the brim, holds a copy of the archive."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to mount a small file system")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    new_case = make_case(change=lambda d: (d.update(case_id="DISK-1"), d["notice"].update(number="赣市监检约〔2025〕99号")))
    result = subprocess.run(["unshare", "-m", "bash", "-c", FULL_DISK_SCRIPT], capture_output=True, text=True,
                            timeout=600, env={**os.environ, "MNT": str(mnt), "SRC": str(example_archive.path),
                                              "YUETAN": str(YUETAN), "CASE": str(new_case)})
    if result.returncode == 99:
        pytest.skip("tmpfs cannot be mounted here")
    lines = [line.split("\t", 1) for line in result.stdout.splitlines()]
    assert len(lines) == 8, result.stdout + result.stderr
    *full, audit = lines
    for status, text in full:
        assert status == str(CONFIGURATION) and "磁盘空间已满" in text and "Traceback" not in text, (status, text)
    assert audit[0] == "0" and "核查通过" in audit[1], audit


def test_a_retention_period_beyond_the_calendar_is_a_settings_error(home):
    settings = home.path / "yuetan.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("years = 6", "years = 8000"), encoding="utf-8")
    for args in (["retention"], ["audit"], ["show", "GZ-1"]):
        assert_clean_failure(yuetan("--home", str(home.path), *args), CONFIGURATION, "retention.years", "8000")
    settings.write_text(settings.read_text(encoding="utf-8").replace("years = 8000", "years = 6")
                        .replace("[documents]", "documents = 3\n[other]"), encoding="utf-8")
    assert_clean_failure(yuetan("--home", str(home.path), "retention"), CONFIGURATION, "documents")


def test_invalid_utf8_in_a_reason_is_refused(home):
    result = subprocess.run([str(YUETAN), "--home", str(home.path), "hold", "GZ-1", "--reason", b"\xc3\x28"],
                            capture_output=True, timeout=60)
    assert result.returncode == INVALID and "UTF-8" in result.stderr.decode("utf-8")
    assert b"Traceback" not in result.stderr


def test_outputs_to_devices_folders_and_impossible_places_are_refused(home, tmp_path):
    """A private copy of /dev/full (the real one is never aimed at: before the fix, open -o replaced it)."""
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    specials = [tmp_path / "a-pipe"]
    os.mkfifo(specials[0])
    if os.geteuid() == 0:
        specials.append(tmp_path / "full")
        os.mknod(specials[1], 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    for dest, words in [*((str(s), "特殊文件") for s in specials), (str(tmp_path), "文件夹"),
                        (str(tmp_path / "a-file" / "x.pdf"), "不是文件夹"), ("/proc/no-such/x.pdf", "无法创建")]:
        assert_clean_failure(yuetan("--home", str(home.path), "open", "GZ-1", "-o", dest), INVALID, words)
    assert stat.S_ISFIFO(os.stat(specials[0]).st_mode)
    assert all(stat.S_ISCHR(os.stat(s).st_mode) for s in specials[1:])
    made = tmp_path / "new" / "folder" / "GZ-1.pdf"
    assert yuetan("--home", str(home.path), "open", "GZ-1", "-o", str(made)).returncode == 0 and made.is_file()


@pytest.mark.parametrize("damage", ["garbage", "one-file", "a-file", "missing"])
def test_a_damaged_or_missing_index_is_named_and_reindex_repairs_it(home, damage):
    index = home.index_dir
    if damage == "garbage":
        for path in index.iterdir():
            path.write_bytes(os.urandom(200))
    elif damage == "one-file":
        toc = sorted(p for p in index.iterdir() if p.suffix == ".toc")[-1]
        toc.write_bytes(toc.read_bytes()[:40])
    else:
        shutil.rmtree(index)
        if damage == "a-file":
            index.write_text("不是索引", encoding="utf-8")
    run = lambda *args: yuetan("--home", str(home.path), *args)  # noqa: E731
    assert_clean_failure(run("search", "整改"), DAMAGED, "yuetan reindex")
    assert_clean_failure(run("export", "-o", str(home.path.parent / "e.zip")), DAMAGED, "yuetan reindex")
    audit = run("audit", "--json")
    assert_clean_failure(audit, 1)
    assert any("reindex" in p for p in json.loads(audit.stdout)["problems"])
    assert run("reindex").returncode == 0
    found = run("search", "--json", "数据失实")
    assert found.returncode == 0 and json.loads(found.stdout)["total"] == 1
    assert run("audit").returncode == 0
