"""The ledger's hash chain on a real SQLite file or PostgreSQL database (--catalog), and what an editor with
direct access to the database can(not) hide."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from archive_store import ledger
from archive_store.actors import Role
from archive_store.catalog import Catalog
from archive_store.errors import ArchiveDamaged, InvalidArgument
from archive_store.ledger import (
    GENESIS_HASH,
    append,
    entries,
    head,
    verify_chain,
)

from .conftest import person

pytestmark = pytest.mark.catalog     # runs on PostgreSQL too (make test: --catalog postgresql -m catalog)

ACTIONS = ["ingest", "ingest", "hold", "ingest", "supersede", "export", "release", "purge_plan", "purge", "reindex"]


@pytest.fixture
def db_path(catalog_target):
    path = catalog_target
    with Catalog(path) as catalog:
        for i, action in enumerate(ACTIONS, start=1):
            with catalog.transaction() as tx:
                append(tx, action=action, actor=person("档案员甲"), case_id=f"JX-{i % 3}",
                       details={"dossier_sha256": hashlib.sha256(str(i).encode()).hexdigest(), "说明": f"第{i}次"},
                       at=f"2026-03-0{1 + i % 9}T08:00:00+00:00")
    return path


SQLITE_GUARDS = [
    "CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN SELECT RAISE(ABORT, '账本只能追加，不能修改已有账目'); END",
    "CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT RAISE(ABORT, '账本只能追加，不能删除已有账目'); END"]
PG_GUARDS = ["CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_no_update()",
             "CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_no_delete()"]


def tamper(db_path, *statements, keep_guards: bool = True):
    """What an editor with the database does: drop the append-only triggers, change rows, put them back."""
    with Catalog(db_path) as catalog, catalog.transaction() as tx:
        sqlite = catalog.dialect == "sqlite"
        for name in ("ledger_no_update", "ledger_no_delete"):
            tx.conn.exec_driver_sql(f"DROP TRIGGER {name}" + ("" if sqlite else " ON ledger"))
        for sql, args in statements:
            tx.conn.execute(sa.text(sql), args)
        if keep_guards:
            for statement in SQLITE_GUARDS if sqlite else PG_GUARDS:
                tx.conn.exec_driver_sql(statement)


def problems(db_path) -> list[str]:
    """The chain's own findings; the catalog is opened even where the ledger-head mirror would refuse it."""
    with Catalog(db_path, check_head=False) as catalog:
        return verify_chain(catalog)


def test_appended_chain_verifies_and_follows_the_recipe(db_path):
    with Catalog(db_path) as catalog:
        chain = entries(catalog)
        assert [e.seq for e in chain] == list(range(1, len(ACTIONS) + 1))
        assert [e.action for e in chain] == ACTIONS
        assert chain[0].prev_hash == GENESIS_HASH
        for before, after in zip(chain, chain[1:]):
            assert after.prev_hash == before.entry_hash
        for e in chain:     # recomputed here from the documented recipe, not with the module's own function
            body = {"seq": e.seq, "at": e.at, "actor": e.actor, "role": e.role, "action": e.action,
                    "case_id": e.case_id, "details": e.details, "prev_hash": e.prev_hash}
            canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
            assert hashlib.sha256(canonical).hexdigest() == e.entry_hash
        assert chain[3].details["说明"] == "第4次"
        assert head(catalog) == chain[-1]
        assert [e.seq for e in entries(catalog, case_id="JX-0")] == [3, 6, 9]
        assert verify_chain(catalog) == []


def test_the_database_refuses_update_and_delete(db_path):
    with Catalog(db_path) as catalog:
        for sql in ("UPDATE ledger SET actor = '别人' WHERE seq = 2", "DELETE FROM ledger WHERE seq = 2"):
            with pytest.raises(sa.exc.DatabaseError, match="只能追加"):
                with catalog.transaction() as tx:
                    tx.conn.exec_driver_sql(sql)
    assert problems(db_path) == []


def test_an_edited_entry_is_named(db_path):
    tamper(db_path, ("UPDATE ledger SET details = :d WHERE seq = 4", {"d": '{"dossier_sha256":"0000","说明":"第4次"}'}))
    found = problems(db_path)
    assert len(found) == 1
    assert "第 4 条" in found[0] and "被改动" in found[0]


def test_an_edit_with_a_recomputed_hash_is_named_by_the_next_link(db_path):
    with Catalog(db_path) as catalog:
        e = entries(catalog)[3]
    forged = {"dossier_sha256": "0000"}
    new_hash = ledger.entry_hash(seq=e.seq, at=e.at, actor=e.actor, role=e.role, action=e.action,
                                 case_id=e.case_id, details=forged, prev_hash=e.prev_hash)
    tamper(db_path, ("UPDATE ledger SET details = :d, entry_hash = :h WHERE seq = 4",
                     {"d": json.dumps(forged), "h": new_hash}))
    found = problems(db_path)
    assert len(found) == 1
    assert "第 5 条" in found[0] and "第 4 条被改动" in found[0]


def test_a_removed_entry_is_named(db_path):
    tamper(db_path, ("DELETE FROM ledger WHERE seq = 6", {}))
    assert problems(db_path) == ["第 6 条账目缺失：已被删除"]


def test_removed_first_entries_are_named(db_path):
    tamper(db_path, ("DELETE FROM ledger WHERE seq <= 2", {}))
    assert problems(db_path) == ["第 1 至 2 条账目缺失：已被删除"]


def test_a_removal_hidden_by_renumbering_is_named(db_path):
    tamper(db_path, ("DELETE FROM ledger WHERE seq = 6", {}),          # two steps: the key is checked per row
           ("UPDATE ledger SET seq = -(seq - 1) WHERE seq > 6", {}), ("UPDATE ledger SET seq = -seq WHERE seq < 0", {}))
    found = problems(db_path)
    assert any("第 6 条" in p and "原是第 7 条" in p for p in found)
    assert len(found) == len(ACTIONS) - 6      # every renumbered entry is named
    if isinstance(db_path, Path):       # SQLite: the mirrored head beside the file sees the chain is short
        with pytest.raises(ArchiveDamaged) as refused:
            Catalog(db_path)
        assert f"已记到第 {len(ACTIONS)} 条" in refused.value.message


def test_two_swapped_entries_are_named(db_path):
    with Catalog(db_path) as catalog, catalog.reading() as conn:
        rows = {r.seq: r._asdict() for r in conn.exec_driver_sql(f"SELECT {ledger.COLUMNS} FROM ledger WHERE seq IN (3, 4)")}
    update = "UPDATE ledger SET at = :at, actor = :actor, action = :action, case_id = :case_id, details = :details, " \
             "prev_hash = :prev_hash, entry_hash = :entry_hash, role = :role WHERE seq = :target"
    tamper(db_path, (update, {**rows[4], "target": 3}), (update, {**rows[3], "target": 4}))
    found = problems(db_path)
    assert len(found) == 2
    assert "第 3 条" in found[0] and "原是第 4 条" in found[0] and "顺序" in found[0]
    assert "第 4 条" in found[1] and "原是第 3 条" in found[1]


def test_dropped_guards_are_reported(db_path):
    tamper(db_path, keep_guards=False)
    found = problems(db_path)
    assert len(found) == 2 and all("触发器" in p for p in found)


def test_append_checks_its_input_and_opens_a_transaction_when_none_is_open(db_path):
    with Catalog(db_path) as catalog:
        with pytest.raises(InvalidArgument) as err:
            append(catalog, action="rename", actor=person("甲"), details={})
        assert "rename" in err.value.message
        with pytest.raises(InvalidArgument):
            append(catalog, action="export", actor="甲", details={})     # a bare name: who acts needs a role
        entry = append(catalog, action="export", actor=person("甲"), details={"bag_sha256": "ab"})
        assert entry.seq == len(ACTIONS) + 1 and head(catalog) == entry      # committed
        assert verify_chain(catalog) == []


def test_the_actors_role_is_recorded_and_hashed(db_path):
    with Catalog(db_path) as catalog:
        entry = append(catalog, action="hold", actor=person("王审批", Role.approver), case_id="JX-1",
                       details={"reason": "复议"})
        assert (entry.actor, entry.role) == ("王审批", "approver")
        assert entries(catalog, "JX-1")[-1].role == "approver"
    tamper(db_path, ("UPDATE ledger SET role = 'archivist' WHERE seq = :seq", {"seq": entry.seq}))
    found = problems(db_path)
    assert len(found) == 1 and f"第 {entry.seq} 条" in found[0] and "被改动" in found[0]


def test_a_ledger_written_before_roles_migrates_and_still_verifies(tmp_path):
    """Entries from schema 1 (no role column, hashed without a role) stay valid; new ones carry the role."""
    import sqlite3

    path = tmp_path / "catalog.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    dump = (Path(__file__).parent / "data" / "catalog-before-alembic.sql").read_text(encoding="utf-8")
    conn.executescript("\n".join(line for line in dump.splitlines() if not line.startswith("INSERT")))
    conn.execute("PRAGMA user_version = 1")
    prev = GENESIS_HASH
    for seq in (1, 2):
        fields = {"seq": seq, "at": f"2025-0{seq}-01T08:00:00+00:00", "actor": "老档案员", "action": "ingest",
                  "case_id": f"JX-{seq}", "details": {"version": 1}, "prev_hash": prev}
        digest = hashlib.sha256(json.dumps(fields, ensure_ascii=False, sort_keys=True,
                                           separators=(",", ":")).encode("utf-8")).hexdigest()
        conn.execute("INSERT INTO ledger (seq, at, actor, action, case_id, details, prev_hash, entry_hash) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (seq, fields["at"], "老档案员", "ingest", f"JX-{seq}",
                                                         '{"version":1}', prev, digest))
        prev = digest
    conn.close()
    with Catalog(path) as catalog:
        assert verify_chain(catalog) == []
        assert [e.role for e in entries(catalog)] == [None, None]
        append(catalog, action="reindex", actor=person("新档案员"), details={"cases": 2})
        assert verify_chain(catalog) == []
        assert entries(catalog)[-1].role == "archivist"
