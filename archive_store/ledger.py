"""The ledger: an append-only, hash-chained log of every ingest, export, hold and purge.

Each entry carries the previous entry's hash (the first carries 64 zeros), and its own
entry_hash = sha256(canonical JSON of {seq, at, actor, role, action, case_id, details, prev_hash}),
the same canonical JSON as the manifest's. `role` (the actor's role, see archive_store.actors) joined the
entries later: an entry without one (written before) is hashed without the key, so old chains still verify. It lives in the catalog's database so an entry commits
in the same transaction as the change it records. Appends are serialised in the database (SQLite's write lock;
on PostgreSQL an advisory lock held to the end of the transaction, and the primary key on seq), so writers on
several machines never fork the chain. Triggers refuse UPDATE and DELETE; `verify_chain`
does not rely on them: it finds an edited, removed or reordered entry from the hashes alone.
An editor who rewrites the whole chain from some entry onwards, or cuts entries off its end, is only
caught by comparing `head()` with a copy kept elsewhere (exports and destruction plans carry it).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from archive_store.db import LOCK_LEDGER, advisory_lock
from archive_store.schema import LEDGER_GUARD_TRIGGERS
from archive_store.schema import ledger as LEDGER

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
GUARD_TRIGGERS = LEDGER_GUARD_TRIGGERS
COLUMNS = "seq, at, actor, action, case_id, details, prev_hash, entry_hash, role"
_COLUMNS = [LEDGER.c[name] for name in COLUMNS.split(", ")]
# How many mismatching entries verify_chain searches the original position of (each search is O(n)).
_MAX_DIAGNOSED = 50
_NEAR = 5
_FULL_SEARCH_UP_TO = 20_000



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


def append(tx_or_conn, *, action: str, actor: Actor, case_id: str | None = None, details: dict,
           at: datetime | str | None = None) -> LedgerEntry:
    """Add an entry, under the actor's name and role, inside the caller's transaction (a catalog transaction or
    an open SQLAlchemy connection, such as `db.lent`'s), or in one of its own when none is open."""
    if action not in ACTIONS:
        raise InvalidArgument(f"账本不认识操作“{action}”，应为：{'、'.join(sorted(ACTIONS))}")
    if not isinstance(actor, Actor):
        raise InvalidArgument("账目必须写明操作人及其角色（Actor）")
    conn = tx_or_conn if isinstance(tx_or_conn, Connection) else getattr(tx_or_conn, "conn", None)
    if conn is None or not conn.in_transaction():
        with tx_or_conn.transaction() as tx:
            return append(tx, action=action, actor=actor, case_id=case_id, details=details, at=at)
    details = json.loads(canonical_json(details))        # what verify will read back, exactly
    if at is None:
        at = datetime.now(timezone.utc).replace(microsecond=0)
    at_text = at.isoformat() if isinstance(at, datetime) else str(at)
    advisory_lock(conn, LOCK_LEDGER)          # held to commit: the next append reads the head after this one
    last = conn.execute(select(LEDGER.c.seq, LEDGER.c.entry_hash).order_by(LEDGER.c.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    name, role = actor.name, actor.role.value
    entry = LedgerEntry(seq=seq, at=at_text, actor=name, role=role, action=action, case_id=case_id,
                        details=details, prev_hash=prev,
                        entry_hash=entry_hash(seq=seq, at=at_text, actor=name, role=role, action=action,
                                              case_id=case_id, details=details, prev_hash=prev))
    conn.execute(insert(LEDGER).values(seq=entry.seq, at=entry.at, actor=entry.actor, role=entry.role,
                                       action=entry.action,
                                       case_id=entry.case_id, details=canonical_json(details).decode("utf-8"),
                                       prev_hash=entry.prev_hash, entry_hash=entry.entry_hash))
    return entry


def entries(source, case_id: str | None = None, *, after: int = 0) -> list[LedgerEntry]:
    """Entries in order (of one case, or after a seq); `source` is a catalog or an open transaction."""
    query = select(*_COLUMNS).where(LEDGER.c.seq > after).order_by(LEDGER.c.seq)
    if case_id is not None:
        query = query.where(LEDGER.c.case_id == case_id)
    with _reading(source) as conn:
        return [_entry(row) for row in conn.execute(query)]


def head(source) -> LedgerEntry | None:
    """The last entry; its seq and entry_hash pin the whole chain before it."""
    with _reading(source) as conn:
        row = conn.execute(select(*_COLUMNS).order_by(LEDGER.c.seq.desc()).limit(1)).first()
    return _entry(row) if row else None


def verify_chain(source) -> list[str]:
    """Every problem in the chain, in Chinese, each naming the entry (seq); empty when the chain is intact."""
    with _reading(source) as conn:
        rows = [tuple(row) for row in conn.execute(select(*_COLUMNS).order_by(LEDGER.c.seq))]
        present = _guard_triggers(conn)
    problems = [f"账本的防改触发器 {name} 已被删除：有人绕过了只能追加的限制"
                for name in GUARD_TRIGGERS if name not in present]
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


@contextmanager
def _reading(source):
    """A connection from an open transaction (sees its own writes), else a short one of the catalog's."""
    conn = getattr(source, "conn", None)
    if conn is not None:
        yield conn
        return
    with source.reading() as conn:
        yield conn


def _guard_triggers(conn) -> set[str]:
    if conn.dialect.name == "sqlite":
        return set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars())
    return set(conn.exec_driver_sql("SELECT tgname FROM pg_trigger WHERE tgrelid = 'ledger'::regclass "
                                    "AND NOT tgisinternal AND tgenabled <> 'D'").scalars())   # disabled = gone
