"""A lost catalog is refused, never silently recreated; restoring from a backup is a deliberate command (issue 17)."""
from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date

import pytest

from archive_store import ledger, mirror
from archive_store.blobs import FilesystemBlobStore
from archive_store.catalog import Catalog
from archive_store.numbers import NoticeNumberRegistry

from .backend import sqlite_only
from .stored_cases import credit_code, store_case
from .test_cli import yuetan

DAMAGED = 7
# Most of this file is about the SQLite catalog file itself: lost, replaced by a copy, backed up and restored by
# yuetan; on PostgreSQL the database server keeps the catalog and pg_dump/pg_restore back it up.
SQLITE_FILE = sqlite_only("the catalog file lost, replaced, backed up or restored; a PostgreSQL catalog is "
                          "backed up and restored with pg_dump/pg_restore, and yuetan backup/restore refuse it")


@pytest.fixture
def home(new_home, tmp_path):
    home = new_home(tmp_path / "home")
    store_case(home, "GZ-1", date(2025, 3, 1), credit=credit_code(1), notice_number="赣市监检约〔2025〕1号")
    return home


def run(home, *args):
    return yuetan("--home", str(home.path), *args)


def _drop_catalog(home) -> None:
    for suffix in ("", "-wal", "-shm"):
        home.path.joinpath("catalog.sqlite" + suffix).unlink(missing_ok=True)


@SQLITE_FILE
@pytest.mark.parametrize("how", ["emptied", "removed", "garbage"])
def test_a_lost_catalog_is_refused_by_every_command_and_not_recreated(home, tmp_path, how):
    if how == "emptied":
        home.catalog_path.write_bytes(b"")
    elif how == "removed":
        _drop_catalog(home)
    else:
        home.catalog_path.write_bytes(b"not a database at all" * 100)
    before = home.catalog_path.read_bytes() if home.catalog_path.exists() else None
    for args in (["ledger", "verify"], ["audit"], ["search", "整改"], ["show", "GZ-1"],
                 ["ingest", str(tmp_path / "nothing")], ["render", str(tmp_path / "nothing"), "-o", str(tmp_path / "r")],
                 ["init"], ["retention"]):
        result = run(home, *args)
        assert result.returncode == DAMAGED, (args, result.stdout, result.stderr)
        assert "目录数据库" in result.stderr and "yuetan restore" in result.stderr, args
        assert "Traceback" not in result.stderr
    after = home.catalog_path.read_bytes() if home.catalog_path.exists() else None
    assert after == before
@SQLITE_FILE
def test_a_catalog_replaced_by_an_older_copy_is_refused_then_restored_on_purpose(home, tmp_path):
    backup = tmp_path / "backup" / "catalog.sqlite"
    assert run(home, "backup", "-o", str(backup)).returncode == 0
    store_case(home, "GZ-2", date(2025, 4, 1), credit=credit_code(2), notice_number="赣市监检约〔2025〕2号")
    lost_head = mirror.read_mark(home.path)
    assert lost_head.seq == 3                      # ingest GZ-1, backup, ingest GZ-2
    _drop_catalog(home)
    shutil.copyfile(backup, home.catalog_path)     # the careless way: copy an old file over the catalog

    refused = run(home, "show", "GZ-1")
    assert refused.returncode == DAMAGED and "只到第 1 条" in refused.stderr and "第 2 至 3 条" in refused.stderr
    audit = run(home, "audit", "--json")
    report = json.loads(audit.stdout)
    assert audit.returncode == 1 and any("台账头副本" in p for p in report["problems"])
    gz2 = {sha for sha in FilesystemBlobStore(home.path / "blobs").iter_shas()} - _known(home)
    assert gz2 and all(any(sha in p for p in report["problems"]) for sha in gz2)
    assert any("GZ-2（赣市监检约〔2025〕2号）的 manifest.json" in p for p in report["problems"])

    restored = run(home, "restore", str(backup), "--json")
    assert restored.returncode == 0, restored.stderr
    result = json.loads(restored.stdout)
    assert result["backup_seq"] == 1 and result["mirrored_seq"] == 3 and result["lost"] == "第 2 至 3 条"
    assert result["numbers_reserved"] == ["赣市监检约〔2025〕2号"] and result["unknown_blobs"] == len(gz2)
    assert (home.path / result["moved_aside"][0]).is_file()
    with NoticeNumberRegistry(home.catalog_path) as numbers:       # the forgotten case's number is never reissued
        assert numbers.holder("赣市监检约〔2025〕2号") == "GZ-2"
        assert numbers.allocate("赣市监检约", 2025) == "赣市监检约〔2025〕3号"
    with Catalog(home.catalog_path) as catalog:
        last = ledger.entries(catalog)[-1]
        assert last.action == "restore" and last.details["mirrored_head"]["seq"] == 3
    assert mirror.read_mark(home.path).seq == last.seq
    assert run(home, "reindex").returncode == 0
    audit = run(home, "audit", "--json")
    report = json.loads(audit.stdout)
    assert audit.returncode == 0, report["problems"]
    assert sum("在从备份恢复时已不为目录所知" in p for p in report["pending"]) == len(gz2)


def _known(home) -> set[str]:
    with Catalog(home.catalog_path, check_head=False) as catalog:
        return catalog.referenced_shas()
@SQLITE_FILE
def test_restore_refuses_a_sound_catalog_a_foreign_backup_and_a_broken_chain(new_home, home, tmp_path):
    backup = tmp_path / "backup.sqlite"
    assert run(home, "backup", "-o", str(backup)).returncode == 0
    again = run(home, "backup", "-o", str(backup))
    assert again.returncode == 2 and "已存在" in again.stderr
    sound = run(home, "restore", str(backup))
    assert sound.returncode == 4 and "完好" in sound.stderr

    other = new_home(tmp_path / "other")
    store_case(other, "NC-1", date(2025, 5, 1))
    foreign = tmp_path / "foreign.sqlite"
    assert run(other, "backup", "-o", str(foreign)).returncode == 0
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"SQLite format 2\0" + b"x" * 5000)
    broken = tmp_path / "broken.sqlite"
    shutil.copyfile(backup, broken)
    conn = sqlite3.connect(broken)
    conn.execute("DROP TRIGGER ledger_no_update")
    conn.execute("UPDATE ledger SET actor = '冒名者' WHERE seq = 1")
    conn.commit()
    conn.close()

    home.catalog_path.write_bytes(b"")
    for file, words in ((foreign, "另一个档案库"), (garbage, "不是"), (broken, "哈希链")):
        result = run(home, "restore", str(file))
        assert result.returncode == 2 and words in result.stderr, (file, result.stderr)
        assert home.catalog_path.read_bytes() == b""           # nothing was moved or replaced
    assert run(home, "restore", str(backup)).returncode == 0
    assert run(home, "show", "GZ-1").returncode == 0
@SQLITE_FILE
def test_a_catalog_of_another_archive_or_a_lost_mirror_is_refused(new_home, home, tmp_path):
    other = new_home(tmp_path / "other")
    (home.path / mirror.HEAD_FILE).rename(tmp_path / "mirror.json")
    missing = run(home, "search", "整改")
    assert missing.returncode == DAMAGED and "台账头副本" in missing.stderr and "缺失" in missing.stderr
    (tmp_path / "mirror.json").rename(home.path / mirror.HEAD_FILE)
    _drop_catalog(home)
    shutil.copyfile(other.catalog_path, home.catalog_path)
    foreign = run(home, "retention")
    assert foreign.returncode == DAMAGED and "不属于此档案库" in foreign.stderr
    (home.path / mirror.HEAD_FILE).write_text("{garbage", encoding="utf-8")
    damaged = run(home, "audit")
    assert damaged.returncode == DAMAGED and "台账头副本" in damaged.stderr and "已损坏" in damaged.stderr


def test_audit_names_every_blob_the_catalog_does_not_know(home):
    planted = FilesystemBlobStore(home.path / "blobs").put_bytes(b"%PDF-1.7 planted into the store")
    result = run(home, "audit")
    assert result.returncode == 1 and planted in result.stdout and "不为目录所知" in result.stdout
@SQLITE_FILE
def test_a_new_archive_and_an_archive_made_before_mirrors_start_cleanly(new_home, tmp_path):
    home = new_home(tmp_path / "new")
    assert mirror.read_mark(home.path).seq == 0
    assert run(home, "ledger", "verify").returncode == 0
    store_case(home, "GZ-1", date(2025, 3, 1))
    (home.path / mirror.HEAD_FILE).unlink()            # as an archive made before this change
    conn = sqlite3.connect(home.catalog_path)
    conn.execute("DELETE FROM archive_meta")
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()
    assert run(home, "audit").returncode == 0
    assert mirror.read_mark(home.path).seq == 1
@SQLITE_FILE
def test_backup_and_restore_obey_the_roles_in_the_core(home, tmp_path):
    """Backing up is the system administrator's; restoring only happens at the archive's own machine."""
    from pipeline import api
    from pipeline.api.authority import PermissionRefused

    for role in ("reader", "archivist", "auditor"):
        with pytest.raises(PermissionRefused, match="无权备份目录数据库"):
            api.backup(home, tmp_path / f"{role}.sqlite", actor=api.Actor(name="某人", role=api.Role(role)))
    copy = tmp_path / "sys.sqlite"
    api.backup(home, copy, actor=api.Actor(name="系统管理员", role=api.Role("sysadmin")))
    _drop_catalog(home)
    for role in ("sysadmin", "secadmin", "archivist"):
        with pytest.raises(PermissionRefused, match="无权从备份恢复目录数据库"):
            api.restore(home.path, copy, actor=api.Actor(name="某人", role=api.Role(role)))
    assert not home.catalog_path.exists()
    assert run(home, "restore", str(copy)).returncode == 0
    assert run(home, "audit").returncode == 0
@SQLITE_FILE
def test_ledger_entries_committed_on_the_web_face_s_own_connection_reach_the_mirror(home, tmp_path):
    """The web face writes account changes on its own connection, in its own transaction: the next opening of
    the catalog carries the mirror forward, so a catalog later replaced by a copy without them is refused."""
    from pipeline import api

    copy = tmp_path / "before.sqlite"
    assert run(home, "backup", "-o", str(copy)).returncode == 0
    before = mirror.read_mark(home.path).seq
    conn = sqlite3.connect(home.catalog_path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    entry = api.record_account_change(home, "王晓明", "created", actor=api.Actor(name="root", role=api.Role.console),
                                      connection=conn)
    conn.execute("COMMIT")
    conn.close()
    assert entry.seq == before + 1 and mirror.read_mark(home.path).seq == before
    home.catalog().close()
    assert mirror.read_mark(home.path).seq == entry.seq
    _drop_catalog(home)
    shutil.copyfile(copy, home.catalog_path)
    refused = run(home, "ledger", "list")
    assert refused.returncode == DAMAGED and f"第 {entry.seq} 条" in refused.stderr
