"""The smaller holes of issue 17 (item 8), each closed and shown."""
from __future__ import annotations

import json
import zipfile

from .conftest import EXAMPLES
from .test_cli import yuetan


def _zip_of_example(dest, extra: dict[str, bytes]):
    with zipfile.ZipFile(dest, "w") as zf:
        for path in sorted((EXAMPLES / "institution-onsite").iterdir()):
            zf.write(path, path.name)
        for name, data in extra.items():
            zf.writestr(name, data)
    return dest


def test_a_zip_with_two_case_json_or_duplicate_names_is_refused(tmp_path):
    other = json.loads((EXAMPLES / "bureau-video" / "case.json").read_text(encoding="utf-8"))
    two = _zip_of_example(tmp_path / "two.zip", {"case.json": json.dumps(other).encode()})    # same name again
    result = yuetan("check", "--json", str(two))
    assert result.returncode == 2
    messages = " ".join(e["message"] for e in json.loads(result.stdout)["errors"])
    assert "同名文件" in messages and "2 个 case.json" in messages
    nested = _zip_of_example(tmp_path / "nested.zip", {"旧版/case.json": json.dumps(other).encode()})
    result = yuetan("check", "--json", str(nested))
    assert result.returncode == 2 and "2 个 case.json" in result.stdout
    clash = _zip_of_example(tmp_path / "clash.zip", {"整改方案.pdf/x.txt": b"x"})
    result = yuetan("check", "--json", str(clash))
    assert result.returncode == 2 and "既是文件又是文件夹" in result.stdout
