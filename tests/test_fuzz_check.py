"""Random case.json documents and zip files thrown at `yuetan check` (issue 17): whatever comes in, the answer is
exit 0, 1 or 2 with a message — never a traceback, never an internal error — and nothing is written anywhere.

Bounded for CI (about a minute on a quiet machine): hypothesis draws mutations of the bundled examples (keys
dropped, values replaced by any JSON, strings with control characters and surrogates, deep nesting), raw bytes
that are not JSON at all, and zips with hostile member names, duplicate names, odd compression and flipped bytes.
"""
from __future__ import annotations

import copy
import io
import json
import os
import random
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.cli import main

from .conftest import EXAMPLES, load_example, tree_snapshot

BUDGET = settings(max_examples=int(os.environ.get("YUETAN_FUZZ_EXAMPLES", "800")), deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                         HealthCheck.data_too_large])
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40) | st.sampled_from(
    ["", " ", "\u0000", "\u202e名称", "江西\n检测", "\ud800", "〔2025〕3号", "9" * 400, "2025-02-30",
     "2025-07-15T09:30:00", "赣市监检约〔2025〕03号", "../../etc/passwd", "整改方案.pdf", "C:\\x.pdf"])
SCALARS = st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | \
    st.floats(allow_nan=False) | TEXT
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=12)
pytestmark = pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")   # duplicates are drawn on purpose
EXAMPLE_CASES = {name: load_example(name) for name in ("institution-onsite", "bureau-video", "refused-to-sign")}


def _paths(value, prefix=()):
    """Every (path, value) inside a JSON value, to pick a place to mutate."""
    yield prefix, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*prefix, i))


@st.composite
def mutated_cases(draw) -> dict:
    name = draw(st.sampled_from(sorted(EXAMPLE_CASES)))
    case = copy.deepcopy(EXAMPLE_CASES[name])
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        places = list(_paths(case))
        path, _ = places[draw(st.integers(min_value=0, max_value=len(places) - 1))]
        if not path:
            continue
        parent = case
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "drop", "add", "deepen"]))
        if action == "replace":
            parent[path[-1]] = draw(JSON)
        elif action == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(TEXT)] = draw(JSON)
        elif action == "deepen":
            nested = draw(JSON)
            for _ in range(draw(st.integers(min_value=1, max_value=60))):
                nested = [nested]
            parent[path[-1]] = nested
    return case


def encode(case: dict) -> bytes:
    return json.dumps(case, ensure_ascii=False).encode("utf-8", "surrogatepass")


RAW = st.one_of(
    mutated_cases().map(encode),
    JSON.map(lambda v: json.dumps(v).encode("utf-8")),
    st.binary(max_size=300),
    mutated_cases().map(encode).flatmap(lambda b: st.integers(0, len(b)).map(lambda n: b[:n])),   # truncated
    mutated_cases().map(lambda c: b"\xef\xbb\xbf" + encode(c)),                                   # BOM
    st.integers(30, 3000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),                         # deep
)

MEMBER_NAMES = st.sampled_from(["case.json", "case.json", "整改方案.pdf", "scan.jpg", "../escape.txt",
                                "/abs/case.json", "sub/case.json", "a\\b.pdf", "C:/x", "link", "dir/"]) | TEXT


@st.composite
def zips(draw) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for _ in range(draw(st.integers(min_value=0, max_value=5))):
            name = draw(MEMBER_NAMES) or "x"
            info = zipfile.ZipInfo(name)
            info.compress_type = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
            if draw(st.booleans()):
                info.external_attr = draw(st.sampled_from([0o120777 << 16, 0o100644 << 16, 0o040755 << 16]))
            data = draw(RAW) if name.endswith("case.json") else draw(st.binary(max_size=200))
            try:
                archive.writestr(info, data)
            except (ValueError, UnicodeEncodeError):
                continue
    data = bytearray(buffer.getvalue())
    rng = random.Random(draw(st.integers(0, 2**32)))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        if data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    if draw(st.booleans()) and data:
        data = data[:draw(st.integers(0, len(data)))]
    return bytes(data)


@pytest.fixture(scope="module")
def case_folder(tmp_path_factory) -> Path:
    """One copy of an example with its attachments; each try writes its own case.json into it."""
    folder = tmp_path_factory.mktemp("fuzz") / "case"
    shutil.copytree(EXAMPLES / "institution-onsite", folder)
    return folder


def run_check(target: Path, cwd: Path) -> None:
    """`yuetan check --json TARGET` in this process (fast), as the command line runs it."""
    before = tree_snapshot(cwd)
    result = CliRunner().invoke(main, ["check", "--json", str(target)], catch_exceptions=True)
    output = result.output
    assert result.exit_code in (0, 1, 2), (result.exit_code, output, result.exception)
    assert "Traceback" not in output and "内部错误" not in output, output
    for line in output.splitlines():
        json.loads(line)
    assert tree_snapshot(cwd) == before


@BUDGET
@given(data=RAW)
def test_random_case_json_documents(case_folder, private_tempdir, data):
    (case_folder / "case.json").write_bytes(data)
    run_check(case_folder, case_folder.parent)


@BUDGET
@given(data=zips())
def test_random_zip_files(tmp_path_factory, private_tempdir, data):
    folder = tmp_path_factory.mktemp("zip")
    target = folder / "case.zip"
    target.write_bytes(data)
    run_check(target, folder)
    shutil.rmtree(folder)
