"""The archive cannot be turned against itself (issue 17): outputs a user names never land among its own files."""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from archive_store.durable import sha256_file

from . import backend
from .conftest import EXAMPLES
from .stored_cases import credit_code, store_case
from .test_cli import yuetan


@pytest.fixture
def stored(new_home, tmp_path):
    """A home with two stored cases (no dossier build), and the sha256 of every file under it."""
    home = new_home(tmp_path / "home")
    store_case(home, "GZ-1", date(2025, 3, 1), credit=credit_code(1))
    store_case(home, "GZ-2", date(2025, 4, 1), credit=credit_code(2))
    return home


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(("-wal", "-shm"))}


def _outputs_into(home: Path, tmp_path: Path) -> list[list[str]]:
    """Every command that writes where -o says, aimed at the archive's own files, directly and through links."""
    blob = next((home / "blobs").rglob("*/*/" + "?" * 64))
    (tmp_path / "to-blobs").symlink_to(blob.parent)
    (tmp_path / "to-blob").symlink_to(blob)
    (tmp_path / "dangling").symlink_to(home / "catalog.sqlite-journal")
    return [
        ["open", "GZ-2", "-o", str(home / "catalog.sqlite")],
        ["open", "GZ-2", "-o", str(blob)],
        ["open", "GZ-2", "-o", str(tmp_path / "to-blobs" / blob.name)],
        ["open", "GZ-2", "-o", str(tmp_path / "to-blob")],
        ["open", "GZ-2", "-o", str(tmp_path / "dangling")],
        ["open", "GZ-2", "-o", str(home / "seal" / "development-seal.p12")],
        ["open", "GZ-2", "-o", str(home / "blobs" / ".." / "x.pdf")],
        ["build", str(EXAMPLES / "institution-onsite"), "-o", str(home / "index" / "x.pdf")],
        ["render", str(EXAMPLES / "institution-onsite"), "-o", str(home)],
        ["export", "-o", str(home / "staging" / "x.zip")],
        ["purge", "--plan", "-o", str(home / "plans"), "--as-of", "2040-01-01"],
        ["credit", "--all", "-o", str(tmp_path / "to-blobs" / "x.csv")],
        *([] if backend.on_postgresql() else      # yuetan backup is for a SQLite catalog (pg_dump otherwise)
          [["backup", "-o", str(home / "blobs" / "catalog-copy.sqlite")]]),
    ]


def test_no_output_lands_inside_the_archive(stored, tmp_path):
    before = _files(stored.path)
    for args in _outputs_into(stored.path, tmp_path):
        result = yuetan("--home", str(stored.path), *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "位于档案库" in result.stderr and "Traceback" not in result.stderr, args
    assert _files(stored.path) == before
    assert yuetan("--home", str(stored.path), "audit").returncode == 0


def test_an_output_beside_the_archive_still_works_and_hard_links_do_not_reach_blobs(stored, tmp_path):
    blob = stored.path / "blobs"
    record_sha = next(p for p in blob.rglob("?" * 64) if p.read_bytes().startswith(b"%PDF"))
    link = tmp_path / "hard-link.pdf"
    os.link(record_sha, link)      # same inode as a stored blob, outside the home
    result = yuetan("--home", str(stored.path), "open", "GZ-1", "-o", str(link))
    assert result.returncode == 0, result.stderr
    assert sha256_file(record_sha) == record_sha.name      # written by rename: the blob's inode is untouched
    beside = tmp_path / "out" / "GZ-2.pdf"
    assert yuetan("--home", str(stored.path), "open", "GZ-2", "-o", str(beside)).returncode == 0
    assert beside.read_bytes().startswith(b"%PDF")


def test_the_core_refuses_outputs_inside_the_archive_whatever_face_asks(stored, tmp_path):
    """The guard is in the core, so the web face's workbook downloads obey it too."""
    from pipeline import api

    console = api.Actor(name="王档案", role=api.Role.console)
    before = _files(stored.path)
    for dest in (stored.path / "index" / "统计.xlsx", stored.path / "catalog.sqlite"):
        with pytest.raises(api.InvalidArgument, match="位于档案库"):
            api.statistics(stored, actor=console, dest=dest)
        with pytest.raises(api.InvalidArgument, match="位于档案库"):
            api.credit(stored, None, actor=console, dest=dest)
    assert _files(stored.path) == before
    outside = tmp_path / "统计.xlsx"
    api.statistics(stored, actor=console, dest=outside)
    assert outside.read_bytes().startswith(b"PK")
