"""The ledger: an append-only, hash-chained log of every ingest, export, hold and purge.

Each entry carries the previous entry's hash (the first carries 64 zeros), and its own
entry_hash = sha256(canonical JSON of {seq, at, actor, role, action, case_id, details, prev_hash}),
the same canonical JSON as the manifest's. `role` (the actor's role, see archive_store.actors) joined the
entries later: an entry without one (written before) is hashed without the key, so old chains still verify. It lives in the catalog's SQLite file so an entry commits
in the same transaction as the change it records. Triggers refuse UPDATE and DELETE; `verify_chain`
does not rely on them: it finds an edited, removed or reordered entry from the hashes alone.
An editor who rewrites the whole chain from some entry onwards, or cuts entries off its end, is only
caught by comparing `head()` with a copy kept elsewhere (exports and destruction plans carry it).
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from archive_store.db import write_transaction

from .actors import Actor
from .canonical import canonical_json
from .errors import InvalidArgument

GENESIS_HASH = "0" * 64
ACTION_LABELS = {"ingest": "入库", "supersede": "新版本入库", "export": "导出", "hold": "保全（冻结）",
                 "release": "解除保全", "purge_plan": "编制销毁清册", "purge": "销毁", "reindex": "重建索引",
                 "handover": "年度移交",
                 # the web application's accounts and the approvals it records
                 "account": "账户变更", "role": "角色变更", "plan_review": "审批销毁清册", "plan_witness": "监销确认",
                 "export_review": "审批导出", "export_grant": "授权检查人员",
                 "backup": "备份目录数据库", "restore": "从备份恢复目录数据库"}
ACTIONS = frozenset(ACTION_LABELS)
GUARD_TRIGGERS = ("ledger_no_update", "ledger_no_delete")
COLUMNS = "seq, at, actor, action, case_id, details, prev_hash, entry_hash, role"
# How many mismatching entries verify_chain searches the original position of (each search is O(n)).
_MAX_DIAGNOSED = 50
_NEAR = 5
_FULL_SEARCH_UP_TO = 20_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    case_id    TEXT,
    details    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    entry_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_case ON ledger (case_id);
CREATE TRIGGER IF NOT EXISTS ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, '账本只能追加，不能修改已有账目'); END;
CREATE TRIGGER IF NOT EXISTS ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, '账本只能追加，不能删除已有账目'); END;
"""
# Schema step 2 of the catalog: the actor's role (NULL in entries written before).
ADD_ROLE = "ALTER TABLE ledger ADD COLUMN role TEXT"


@dataclass(frozen=True)
class LedgerEntry:
    seq: int
    at: str
    actor: str
    action: str
    case_id: str | None
    details: dict
    prev_hash: str
    entry_hash: str
    role: str | None = None      # None in entries written before roles were recorded


def entry_hash(*, seq: int, at: str, actor: str, action: str, case_id: str | None, details: dict,
               prev_hash: str, role: str | None = None) -> str:
    fields = {"seq": seq, "at": at, "actor": actor, "action": action, "case_id": case_id, "details": details,
              "prev_hash": prev_hash}
    if role is not None:
        fields["role"] = role
    return hashlib.sha256(canonical_json(fields)).hexdigest()


def ensure_schema(conn: sqlite3.Connection) -> None:
    for statement in ddl_statements(SCHEMA):
        conn.execute(statement)


def append(tx_or_conn, *, action: str, actor: Actor, case_id: str | None = None, details: dict,
           at: datetime | str | None = None) -> LedgerEntry:
    """Add an entry, under the actor's name and role, inside the caller's transaction (or in one of its own
    when none is open)."""
    if action not in ACTIONS:
        raise InvalidArgument(f"账本不认识操作“{action}”，应为：{'、'.join(sorted(ACTIONS))}")
    if not isinstance(actor, Actor):
        raise InvalidArgument("账目必须写明操作人及其角色（Actor）")
    conn = _conn_of(tx_or_conn)
    if not conn.in_transaction:
        with write_transaction(conn):
            return append(conn, action=action, actor=actor, case_id=case_id, details=details, at=at)
    details = json.loads(canonical_json(details))        # what verify will read back, exactly
    if at is None:
        at = datetime.now(timezone.utc).replace(microsecond=0)
    at_text = at.isoformat() if isinstance(at, datetime) else str(at)
    last = conn.execute("SELECT seq, entry_hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    name, role = actor.name, actor.role.value
    entry = LedgerEntry(seq=seq, at=at_text, actor=name, role=role, action=action, case_id=case_id,
                        details=details, prev_hash=prev,
                        entry_hash=entry_hash(seq=seq, at=at_text, actor=name, role=role, action=action,
                                              case_id=case_id, details=details, prev_hash=prev))
    conn.execute("INSERT INTO ledger (seq, at, actor, role, action, case_id, details, prev_hash, entry_hash) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (entry.seq, entry.at, entry.actor, entry.role, entry.action, entry.case_id,
                  canonical_json(details).decode("utf-8"), entry.prev_hash, entry.entry_hash))
    return entry


def entries(conn, case_id: str | None = None) -> list[LedgerEntry]:
    conn = _conn_of(conn)
    if case_id is None:
        rows = conn.execute(f"SELECT {COLUMNS} FROM ledger ORDER BY seq").fetchall()
    else:
        rows = conn.execute(f"SELECT {COLUMNS} FROM ledger WHERE case_id = ? ORDER BY seq", (case_id,)).fetchall()
    return [_entry(row) for row in rows]


def head(conn) -> LedgerEntry | None:
    """The last entry; its seq and entry_hash pin the whole chain before it."""
    row = _conn_of(conn).execute(f"SELECT {COLUMNS} FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    return _entry(row) if row else None


def verify_chain(conn) -> list[str]:
    """Every problem in the chain, in Chinese, each naming the entry (seq); empty when the chain is intact."""
    conn = _conn_of(conn)
    rows = conn.execute(f"SELECT {COLUMNS} FROM ledger ORDER BY seq").fetchall()
    problems = [f"账本的防改触发器 {name} 已被删除：有人绕过了只能追加的限制"
                for name in GUARD_TRIGGERS
                if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                                (name,)).fetchone() is None]
    moved: set[int] = set()
    by_hash = {row[7]: row[0] for row in rows}
    last_seq = rows[-1][0] if rows else 0
    diagnosed = 0
    for seq, at, actor, action, case_id, details_text, prev_hash, stored_hash, role in rows:
        try:
            details = json.loads(details_text)
        except (TypeError, ValueError):
            problems.append(f"第 {seq} 条账目（{_label(action)}，{at}）被改动：details 不是有效的 JSON")
            continue
        fields = dict(at=at, actor=actor, role=role, action=action, case_id=case_id, details=details,
                      prev_hash=prev_hash)
        if entry_hash(seq=seq, **fields) == stored_hash:
            continue
        original = None
        if diagnosed < _MAX_DIAGNOSED:
            diagnosed += 1
            original = next((s for s in _candidate_seqs(seq, prev_hash, by_hash, last_seq)
                             if entry_hash(seq=s, **fields) == stored_hash), None)
        if original is not None:
            moved.add(seq)
            problems.append(f"第 {seq} 条账目（{_label(action)}，{at}）原是第 {original} 条：账目顺序被调换或序号被改动")
        else:
            problems.append(f"第 {seq} 条账目（{_label(action)}，{at}）被改动：内容与其哈希值不符")

    previous = None
    for row in rows:
        seq, prev_hash = row[0], row[6]
        expected_seq = previous[0] + 1 if previous else 1
        if seq > expected_seq:
            missing = f"第 {expected_seq} 条" if seq - expected_seq == 1 else f"第 {expected_seq} 至 {seq - 1} 条"
            problems.append(f"{missing}账目缺失：已被删除")
        elif previous is None and prev_hash != GENESIS_HASH and seq not in moved:
            problems.append(f"第 {seq} 条账目是账本的第一条，但记下的前一条哈希不是 64 个 0：账本开头被删除或改动")
        elif previous is not None and prev_hash != previous[7] and not ({seq, previous[0]} & moved):
            problems.append(f"第 {seq} 条账目记下的前一条哈希与第 {previous[0]} 条不符："
                            f"第 {previous[0]} 条被改动后重算了哈希，或两条之间的账目被删除、调换")
        previous = row
    return problems


def _candidate_seqs(seq: int, prev_hash: str, by_hash: dict[str, int], last_seq: int) -> Iterator[int]:
    """Where a moved entry may have been written: after the entry its prev_hash names, near its place now,
    and (for a ledger small enough) anywhere."""
    tried = {seq}
    guesses = [by_hash[prev_hash] + 1] if prev_hash in by_hash else []
    guesses += [seq + d for d in range(-_NEAR, _NEAR + 1)]
    if last_seq <= _FULL_SEARCH_UP_TO:
        guesses += range(1, last_seq + 2)
    for s in guesses:
        if s >= 1 and s not in tried:
            tried.add(s)
            yield s


def _label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def _entry(row) -> LedgerEntry:
    seq, at, actor, action, case_id, details, prev_hash, stored_hash, role = row
    return LedgerEntry(seq=seq, at=at, actor=actor, role=role, action=action, case_id=case_id,
                       details=json.loads(details), prev_hash=prev_hash, entry_hash=stored_hash)


def _conn_of(tx_or_conn) -> sqlite3.Connection:
    """A sqlite3 connection, or anything holding one as `.conn` (a catalog or its transaction)."""
    if isinstance(tx_or_conn, sqlite3.Connection):
        return tx_or_conn
    return tx_or_conn.conn


def ddl_statements(script: str) -> list[str]:
    """Split DDL into statements; trigger bodies contain ';' so complete_statement decides."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return [s for s in out if s]
