"""A province: two nodes (archive homes) sharing one PostgreSQL 15 catalog and one S3 bucket with Object Lock
(moto_server), ingesting at the same time; then Object Lock against purges and direct deletes, holds, and the
audit of catalog against bucket. Everything real: the `yuetan` command, LibreOffice, PostgreSQL, moto's server."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from archive_store import ledger
from archive_store.home import DEFAULT_SETTINGS, SETTINGS_FILE, ArchiveHome, open_home
from archive_store.numbers import parse_notice_number
from archive_store.s3blobs import blob_key
from pipeline.records.audit import audit_archive
from pipeline.records.retention import lock_until
from pipeline.records.setup import init_home
from pipeline.search.index import indexed_case_ids

from .conftest import ROOT, catalog_settings_for, new_pg_catalog
from .synthetic import make_case_folders

YUETAN = ROOT / ".venv" / "bin" / "yuetan"


@dataclass
class Province:
    nodes: list[ArchiveHome]
    bucket: str
    s3: object                   # a raw boto3 client: what an administrator with the bucket's keys can do

    def run(self, node: int, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([str(YUETAN), "--home", str(self.nodes[node].path), *args], capture_output=True,
                              text=True, timeout=600, **kwargs)


def make_province(tmp_path: Path, pg_template, moto_s3, bucket: str, *, nodes: int = 2,
                  retention_years: int = 6) -> Province:
    """`nodes` homes with the same [catalog] and [store] settings (and the same seal), as a deployment has."""
    os.environ["YUETAN_CATALOG_PASSWORD"] = pg_template.password
    location = new_pg_catalog(pg_template)
    settings = DEFAULT_SETTINGS.replace("years = 6", f"years = {retention_years}") + catalog_settings_for(location) + (
        f'\n[store]\nkind = "s3"\nendpoint = "{moto_s3.endpoint}"\nbucket = "{bucket}"\nregion = "us-east-1"\n')
    homes = []
    for i in range(nodes):
        path = tmp_path / f"node-{i + 1}"
        path.mkdir()
        (path / SETTINGS_FILE).write_text(settings, encoding="utf-8")
        if i:                    # every node signs with the province's one seal
            shutil.copytree(homes[0].path / "seal", path / "seal")
        homes.append(init_home(path, organizer="江西省市场监督管理局")[0])
    return Province(homes, bucket, moto_s3.client())


def numberless_cases(n: int, dest: Path, *, seed: int, closed_years=None) -> list[Path]:
    """Synthetic cases without a notice number, so the shared register issues them."""
    folders = make_case_folders(n, dest, seed=seed, closed_years=closed_years)
    for folder in folders:
        case = json.loads((folder / "case.json").read_text(encoding="utf-8"))
        case["case_id"] = f"{case['case_id']}-{seed}"
        del case["notice"]["number"]
        (folder / "case.json").write_text(json.dumps(case, ensure_ascii=False, indent=1), encoding="utf-8")
    return folders


def case_ids(folders: list[Path]) -> set[str]:
    return {json.loads((f / "case.json").read_text(encoding="utf-8"))["case_id"] for f in folders}


# --- two nodes ingesting at once ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory, pg_template, moto_s3):
    tmp = tmp_path_factory.mktemp("province")
    os.environ.update(moto_s3.env())
    bucket = moto_s3.create_locked_bucket("yuetan-two-nodes")
    province = make_province(tmp, pg_template, moto_s3, bucket)
    batches = [numberless_cases(4, tmp / "cases-a", seed=11), numberless_cases(4, tmp / "cases-b", seed=12)]
    runs = [subprocess.Popen([str(YUETAN), "--home", str(node.path), "ingest", "-j", "2", "--json", "--actor", "测试",
                              str(batch[0].parent)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for node, batch in zip(province.nodes, batches)]
    outputs = [run.communicate(timeout=900) for run in runs]
    for run, (out, err) in zip(runs, outputs):
        assert run.returncode == 0, err + out
    results = [json.loads(line) for out, _ in outputs for line in out.splitlines() if line.strip()]
    return province, batches, results


def test_two_nodes_store_every_case_once_with_unique_consecutive_numbers(two_nodes):
    province, batches, results = two_nodes
    assert sorted(r["status"] for r in results) == ["ingested"] * 8, results
    wanted = case_ids(batches[0]) | case_ids(batches[1])
    with province.nodes[1].catalog() as catalog:
        records = catalog.all_cases()
        assert sorted(r.case_id for r in records) == sorted(wanted)        # each once, one version
        assert {r.status for r in records} == {"current"}
        numbers = [parse_notice_number(r.notice_number) for r in records]
        assert {(p, y) for p, y, _ in numbers} == {("赣市监检约", 2025)}
        assert sorted(seq for _, _, seq in numbers) == list(range(1, 9))     # unique and consecutive
        entries = ledger.entries(catalog)
        assert ledger.verify_chain(catalog) == []                          # one chain, not forked
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
        assert sorted(e.case_id for e in entries if e.action == "ingest") == sorted(wanted)


def test_each_node_finds_every_case_after_following_and_audits_clean(two_nodes):
    province, batches, _ = two_nodes
    wanted = case_ids(batches[0]) | case_ids(batches[1])
    for node in (0, 1):
        followed = province.run(node, "follow", "--once")
        assert followed.returncode == 0, followed.stderr
        search = province.run(node, "search", "--json", "--limit", "50")
        assert search.returncode == 0, search.stderr
        assert {hit["case_id"] for hit in json.loads(search.stdout)["hits"]} == wanted
        audit = province.run(node, "audit", "--json")
        report = json.loads(audit.stdout)
        assert audit.returncode == 0 and report["ok"], report["problems"]
        assert report["cases"] == 8


def test_blobs_are_stored_once_under_their_keys_and_locked_until_the_term(two_nodes):
    province, _, _ = two_nodes
    with province.nodes[0].catalog() as catalog:
        terms = catalog.retention_terms()
    versions = province.s3.list_object_versions(Bucket=province.bucket)["Versions"]
    assert sorted(v["Key"] for v in versions) == sorted(blob_key(sha) for sha in terms)    # one version each
    wanted = lock_until(date(2025, 6, 30), 6)
    for sha in list(terms)[:5]:
        head = province.s3.head_object(Bucket=province.bucket, Key=blob_key(sha))
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert head["ObjectLockRetainUntilDate"] >= wanted


def test_a_case_ingested_on_one_node_is_found_on_the_other_within_ten_seconds(two_nodes, tmp_path):
    province, _, _ = two_nodes
    follower = subprocess.Popen([str(YUETAN), "--home", str(province.nodes[1].path), "follow", "--interval", "1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        [folder] = numberless_cases(1, tmp_path / "late", seed=13)
        ingest = province.run(0, "ingest", "--json", "--actor", "测试", str(folder))
        assert ingest.returncode == 0, ingest.stderr
        case_id = json.loads(ingest.stdout)["case_id"]
        stored = time.monotonic()
        while case_id not in indexed_case_ids(province.nodes[1].index_dir):
            assert time.monotonic() - stored < 10, "not found on the other node within 10 s"
            assert follower.poll() is None, follower.stderr.read()
            time.sleep(0.2)
    finally:
        follower.terminate()
        follower.wait(timeout=30)
    search = province.run(1, "search", "--json", case_id.split("-")[-2])
    assert case_id in {hit["case_id"] for hit in json.loads(search.stdout)["hits"]}


def _followers_of(home: ArchiveHome) -> list[int]:
    """The pids of `yuetan follow` processes running for this home (read from /proc)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"follow" in args and str(home.path).encode() in args:
            pids.append(int(proc.name))
    return pids


def test_serve_runs_the_follower_and_keeps_djangos_tables_in_the_catalog_database(two_nodes):
    """`yuetan serve` on a PostgreSQL node starts its index follower (here catching up an index deleted as
    derived data), stops it when it stops, and Django's tables are made in the catalog's own database."""
    import urllib.error
    import urllib.request

    import sqlalchemy as sa

    from tests.services import free_port

    province, _, _ = two_nodes
    node = province.nodes[1]
    with node.catalog() as catalog:
        wanted = {r.case_id for r in catalog.all_cases(status="current")}
    shutil.rmtree(node.index_dir, ignore_errors=True)       # derived data: the follower makes it again
    (node.path / "index.follow.json").unlink(missing_ok=True)
    port = free_port()
    serve = subprocess.Popen([str(YUETAN), "--home", str(node.path), "serve", "--port", str(port), "--workers", "1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert serve.poll() is None, serve.stderr.read()
            assert time.monotonic() < deadline, "yuetan serve did not answer within 120 s"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as page:
                    assert page.status == 200 and "登录" in page.read().decode()
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        assert _followers_of(node), "no follower started with the server"
        while not wanted <= set(indexed_case_ids(node.index_dir)):
            assert time.monotonic() < deadline, "the server's follower did not rebuild the node's index"
            time.sleep(0.5)
    finally:
        serve.terminate()
        serve.wait(timeout=60)
    assert _followers_of(node) == []                      # stopped with the server
    with node.catalog() as catalog, catalog.reading() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert {"auth_user", "accounts_apitoken", "django_migrations", "cases", "ledger", "archival_codes"} <= tables


ACCOUNTS_SCRIPT = """
import json, sys
from pathlib import Path
from django.db import transaction
from pipeline import api
from pipeline.web import config
home = api.open_archive(Path(sys.argv[1]))
config.configure(home)
config.migrate()
from django.contrib.auth.models import User
from pipeline.web.accounts import service
class Abandoned(Exception):
    pass
try:
    with transaction.atomic():
        service.add_account(home, "撤回者", roles=["reader"], password=sys.argv[2], by="测试")
        raise Abandoned
except Abandoned:
    pass
service.add_account(home, "留存者", roles=["reader"], password=sys.argv[2], by="测试")
print(json.dumps(sorted(User.objects.values_list("username", flat=True)), ensure_ascii=False))
"""


def test_accounts_live_in_the_shared_database_and_commit_with_their_ledger_entry(two_nodes):
    """On PostgreSQL: an account made on one node is seen on the other; an account change rolled back takes its
    ledger entry with it, one kept keeps it (the web's one-transaction rule through Django's own connection)."""
    province, _, _ = two_nodes
    password = "yuetan-省级-口令-2025"
    made = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", ACCOUNTS_SCRIPT, str(province.nodes[0].path),
                           password], capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    assert "留存者" in json.loads(made.stdout.splitlines()[-1]) and "撤回者" not in made.stdout
    listed = province.run(1, "user", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "留存者" in listed.stdout and "撤回者" not in listed.stdout
    with province.nodes[1].catalog() as catalog:
        named = [e.details.get("account") for e in ledger.entries(catalog) if e.action in ("account", "role")]
        assert "留存者" in named and "撤回者" not in named
        assert ledger.verify_chain(catalog) == []


# --- Object Lock: purges, direct deletes, holds ---------------------------------------------------------------

@pytest.fixture
def locked_archive(tmp_path, pg_template, moto_s3, s3_bucket):
    """One node; a case whose term is over (closed 2023, 1 year: purgeable since 2025-01-01, but stored today so
    locked for a day) and one whose term runs to 2026-12-31 (closed 2025)."""
    province = make_province(tmp_path, pg_template, moto_s3, s3_bucket, nodes=1, retention_years=1)
    cases = numberless_cases(2, tmp_path / "cases", seed=21, closed_years=[2023, 2025])
    result = province.run(0, "ingest", "--json", "--actor", "测试", str(cases[0].parent))
    assert result.returncode == 0, result.stderr
    old, new = sorted(case_ids(cases))
    return province, old, new


def exclusive_blobs(home: ArchiveHome, case_id: str) -> set[str]:
    with home.catalog() as catalog:
        return {sha for sha, users in catalog.retention_terms().items() if {u[0] for u in users} == {case_id}}


def shorten_locks_to_past(province: Province, shas) -> None:
    """moto lets COMPLIANCE retention be shortened (real S3 refuses): it stands in for the years passing."""
    past = datetime(2024, 1, 1, tzinfo=timezone.utc)
    for sha in shas:
        for version in province.s3.list_object_versions(Bucket=province.bucket, Prefix=blob_key(sha))["Versions"]:
            province.s3.put_object_retention(Bucket=province.bucket, Key=blob_key(sha), VersionId=version["VersionId"],
                                             Retention={"Mode": "COMPLIANCE", "RetainUntilDate": past})


def purge(province: Province, tmp_path: Path, as_of: str, name: str) -> dict:
    plan = province.run(0, "purge", "--plan", "-o", str(tmp_path / name), "--as-of", as_of, "--actor", "档案员")
    assert plan.returncode == 0, plan.stderr
    executed = province.run(0, "purge", "--execute", str(tmp_path / name / "plan.json"), "--approved-by", "局长",
                            "--actor", "档案员", "--json")
    assert executed.returncode == 0, executed.stderr + executed.stdout
    return {c["case_id"]: c for c in json.loads(executed.stdout)["cases"]}


def test_a_direct_delete_of_a_locked_version_is_refused_by_the_store(locked_archive):
    province, old, _ = locked_archive
    from botocore.exceptions import ClientError

    sha = sorted(exclusive_blobs(province.nodes[0], old))[0]
    version = province.s3.head_object(Bucket=province.bucket, Key=blob_key(sha))["VersionId"]
    with pytest.raises(ClientError) as refused:
        province.s3.delete_object(Bucket=province.bucket, Key=blob_key(sha), VersionId=version)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert province.nodes[0].blobs().verify(sha)


def test_purge_before_the_term_is_refused_and_after_it_succeeds(locked_archive, tmp_path):
    province, old, new = locked_archive
    home = province.nodes[0]
    old_blobs = exclusive_blobs(home, old)
    # The plan (as of a day after both terms) lists both; today the newer case is not due, and the older one's
    # files are still locked in the store (stored today): neither is destroyed, nothing is recorded.
    first = purge(province, tmp_path, "2027-01-02", "plan-1")
    assert first[new]["status"] == "not_due"
    assert first[old]["status"] == "locked"
    with home.catalog() as catalog:
        assert catalog.current(old) is not None and catalog.tombstones() == []
    assert all(home.blobs().has(sha) for sha in old_blobs)
    # The locks run out (set in the past for the test): the older case is destroyed, its files gone from the
    # bucket (every version), the newer case untouched.
    shorten_locks_to_past(province, old_blobs)
    second = purge(province, tmp_path, "2027-01-02", "plan-2")
    assert second[old]["status"] == "purged" and second[old]["deleted_blobs"] == len(old_blobs)
    assert second[new]["status"] == "not_due"
    listed = {v["Key"] for v in province.s3.list_object_versions(Bucket=province.bucket).get("Versions", [])}
    assert not listed & {blob_key(sha) for sha in old_blobs}
    report = audit_archive(home)
    assert report.ok, report.problems


def test_a_hold_sets_the_legal_hold_and_a_release_clears_it(locked_archive):
    province, old, new = locked_archive
    home = province.nodes[0]
    shas = exclusive_blobs(home, new)

    def holds() -> set[str]:
        return {province.s3.head_object(Bucket=province.bucket, Key=blob_key(sha)).get("ObjectLockLegalHoldStatus")
                for sha in shas}

    held = province.run(0, "hold", new, "--reason", "行政诉讼中", "--actor", "档案员")
    assert held.returncode == 0, held.stderr
    assert holds() == {"ON"}
    assert audit_archive(home).ok
    released = province.run(0, "release", new, "--reason", "诉讼终结", "--actor", "档案员")
    assert released.returncode == 0, released.stderr
    assert holds() == {"OFF"}
    assert audit_archive(home).ok


def test_audit_compares_catalog_and_bucket(locked_archive):
    province, old, new = locked_archive
    home = province.nodes[0]
    assert audit_archive(home).ok
    [overwritten, *_] = sorted(exclusive_blobs(home, new))
    province.s3.put_object(Bucket=province.bucket, Key=blob_key(overwritten), Body=b"forged")     # a new version
    [shortened, *_] = sorted(exclusive_blobs(home, old))
    shorten_locks_to_past(province, [shortened])
    province.s3.put_object(Bucket=province.bucket, Key="notes/readme.txt", Body=b"not a blob")
    with home.catalog() as catalog:     # a hold the bucket does not know of
        with catalog.transaction() as tx:
            catalog.add_hold(tx, old, reason="测试", held_by="测试")
    report = audit_archive(home)
    text = "\n".join(report.problems)
    assert not report.ok
    assert f"{blob_key(overwritten)} 有 2 个版本" in text
    assert overwritten in text and "已损坏" in text                    # the bytes served no longer match
    assert f"{blob_key(shortened)}" in text and "早于保管期限" in text
    assert "不属于档案库的对象 notes/readme.txt" in text
    assert "没有法律保全" in text
    assert open_home(home.path).blobs().bucket == province.bucket


def test_migrate_builds_an_empty_postgresql_catalog_and_nodes_refuse_one_that_is_behind(tmp_path, postgres,
                                                                                         pg_template, monkeypatch):
    from archive_store.database import CatalogLocation
    from archive_store.migrate import head_revision

    monkeypatch.setenv("YUETAN_CATALOG_PASSWORD", postgres.password)
    name = postgres.create_database(f"empty_{os.getpid()}_{time.monotonic_ns()}")
    home = tmp_path / "node"
    home.mkdir()
    location = CatalogLocation("postgresql", host="127.0.0.1", port=postgres.port, database=name, user=postgres.user)
    (home / SETTINGS_FILE).write_text(DEFAULT_SETTINGS + catalog_settings_for(location), encoding="utf-8")

    def yuetan(*args):
        return subprocess.run([str(YUETAN), "--home", str(home), *args], capture_output=True, text=True, timeout=300)

    refused = yuetan("init")
    assert refused.returncode == 5 and "请先运行 yuetan migrate" in refused.stderr
    first = yuetan("migrate")
    assert first.returncode == 0 and "（空库）" in first.stdout and f"升级到 {head_revision()}" in first.stdout, first.stderr
    assert postgres.password not in first.stdout + first.stderr
    again = yuetan("migrate")
    assert again.returncode == 0 and "无需升级" in again.stdout
    assert yuetan("init").returncode == 0
    postgres.execute("UPDATE alembic_version SET version_num = '0001'", database=name)
    behind = yuetan("audit")
    assert behind.returncode == 5 and "请运行 yuetan migrate" in behind.stderr
