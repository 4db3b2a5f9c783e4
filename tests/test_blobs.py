"""The blob store on a real filesystem: content addressing, read-only files, damage detection, crash safety."""
from __future__ import annotations

import hashlib
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive_store.blobs import BlobDamaged, BlobMissing, BlobStore, FilesystemBlobStore
from archive_store.errors import InvalidArgument

ROOT = Path(__file__).resolve().parent.parent


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path / "blobs")


def test_round_trip_bytes_and_file(store, tmp_path):
    data = "约谈通知书 赣市监检约〔2025〕3号".encode() * 1000
    key = store.put_bytes(data)
    assert key == sha(data)
    assert store.has(key)
    assert store.read_bytes(key) == data
    with store.open(key) as f:
        assert f.read() == data

    source = tmp_path / "upload.bin"
    source.write_bytes(os.urandom(3 * (1 << 20) + 17))   # spans several read chunks
    key2 = store.put_file(source)
    assert key2 == sha(source.read_bytes())
    assert store.read_bytes(key2) == source.read_bytes()
    assert sorted([key, key2]) == list(store.iter_shas())
    assert store.temp_files() == []


def test_fan_out_layout_and_read_only(store):
    key = store.put_bytes(b"dossier")
    path = store.root / key[:2] / key[2:4] / key
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    if os.geteuid() != 0:                               # root ignores file modes
        with pytest.raises(PermissionError):
            open(path, "r+b")


def test_put_is_idempotent(store, tmp_path):
    data = b"same bytes twice"
    key = store.put_bytes(data)
    path = store.root / key[:2] / key[2:4] / key
    inode = path.stat().st_ino
    source = tmp_path / "again.bin"
    source.write_bytes(data)
    assert store.put_file(source) == key
    assert store.put_bytes(data) == key
    assert path.stat().st_ino == inode, "an existing blob must not be rewritten"
    assert list(store.iter_shas()) == [key]
    assert store.temp_files() == []


def test_verify_detects_a_flipped_byte(store, tmp_path):
    data = b"%PDF-1.7 sealed dossier" + bytes(range(256))
    key = store.put_bytes(data)
    assert store.verify(key)
    path = store.root / key[:2] / key[2:4] / key
    os.chmod(path, 0o644)
    damaged = bytearray(path.read_bytes())
    damaged[10] ^= 0x01
    path.write_bytes(bytes(damaged))
    assert not store.verify(key)
    dest = tmp_path / "out.pdf"
    with pytest.raises(BlobDamaged) as err:
        store.export_to(key, dest)
    assert key in err.value.message
    assert not dest.exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".out.pdf")] == []


def test_a_damaged_blob_of_another_size_is_replaced_by_a_correct_put(store):
    data = b"0123456789" * 100
    key = store.put_bytes(data)
    path = store.root / key[:2] / key[2:4] / key
    os.chmod(path, 0o644)
    path.write_bytes(data[:-1])
    assert not store.verify(key)
    assert store.put_bytes(data) == key
    assert store.verify(key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


def test_export_writes_a_normal_copy(store, tmp_path):
    key = store.put_bytes(b"case.json bytes")
    dest = store.export_to(key, tmp_path / "case.json")
    assert dest.read_bytes() == b"case.json bytes"
    dest.write_bytes(b"the copy is the caller's")      # writable, unlike the blob
    assert store.verify(key)


def test_delete_removes_read_only_blob_and_is_repeatable(store):
    keep = store.put_bytes(b"kept")
    gone = store.put_bytes(b"purged")
    store.delete(gone)
    assert not store.has(gone)
    assert not store.verify(gone)
    assert list(store.iter_shas()) == [keep]
    store.delete(gone)                                   # a rerun of purge
    with pytest.raises(BlobMissing) as err:
        store.read_bytes(gone)
    assert gone in err.value.message


def test_names_that_are_not_sha256_are_refused(store):
    for bad in ["../../etc/passwd", "ABC", "0" * 63, "g" * 64, ("A" * 64)]:
        with pytest.raises(InvalidArgument) as err:
            store.has(bad)
        assert "sha256" in err.value.message


def test_put_file_of_a_missing_path_names_it(store, tmp_path):
    with pytest.raises(InvalidArgument) as err:
        store.put_file(tmp_path / "不存在.pdf")
    assert "不存在.pdf" in err.value.message
    assert store.temp_files() == []


def test_iter_shas_ignores_temp_and_stray_files(store):
    key = store.put_bytes(b"x")
    (store.temp_dir / "123-1-abc.part").write_bytes(b"half")
    (store.root / "README").write_text("not a blob")
    (store.root / key[:2] / key[2:4] / "notes.txt").write_text("not a blob")
    assert list(store.iter_shas()) == [key]


def test_sweep_temp_removes_only_old_temp_files(store):
    old = store.temp_dir / "1-1-old.part"
    young = store.temp_dir / "1-1-young.part"
    old.write_bytes(b"left by a crash")
    young.write_bytes(b"being written")
    past = time.time() - 2 * 24 * 3600
    os.utime(old, (past, past))
    assert store.sweep_temp() == 1
    assert not old.exists() and young.exists()


def test_the_filesystem_store_satisfies_the_protocol(store):
    assert isinstance(store, BlobStore)


WRITER = """
import os, sys
from archive_store.blobs import FilesystemBlobStore
store = FilesystemBlobStore(sys.argv[1])
n = 0
while True:
    store.put_bytes(os.urandom(int(sys.argv[2])))
    n += 1
    if n == 1:
        print("started", flush=True)
"""


def test_kill_9_never_leaves_a_wrong_blob(tmp_path):
    """Kill writers at random moments; every name under the fan-out must hash to itself."""
    root = tmp_path / "blobs"
    rng = random.Random(6)
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(rng.choice([1 << 16, 1 << 20]))],
                                cwd=ROOT, stdout=subprocess.PIPE)
        assert proc.stdout.readline() == b"started\n"
        time.sleep(rng.uniform(0, 0.3))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    store = FilesystemBlobStore(root)
    shas = list(store.iter_shas())
    assert len(shas) >= 8
    assert all(store.verify(s) for s in shas)
    assert all(stat.S_IMODE((root / s[:2] / s[2:4] / s).stat().st_mode) == 0o444 for s in shas)
    store.sweep_temp(older_than_seconds=0)
    assert store.temp_files() == []
