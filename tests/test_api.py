"""The core API and the command line print the same thing: each `--json` output is `model_dump(mode="json")` of the
core API's answer for the same question."""
from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import api
from pipeline.api import models

from .conftest import EXAMPLES, ROOT, load_example, person

YUETAN = Path(sys.executable).parent / "yuetan"
READER = person("查阅人", api.Role.reader)
REFUSED = load_example("refused-to-sign")["notice"]["number"]


def cli_json(home, *args: str, lines: bool = False, ok: tuple[int, ...] = (0,)):
    result = subprocess.run([str(YUETAN), "--home", str(Path(home.path if hasattr(home, "path") else home)), *args],
                            capture_output=True, text=True, cwd=ROOT, env=os.environ, timeout=300)
    assert result.returncode in ok, result.stderr
    if lines:
        return [json.loads(line) for line in result.stdout.splitlines()]
    return json.loads(result.stdout)


def dump(result) -> dict:
    return result.model_dump(mode="json")


def test_read_commands_print_the_api_answer(example_archive, example_dossiers):
    home = example_archive
    institution = load_example("institution-onsite")
    code = institution["target"]["credit_code"]
    pairs = [
        (("check", "--json", str(EXAMPLES / "refused-to-sign")), api.check(EXAMPLES / "refused-to-sign")),
        (("search", "超范围", "--kind", "institution", "--json"),
         api.search(home, "超范围", actor=READER, kind="institution")),
        (("search", "--json"), api.search(home, actor=READER)),
        (("show", "--json", REFUSED), api.show(home, REFUSED, actor=READER)),
        (("audit", "--json"), api.audit(home, actor=READER)),
        (("ledger", "verify", "--json"), api.ledger_verify(home, actor=READER)),
        (("retention", "--as-of", "2032-01-01", "--json"),
         api.retention(home, actor=READER, as_of=__import__("datetime").date(2032, 1, 1))),
        (("credit", code, "--json"), api.credit(home, code, actor=READER)),
        (("verify", "--json", str(example_dossiers["bureau-video"])), api.verify(example_dossiers["bureau-video"])),
        (("schema",), api.schema()),
        (("statistics", "--json"), api.statistics(home, actor=READER)),
    ]
    for args, answer in pairs:
        assert cli_json(home, *args) == dump(answer), args
    listed = cli_json(home, "ledger", "list", "--json", lines=True)
    assert listed == [dump(e) for e in api.ledger_list(home, actor=READER).entries]
    assert {e["role"] for e in listed} == {"archivist"}         # the fixture ingested as an archivist


def test_a_refused_case_and_a_purged_one_keep_their_short_shapes(make_case, tmp_path):
    folder = make_case(change=lambda d: d["target"].update(credit_code="91360100MA35K2Q74N"))
    refused = api.check(folder)
    assert set(dump(refused)) == {"valid", "errors", "findings"}
    assert cli_json(tmp_path, "check", "--json", str(folder), ok=(2,)) == dump(refused)
    assert isinstance(refused.failure(), api.InvalidCase) and refused.failure().exit_code == 2
    assert dump(models.PurgePlan(format="f", plan_id=None, as_of="2024-01-01", cases=[],
                                 totals={"cases": 0, "pages": 0})) == {
        "format": "f", "plan_id": None, "as_of": "2024-01-01", "cases": [], "totals": {"cases": 0, "pages": 0}}


def test_changing_commands_print_a_dump_of_their_api_model(archive_copy, tmp_path):
    """What a change prints (export, purge, ingest) is a model's dump: read back into the model it is the same."""
    home = archive_copy
    bag = tmp_path / "导出.zip"
    exported = cli_json(home, "export", "--kind", "institution", "-o", str(bag), "--json", "--actor", "检查组")
    assert dump(models.ExportResult.model_validate(exported)) == exported
    assert cli_json(home, "export", "verify", "--json", str(bag)) == dump(api.export_verify(bag, home=home))
    verified = cli_json(home, "export", "--verify", str(bag), "--json")
    assert verified["valid"] is True and verified["problems"] == []
    assert [c["name"] for c in verified["checks"]] == ["zip", "manifests", "signature", "ledger_chain", "archive"]

    again = cli_json(home, "ingest", "--json", str(EXAMPLES / "bureau-video"), lines=True)
    archivist = person("档案员", api.Role.archivist)
    assert again == [dump(r) for r in api.ingest(home, [EXAMPLES / "bureau-video"], actor=archivist).results]
    assert again[0]["status"] == "unchanged"

    planned = cli_json(home, "purge", "plan", "-o", str(tmp_path / "plan"), "--as-of", "2032-01-01", "--json")
    assert dump(models.PurgePlan.model_validate(planned)) == planned and planned["totals"]["cases"] == 3
    executed = cli_json(home, "purge", "execute", str(tmp_path / "plan" / "plan.json"), "--approved-by", "王局长",
                        "--json", ok=(0,))
    assert dump(models.PurgeResult.model_validate(executed)) == executed

    entries = api.ledger_list(home, actor=READER).entries
    assert [(e.action, e.actor, e.role) for e in entries if e.action in ("export", "purge_plan")] == [
        ("export", "检查组", "console"), ("purge_plan", getpass.getuser(), "console")]
    assert api.ledger_verify(home, actor=READER).ok


def test_statistics_count_the_current_cases(example_archive):
    stats = api.statistics(example_archive, actor=READER)
    assert stats.cases == 3
    assert sum(c.count for c in stats.by_year) == 3 and [c.key for c in stats.by_year] == ["2025"]
    assert {c.key: c.count for c in stats.by_kind} == {"institution": 2, "bureau": 1}
    assert sum(c.count for c in stats.by_outcome) == 3
    assert stats.findings == sum(c.count for c in stats.findings_by_article) == sum(
        c.count for c in stats.findings_by_organizer)
    refused = api.show(example_archive, REFUSED, actor=READER)
    assert stats.findings >= len(refused.findings) > 0
    articles = [c.key for c in stats.findings_by_article]
    assert "第十三条" in articles and "第十六条" in articles
    assert articles.index("第十条") < articles.index("第十三条")       # in the Measures' order
    grounds = {c.key: c.label for c in stats.by_ground}
    assert all(label.startswith("第") for label in grounds.values())


def test_every_role_acts_under_its_name(archive_copy):
    """The roles that may hold (the console, an archivist) act under their name; every other role is refused by
    the core itself (pipeline.records.authority), whatever face asks."""
    allowed = {api.Role.console, api.Role.archivist}
    for role in api.Role:
        for change in (api.hold, api.release):
            if role not in allowed:
                with pytest.raises(api.authority.PermissionRefused, match="无权冻结与解除冻结"):
                    change(archive_copy, REFUSED, reason="复议", actor=person("甲", role))
                continue
            done = change(archive_copy, REFUSED, reason="复议", actor=person("甲", role))
            entry = api.ledger_list(archive_copy, done.case_id, actor=READER).entries[-1]
            assert (entry.action, entry.actor, entry.role, done.role) == (done.action, "甲", role.value, role.value)
    assert api.ledger_verify(archive_copy, actor=READER).ok
