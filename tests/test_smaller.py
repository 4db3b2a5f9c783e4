"""The smaller holes of issue 17 (item 8), each closed and shown."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from .conftest import EXAMPLES
from .test_cli import YUETAN, yuetan


def _zip_of_example(dest, extra: dict[str, bytes]):
    with zipfile.ZipFile(dest, "w") as zf:
        for path in sorted((EXAMPLES / "institution-onsite").iterdir()):
            zf.write(path, path.name)
        for name, data in extra.items():
            zf.writestr(name, data)
    return dest


@pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")      # the duplicate is the point
def test_a_zip_with_two_case_json_or_duplicate_names_is_refused(tmp_path):
    other = json.loads((EXAMPLES / "bureau-video" / "case.json").read_text(encoding="utf-8"))
    two = _zip_of_example(tmp_path / "two.zip", {"case.json": json.dumps(other).encode()})    # same name again
    result = yuetan("check", "--json", str(two))
    assert result.returncode == 2
    messages = " ".join(e["message"] for e in json.loads(result.stdout)["errors"])
    assert "同名文件" in messages and "2 个 case.json" in messages
    nested = _zip_of_example(tmp_path / "nested.zip", {"旧版/case.json": json.dumps(other).encode()})
    result = yuetan("check", "--json", str(nested))
    assert result.returncode == 2 and "2 个 case.json" in result.stdout
    clash = _zip_of_example(tmp_path / "clash.zip", {"整改方案.pdf/x.txt": b"x"})
    result = yuetan("check", "--json", str(clash))
    assert result.returncode == 2 and "既是文件又是文件夹" in result.stdout


def test_a_killed_run_leaves_no_temporary_folder_behind(new_home, tmp_path):
    """kill -9 cannot clean up; the next yuetan removes the scratch folder of a process that is gone."""
    home = new_home(tmp_path / "home")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    log = tmp_path / "ingest.log"
    with log.open("wb") as out:
        run = subprocess.Popen([str(YUETAN), "--home", str(home.path), "ingest", str(EXAMPLES / "institution-onsite")],
                               env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while run.poll() is None and time.monotonic() < deadline and not any(
            any(own.iterdir()) for own in scratch.glob(f"yuetan-{run.pid}-*")):
        time.sleep(0.02)
    assert run.poll() is None, f"the run ended before it could be killed: {log.read_text(errors='replace')}"
    os.kill(run.pid, signal.SIGKILL)
    run.wait(30)
    left = list(scratch.glob(f"yuetan-{run.pid}-*"))
    assert left, "the killed run had no scratch folder (nothing was tested)"
    assert yuetan("check", str(EXAMPLES / "bureau-video"), env=env).returncode == 0
    assert not any(p.exists() for p in left) and list(scratch.iterdir()) == [], sorted(str(q.relative_to(scratch)) for q in scratch.rglob("*"))[:20]


_JOB_CALLER = """
import os, subprocess, sys, time
from pathlib import Path
from pipeline.external import process

def job(marker):
    child = subprocess.Popen(["sleep", "60"])           # a program the job started, as OCRmyPDF starts Tesseract
    Path(marker).write_text(f"{os.getpid()} {child.pid}")
    time.sleep(60)

if __name__ == "__main__":
    process.run_job(job, sys.argv[1], what="等待", timeout=120)
"""


def test_a_job_and_its_programs_die_with_a_killed_caller(tmp_path):
    """kill -9 of a command cannot stop its jobs: they watch it and go with it, Tesseract and the like included
    (before, an OCR job went on writing into the dead command's scratch folder while the next command removed it)."""
    marker, script = tmp_path / "job.pids", tmp_path / "caller.py"
    script.write_text(_JOB_CALLER, encoding="utf-8")        # a file: the fork server imports the job from it
    caller = subprocess.Popen([sys.executable, str(script), str(marker)], cwd=Path(__file__).parents[1],
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline and caller.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), "the job never started"
    pids = [int(p) for p in marker.read_text().split()]
    os.kill(caller.pid, signal.SIGKILL)
    caller.wait(30)
    deadline = time.monotonic() + 10
    while any(_running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_running(p) for p in pids), "the job or its program outlived the killed caller"


def test_jobs_run_under_a_deep_temporary_folder(tmp_path):
    """Seen once: a run under pytest's temporary folder ended with 'AF_UNIX path too long' (the fork server's socket
    goes under the temporary folder, and a Unix socket's path has at most 107 bytes)."""
    deep = tmp_path / ("很深的临时文件夹" * 4) / ("x" * 60)
    deep.mkdir(parents=True)
    script = "import os; from pipeline.external import process; print(process.run_job(os.getpid, what='测试', timeout=60))"
    job = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[1], capture_output=True, text=True,
                         env={**os.environ, "TMPDIR": str(deep), "PYTHONPATH": str(Path(__file__).parents[1])})
    assert job.returncode == 0 and int(job.stdout) > 0, job.stderr
    assert list(deep.iterdir()) == []


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(") ")[-1][0] != "Z"        # a zombie has ended
    except OSError:
        return False


def test_an_unusable_temporary_folder_is_named_not_blamed_on_the_document(new_home, tmp_path):
    result = yuetan("--home", str(new_home(tmp_path / "home").path), "render", str(EXAMPLES / "bureau-video"),
                    "-o", str(tmp_path / "out"), env={"TMPDIR": str(tmp_path / "no-such-folder")})
    assert result.returncode == 5 and "TMPDIR" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return
    read_only = tmp_path / "ro"
    read_only.mkdir()
    script = ('mount -t tmpfs -o ro tmpfs "$RO" || exit 99; TMPDIR="$RO" "$YUETAN" --home "$ARCHIVE" render "$CASE" '
              '-o "$OUT"; echo "status=$?"')
    ro = subprocess.run(["unshare", "-m", "bash", "-c", script], capture_output=True, text=True, timeout=300,
                        env={**os.environ, "RO": str(read_only), "YUETAN": str(YUETAN), "OUT": str(tmp_path / "o"),
                             "ARCHIVE": str(tmp_path / "home"), "CASE": str(EXAMPLES / "bureau-video")})
    if ro.returncode != 99:             # a read-only file system could be mounted
        assert "status=5" in ro.stdout and "TMPDIR" in ro.stderr, ro.stdout + ro.stderr


def test_a_missing_external_program_gives_the_same_status_from_ingest_as_from_render(new_home, tmp_path):
    home = new_home(tmp_path / "home")
    env = {"PATH": str(tmp_path / "no-programs")}
    render = yuetan("--home", str(home.path), "render", str(EXAMPLES / "bureau-video"), "-o", str(tmp_path / "r"),
                    env=env)
    ingest = yuetan("--home", str(home.path), "ingest", str(EXAMPLES / "bureau-video"), env=env)
    assert render.returncode == 6 and "soffice" in render.stderr, render.stderr
    assert ingest.returncode == 6 and "soffice" in ingest.stdout, ingest.stdout + ingest.stderr


def test_a_notice_number_is_taken_only_by_an_accepted_case_and_an_unused_one_is_explained(new_home, make_case, tmp_path):
    home = new_home(tmp_path / "home")
    run = lambda *args, env=None: yuetan("--home", str(home.path), *args, env=env)  # noqa: E731
    damaged = make_case("bureau-video", change=lambda d: d.update(case_id="JJ-BAD-1"))
    (damaged / "九江市局整改落实情况报告.pdf").write_bytes(b"%PDF-1.7\n1 0 obj<<>>\nnot a whole PDF")
    refused = run("ingest", str(damaged))
    assert refused.returncode == 2 and "九江市局整改落实情况报告.pdf" in refused.stdout

    bare = make_case("bureau-video", change=lambda d: d.update(attachments=[]))
    failed = run("ingest", str(bare), env={"YUETAN_SEAL_PASSPHRASE": "不是口令"})    # fails at the seal, numbered
    assert failed.returncode == 5 and "印章" in failed.stdout
    audit = json.loads(run("audit", "--json").stdout)
    explained = [p for p in audit["pending"] if "赣市监检约〔2025〕1号" in p]
    assert len(explained) == 1 and "JX-RZ-2025-021" in explained[0] and "入库失败" in explained[0]
    assert not any("JJ-BAD-1" in p for p in audit["pending"])          # the refused case took no number

    stored = json.loads(run("ingest", "--json", str(bare)).stdout)
    assert stored["status"] == "ingested" and stored["notice_number"] == "赣市监检约〔2025〕1号"
    assert not any("文号" in p for p in json.loads(run("audit", "--json").stdout)["pending"])
