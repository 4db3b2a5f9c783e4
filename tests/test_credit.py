"""The credit file (第十八条): an institution's interviews, findings, rectification and outcome."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from archive_store.errors import InvalidArgument
from pipeline.records.credit import (
    TABLE_HEADERS,
    check_credit_code,
    credit_file,
    credit_file_all,
    ground_label,
)

from .stored_cases import credit_code, store_case

YUETAN = Path(sys.executable).parent / "yuetan"
ALPHA, BETA = credit_code(11), credit_code(12)


@pytest.fixture
def archive(new_home, tmp_path):
    home = new_home(tmp_path / "home")
    store_case(home, "A-2", date(2025, 10, 1), credit=ALPHA, interview_on=date(2025, 8, 1), grounds=[(6, 5)],
               outcome="administrative_penalty", findings=[])
    store_case(home, "A-1", date(2023, 6, 1), credit=ALPHA, interview_on=date(2023, 4, 1), grounds=[(6, 2), (6, 10)])
    store_case(home, "B-1", date(2024, 6, 1), credit=BETA, interview_on=date(2024, 4, 1))
    store_case(home, "BUREAU", date(2024, 6, 1), credit=None, kind="bureau", grounds=[(7, 1)],
               outcome="circulated_criticism")
    return home


def test_ground_labels_and_credit_code_check():
    assert ground_label("6.2") == "第六条第（二）项" and ground_label("6.10") == "第六条第（十）项"
    assert ground_label("7.5") == "第七条第（五）项"
    assert check_credit_code(f" {ALPHA.lower()} ") == ALPHA
    with pytest.raises(InvalidArgument, match="统一社会信用代码"):
        check_credit_code(ALPHA[:-1] + ("0" if ALPHA[-1] != "0" else "1"))


def test_credit_file_lists_the_institutions_interviews_oldest_first(archive):
    entries = credit_file(archive, ALPHA)
    assert [e.case_id for e in entries] == ["A-1", "A-2"]
    first, second = entries
    assert first.grounds_text == "第六条第（二）项；第六条第（十）项"
    assert first.findings[0]["article"] == "第十三条" and "第十三条" in first.findings_text
    assert first.interview_on == "2023-04-01"
    assert first.rectification["plan_submitted_on"] == "2023-04-07"    # the example's plan, 6 days after
    assert first.rectification["followups"][0]["method"] == "onsite_recheck"
    assert first.outcome_label == "整改完成" and second.outcome_label == "行政处罚"
    assert second.findings_text == "未发现问题"
    assert credit_file(archive, credit_code(99)) == []
    assert {e.credit_code for e in credit_file_all(archive)} == {ALPHA, BETA}


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_credit_all_writes_a_table(archive, tmp_path, suffix):
    dest = tmp_path / f"信用档案{suffix}"
    result = subprocess.run([str(YUETAN), "--home", str(archive.path), "credit", "--all", "-o", str(dest)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    if suffix == ".csv":
        with open(dest, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
    else:
        rows = [[("" if v is None else str(v)) for v in row]
                for row in load_workbook(dest).active.iter_rows(values_only=True)]
    assert rows[0] == TABLE_HEADERS
    assert [(r[0], r[3]) for r in rows[1:]] == [(ALPHA, "A-1"), (ALPHA, "A-2"), (BETA, "B-1")]
    a2 = rows[2]
    assert a2[12] == "行政处罚" and "现场复查" in a2[11] and a2[9] == "2025-08-31"   # the example's report date, moved with the interview


def test_credit_command_json_and_errors(archive):
    done = subprocess.run([str(YUETAN), "--home", str(archive.path), "credit", ALPHA, "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["credit_code"] == ALPHA and [i["case_id"] for i in data["interviews"]] == ["A-1", "A-2"]
    assert data["interviews"][0]["grounds"][0] == {"ground": "6.2", "label": "第六条第（二）项"}
    people = subprocess.run([str(YUETAN), "--home", str(archive.path), "credit", ALPHA],
                            capture_output=True, text=True, timeout=120)
    assert "约谈 2 次" in people.stdout and "行政处罚" in people.stdout
    everyone = subprocess.run([str(YUETAN), "--home", str(archive.path), "credit", "--all"],
                              capture_output=True, text=True, timeout=120).stdout
    assert f"（{ALPHA}）：约谈 2 次" in everyone and f"（{BETA}）：约谈 1 次" in everyone
    bad = subprocess.run([str(YUETAN), "--home", str(archive.path), "credit", "12345"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "统一社会信用代码" in bad.stderr
