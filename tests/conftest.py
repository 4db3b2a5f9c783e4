"""Shared fixtures: the bundled example cases, copied so a test may change them."""
from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EXAMPLE_NAMES = ["institution-onsite", "bureau-video", "refused-to-sign"]


def load_example(name: str) -> dict:
    return json.loads((EXAMPLES / name / "case.json").read_text(encoding="utf-8"))


@pytest.fixture
def make_case(tmp_path: Path) -> Callable[..., Path]:
    """Copy an example into tmp_path, let `change` edit its JSON, and return the folder."""
    counter = iter(range(1000))

    def make(name: str = "institution-onsite", change: Callable[[dict], object] | None = None,
             raw: bytes | None = None) -> Path:
        folder = tmp_path / f"{name}-{next(counter)}"
        shutil.copytree(EXAMPLES / name, folder)
        if raw is not None:
            (folder / "case.json").write_bytes(raw)
        elif change is not None:
            data = load_example(name)
            change(data)
            (folder / "case.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        return folder

    return make


def tree_snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes, to prove a command wrote nothing."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def private_tempdir(tmp_path, monkeypatch):
    """A private temp root, so a test proves that no temporary folder is left behind."""
    root = tmp_path / "tmp-root"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    yield root
    assert list(root.iterdir()) == [], "a temporary folder was left behind"
