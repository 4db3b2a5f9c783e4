"""The package as it is installed elsewhere: a wheel, installed (not editable) into a fresh virtualenv, renders
and builds an example with the templates it carries."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from .conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.slow
SYSTEM_PYTHON = "/usr/bin/python3"          # Debian's, the one python3-uno imports under


def run(*cmd, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{cmd}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv holding the wheel; its dependencies come from this test run's environment through a .pth
    line (so nothing is downloaded), while yuetan itself comes only from the wheel."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", source)
    for folder in ("pipeline", "archive_store", "templates"):
        shutil.copytree(ROOT / folder, source / folder, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", work / "dist", source)
    (wheel,) = (work / "dist").glob("yuetan-*.whl")
    venv = work / "venv"
    run(SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (site / "yuetan-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel)
    return venv


def test_the_installed_wheel_renders_and_builds_an_example(installed, tmp_path):
    yuetan = installed / "bin" / "yuetan"
    where = run(installed / "bin" / "python", "-c", "import pipeline.documents.render as r; print(r.__file__); "
                "print(r.TEMPLATES)", cwd=tmp_path).stdout.split()
    assert all(Path(p).is_relative_to(installed) for p in where), where     # not the source tree
    env = {**os.environ, "YUETAN_HOME": str(tmp_path / "home")}
    run(yuetan, "init", cwd=tmp_path, env=env)
    example = EXAMPLES / "institution-onsite"
    rendered = run(yuetan, "render", example, "-o", tmp_path / "documents", cwd=tmp_path, env=env)
    assert "约谈通知书.pdf" in rendered.stdout
    assert {p.name for p in (tmp_path / "documents").iterdir()} >= {"约谈通知书.docx", "约谈通知书.pdf",
                                                                     "约谈记录.docx", "约谈记录.pdf"}
    run(yuetan, "build", example, "-o", tmp_path / "dossier.pdf", cwd=tmp_path, env=env)
    verified = run(yuetan, "verify", "--json", "--trust", tmp_path / "home" / "seal" / "development-seal.crt",
                   tmp_path / "dossier.pdf", cwd=tmp_path)
    assert '"ok": true' in verified.stdout
