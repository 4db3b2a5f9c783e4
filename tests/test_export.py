"""BagIt compliance export: bags that bagit-python validates, and a --verify that finds every change."""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import bagit
import pytest

from pipeline.export import _zip_folder, verify_bag


def _hand_made_bag(tmp_path: Path) -> Path:
    folder = tmp_path / "bag-src" / "inspection"
    (folder / "GZ-1").mkdir(parents=True)
    (folder / "GZ-1" / "case.json").write_text('{"case_id": "GZ-1"}', encoding="utf-8")
    (folder / "summary.csv").write_text("文号,约谈对象\r\n赣市监检约〔2025〕1号,某公司\r\n", encoding="utf-8")
    bagit.make_bag(str(folder), {"Source-Organization": "江西省市场监督管理局"}, checksums=["sha256"])
    return folder


def _zip(folder: Path, dest: Path) -> Path:
    _zip_folder(folder, dest)
    return dest


def test_verify_accepts_a_valid_bag(tmp_path, private_tempdir):
    assert verify_bag(_zip(_hand_made_bag(tmp_path), tmp_path / "ok.zip")) == []


def test_verify_lists_every_problem_in_chinese(tmp_path, private_tempdir):
    folder = _hand_made_bag(tmp_path)
    (folder / "data" / "GZ-1" / "case.json").write_text('{"case_id": "GZ-2"}', encoding="utf-8")  # same size
    (folder / "data" / "summary.csv").unlink()
    (folder / "data" / "extra.txt").write_text("x", encoding="utf-8")
    problems = verify_bag(_zip(folder, tmp_path / "bad.zip"))
    text = "\n".join(problems)
    assert "data/GZ-1/case.json 的 sha256 摘要不符" in text
    assert "data/summary.csv 缺失" in text
    assert "data/extra.txt 不在清单中" in text
    assert "Payload-Oxum" in text


def test_verify_fails_on_every_changed_byte_before_the_central_directory(tmp_path, private_tempdir):
    """Without the archive's ledger, every byte of every member (headers and data) is covered."""
    path = _zip(_hand_made_bag(tmp_path), tmp_path / "b.zip")
    original = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        end = archive.start_dir
    missed = []
    for offset in range(end):
        data = bytearray(original)
        data[offset] ^= 0x01
        path.write_bytes(bytes(data))
        if not verify_bag(path):
            missed.append(offset)
    assert missed == []


def test_verify_refuses_unsafe_member_names_and_non_bags(tmp_path, private_tempdir):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../escape.txt", "x")
    problems = verify_bag(evil)
    assert any("路径不安全" in p for p in problems) and any("bagit.txt" in p for p in problems)
    assert not (tmp_path / "escape.txt").exists()
    not_zip = tmp_path / "x.zip"
    not_zip.write_text("hello", encoding="utf-8")
    assert "不是完好的 zip 文件" in verify_bag(not_zip)[0]
