"""`yuetan search` reads a SQLite catalog with sqlite3 alone (archive_store.catalog_probe): the same 档号 as the
catalog, no SQLAlchemy loaded, and every doubt about the catalog left to the full open-time check."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import date

import pytest

from archive_store import catalog_probe, db, ledger, mirror
from archive_store.errors import ArchiveDamaged
from archive_store.home import open_home

from .stored_cases import new_home, store_case

SEARCH_WITHOUT_SQLALCHEMY = """
import sys
from pipeline.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"sqlalchemy": "sqlalchemy" in sys.modules, "exit": code}), file=sys.stderr)
"""


@pytest.fixture
def home(tmp_path):
    home = new_home(tmp_path / "home")
    for n, case_id in enumerate(["PROBE-1", "PROBE-2"]):
        store_case(home, case_id, date(2025, 3, 10 + n))
    return home


def test_search_gives_the_catalogs_archival_codes_without_sqlalchemy(home):
    with home.catalog() as catalog:
        expected = {case_id: catalog.current(case_id).archival_code for case_id in ("PROBE-1", "PROBE-2")}
    assert all(expected.values())
    assert home.current_archival_codes(["PROBE-1", "PROBE-2", "NONE"]) == expected
    run = subprocess.run([sys.executable, "-c", "import json\n" + SEARCH_WITHOUT_SQLALCHEMY, "--home", str(home.path),
                          "search", "数据失实", "--json"], capture_output=True, text=True, timeout=120)
    answer = json.loads(run.stdout)
    assert {h["case_id"]: h["archival_code"] for h in answer["hits"]} == expected
    status = json.loads(run.stderr.strip().splitlines()[-1])
    assert status["exit"] in (0, None)
    if home.catalog_location.is_sqlite:
        assert status["sqlalchemy"] is False
    else:                                       # PostgreSQL: the full catalog, as before
        assert status["sqlalchemy"] is True


def test_the_probe_leaves_every_doubt_to_the_full_catalog(home):
    if not home.catalog_location.is_sqlite:
        pytest.skip("the probe reads SQLite catalogs only")
    path, folder = home.catalog_location.path, home.path
    assert catalog_probe.sound(path)
    good = mirror.read_mark(folder)
    with home.catalog() as catalog:
        entries = ledger.entries(catalog)
    assert good.seq == entries[-1].seq

    # the mirror behind the ledger (an entry written on a connection of its own): the full open carries it forward
    previous = entries[-2]
    mirror.write_mark(folder, mirror.HeadMark(good.archive_id, previous.seq, previous.entry_hash), forward_only=False)
    assert not catalog_probe.sound(path)
    open_home(folder)
    assert mirror.read_mark(folder) == good and catalog_probe.sound(path)

    # an older schema revision: the full open upgrades it
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0005'")
    assert not catalog_probe.sound(path)
    db._CURRENT.clear()                          # a new command: the schema is checked again when opened
    open_home(folder)
    assert catalog_probe.sound(path)

    # a mirror of another archive, or one that is gone: the full open refuses, as before
    mirror.write_mark(folder, mirror.HeadMark("f" * 32, good.seq, good.entry_hash), forward_only=False)
    assert not catalog_probe.sound(path)
    with pytest.raises(ArchiveDamaged, match="不属于此档案库"):
        open_home(folder)
    (folder / mirror.HEAD_FILE).unlink()
    assert not catalog_probe.sound(path)
    with pytest.raises(ArchiveDamaged, match="台账头副本"):
        open_home(folder)

    # a ledger entry the mirror names with another hash
    mirror.write_mark(folder, mirror.HeadMark(good.archive_id, good.seq, "0" * 64), forward_only=False)
    assert not catalog_probe.sound(path)
    with pytest.raises(ArchiveDamaged, match="哈希与台账头副本不符"):
        open_home(folder)
    mirror.write_mark(folder, good, forward_only=False)
    assert catalog_probe.sound(path)
    path.write_bytes(b"")                        # an emptied catalog beside its mirror: lost, said by the full open
    assert not catalog_probe.sound(path)
    with pytest.raises(ArchiveDamaged):
        open_home(folder)
