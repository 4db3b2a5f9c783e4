"""`make serve` as a person meets it, on a fresh archive: `yuetan init`, the demo accounts (pipeline.web.demo), then
`yuetan serve` (real gunicorn, a free port); the printed passwords log in over plain HTTP with the CSRF cookie, the
search and 整理与移交 pages answer, a wrong password does not, and SIGTERM stops the server cleanly; a SIGKILLed server's
index follower goes with it."""
from __future__ import annotations

import contextlib
import html
import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import date
from pathlib import Path

from pipeline.api import open_archive
from pipeline.web.conftest import serving
from tests.stored_cases import store_case

YUETAN = Path(sys.executable).with_name("yuetan")
DEMO_LINE = re.compile(r"^\s+(\S+)\s+(demo-\S+)\s+\S+（.+）$", re.M)
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def text(page: str) -> str:
    """What the page reads as: tags dropped, entities resolved, white space folded."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


class Browser:
    """One person's cookies over urllib: GET pages, POST forms with the CSRF token read from the form."""

    def __init__(self, url: str):
        self.url = url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, str, str]:
        try:
            with self.opener.open(self.url + path, timeout=30) as answer:
                return answer.status, answer.url, answer.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            return error.code, error.url, error.read().decode("utf-8")

    def log_in(self, name: str, password: str) -> tuple[int, str, str]:
        _, _, form = self.get("/login/")
        token = TOKEN.search(form).group(1)
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": name, "password": password,
                                       "next": "/search/"}).encode()
        request = urllib.request.Request(self.url + "/login/", data=data, headers={"Referer": self.url + "/login/"})
        try:
            with self.opener.open(request, timeout=30) as answer:
                return answer.status, answer.url, answer.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            return error.code, error.url, error.read().decode("utf-8")


def test_make_serve_on_a_fresh_archive_logs_in_with_a_printed_demo_password(prepare_home, tmp_path):
    home_path = prepare_home(tmp_path / "archive")
    made = subprocess.run([str(YUETAN), "--home", str(home_path), "init", "--organizer", "江西省市场监督管理局"],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    record = store_case(open_archive(home_path), "SERVE-2025-001", date(2025, 6, 30))
    demo = subprocess.run([sys.executable, "-m", "pipeline.web.demo", "--home", str(home_path)],
                          capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stderr
    passwords = dict(DEMO_LINE.findall(demo.stdout))
    assert {"dangan", "chayue", "shenji"} <= set(passwords)

    log_path = tmp_path / "serve.log"
    with serving(home_path, log_path) as (url, server):
        archivist = Browser(url)
        status, landed, page = archivist.log_in("dangan", passwords["dangan"])
        assert status == 200 and landed == url + "/search/" and "档案员王晓明" in text(page)
        status, _, page = archivist.get("/search/?" + urllib.parse.urlencode({"q": "数据失实"}))
        assert status == 200 and "共找到 1 件" in text(page) and record.archival_code in text(page)
        status, _, page = archivist.get("/arrangement/")
        assert status == 200 and "2025年度约谈档案归档文件目录" in text(page) and record.archival_code in text(page)

        reader = Browser(url)
        assert reader.log_in("chayue", passwords["chayue"])[1] == url + "/search/"
        assert reader.get("/arrangement/")[0] == 403          # the catalogue is the archivists' and approvers'

        stranger = Browser(url)
        status, landed, page = stranger.log_in("shenji", passwords["dangan"])
        assert landed.startswith(url + "/login/") and "用户名或密码不正确" in text(page)
        assert stranger.get("/search/")[1].startswith(url + "/login/")

        os.killpg(server.pid, signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    log = log_path.read_text(encoding="utf-8")
    assert "约谈档案网页服务：" in log and "Traceback" not in log      # a refusal is logged, without a traceback
    assert log.count("Forbidden (Permission denied): /arrangement/") == 1, log
    # Each warning once: Django's and axes' loggers do not repeat what the command's own handler writes.
    failures = [line for line in log.splitlines() if "login failure" in line]
    assert len(failures) == 1, log


def _children(pid: int) -> dict[int, str]:
    """The live child processes of `pid`: {pid: command line}."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if int(fields.get("PPid", "0")) == pid and not fields.get("State", "").startswith("Z"):
            found[int(entry.name)] = cmdline
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie nobody has reaped yet is dead: it runs nothing and holds no lock)."""
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in state


def test_a_killed_server_takes_its_index_follower_with_it(new_home, tmp_path):
    """SIGKILL gives `yuetan serve` no chance to stop its follower: the kernel does (PR_SET_PDEATHSIG), so no
    orphan keeps writing the node's index and holding its follow lock after the server is gone."""
    import time

    home = new_home(tmp_path / "archive")
    with serving(home.path, tmp_path / "serve.log", workers=1, extra=("--follow",)) as (_, server):
        deadline = time.monotonic() + 30
        while not (followers := [p for p, cmd in _children(server.pid).items() if cmd.rstrip().endswith(" follow")]):
            assert time.monotonic() < deadline, f"no follower among {_children(server.pid)}"
            time.sleep(0.2)
        follower = followers[0]
        while "检索索引已追到" not in (tmp_path / "serve.log").read_text(encoding="utf-8"):    # its first catch-up
            assert time.monotonic() < deadline and _alive(follower), (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        try:
            deadline = time.monotonic() + 5
            while _alive(follower) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not _alive(follower), "the follower outlived its SIGKILLed server"
        finally:                # gunicorn's worker leaves on its own when its arbiter is gone; this makes sure
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.kill(follower, signal.SIGKILL)
