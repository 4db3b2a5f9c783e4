"""Invalid input is refused with every problem, by key path, in Chinese; nothing is written."""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from archive_store.errors import InvalidCase
from pipeline.case.intake import open_case
from pipeline.case.safezip import CASE_ZIP

from .conftest import EXAMPLE_NAMES, EXAMPLES, tree_snapshot

pytestmark = pytest.mark.usefixtures("private_tempdir")


def problems_of(path: Path) -> dict[str, str]:
    before = tree_snapshot(path if path.is_dir() else path.parent)
    with pytest.raises(InvalidCase) as exc:
        with open_case(path):
            pass
    assert tree_snapshot(path if path.is_dir() else path.parent) == before, "the case folder was changed"
    return {p.path: p.message for p in exc.value.problems}


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_examples_are_valid(name):
    with open_case(EXAMPLES / name) as bundle:
        assert bundle.case.case_id
        assert all(a.path.is_file() for a in bundle.attachments)


def test_bare_case_json_is_read_with_its_folder():
    with open_case(EXAMPLES / "institution-onsite" / "case.json") as bundle:
        assert [a.path.name for a in bundle.attachments] == ["整改方案.pdf", "整改报告.pdf", "现场复查记录.jpg"]


def test_malformed_json(make_case):
    folder = make_case(raw=b'{"schema_version": 1, "case_id": }')
    problems = problems_of(folder)
    assert "JSON 格式错误" in problems["case.json"] and "第 1 行" in problems["case.json"]


def test_non_utf8_json(make_case):
    text = (EXAMPLES / "institution-onsite" / "case.json").read_text(encoding="utf-8")
    folder = make_case(raw=text.encode("gbk"))
    assert "不是 UTF-8" in problems_of(folder)["case.json"]


def test_missing_case_json(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "没有 case.json" in problems_of(tmp_path / "empty")["case.json"]


def test_wrong_types_and_enums_all_listed_at_once(make_case):
    def change(d):
        d["grounds"][0]["item"] = "2"
        d["interview"]["mode"] = "phone"
        d["rectification"]["followups"][0]["satisfied"] = "yes"
        d["target"]["kind"] = "company"
        d["interview"]["organizer_staff"] = {"name": "x"}
        del d["closed_on"]
    problems = problems_of(make_case(change=change))
    assert problems["grounds[0].item"] == "应为整数"
    assert "phone" in problems["interview.mode"] and "onsite、video" in problems["interview.mode"]
    assert problems["rectification.followups[0].satisfied"] == "应为 true 或 false"
    assert "company" in problems["target.kind"]
    assert problems["interview.organizer_staff"] == "应为数组 […]"
    assert problems["closed_on"] == "缺少必填项"


def test_schema_version_other_than_1(make_case):
    problems = problems_of(make_case(change=lambda d: d.update(schema_version=2)))
    assert "只支持 schema_version 1" in problems["schema_version"]


@pytest.mark.parametrize("value", ["2025-02-30", "2025-13-01", "2025/07/07", "20250707"])
def test_impossible_or_malformed_dates(make_case, value):
    problems = problems_of(make_case(change=lambda d: d["notice"].update(issued_on=value)))
    assert value in problems["notice.issued_on"] or "YYYY-MM-DD" in problems["notice.issued_on"]


def test_datetime_needs_offset(make_case):
    problems = problems_of(make_case(change=lambda d: d["interview"].update(scheduled_at="2025-07-15T09:30:00")))
    assert "时区" in problems["interview.scheduled_at"]


@pytest.mark.parametrize("code, expected", [
    ("91360100MA35K2Q74N", "校验码不符"),       # last character wrong (M is right)
    ("91360100MA35K2Q7", "18 位"),
    ("91360100MA35K2Q7IM", "不允许的字符"),
])
def test_credit_code_gb32100(make_case, code, expected):
    problems = problems_of(make_case(change=lambda d: d["target"].update(credit_code=code)))
    assert expected in problems["target.credit_code"]


def test_institution_needs_credit_code(make_case):
    problems = problems_of(make_case(change=lambda d: d["target"].pop("credit_code")))
    assert "统一社会信用代码" in problems["target.credit_code"]


@pytest.mark.parametrize("number", [
    "赣市监检约[2025]3号", "赣市监检约【2025】3号", "赣市监检约(2025)3号", "赣市监检约〔2025〕03号",
    "赣市监检约〔2025〕3", "赣市监检约〔25〕3号", "赣市监检约〔2025〕三号",
])
def test_malformed_notice_number(make_case, number):
    problems = problems_of(make_case(change=lambda d: d["notice"].update(number=number)))
    assert "格式不对" in problems["notice.number"]


def test_notice_number_prefix_must_match_organizer(make_case):
    problems = problems_of(make_case(change=lambda d: d["notice"].update(number="洪市监检约〔2025〕3号")))
    assert "洪市监检约" in problems["notice.number"] and "notice_prefix" in problems["notice.number"]


def test_ground_article_must_fit_target_kind(make_case):
    problems = problems_of(make_case(change=lambda d: d["grounds"][1].update(article=7, item=2)))
    assert "第六条" in problems["grounds[1].article"]
    problems = problems_of(make_case("bureau-video", change=lambda d: d["grounds"][0].update(article=6)))
    assert "第七条" in problems["grounds[0].article"]


@pytest.mark.parametrize("name, item, limit", [("institution-onsite", 11, "十"), ("bureau-video", 6, "五")])
def test_ground_item_must_exist(make_case, name, item, limit):
    problems = problems_of(make_case(name, change=lambda d: d["grounds"][0].update(item=item)))
    assert f"至（{limit}）" in problems["grounds[0].item"]


def test_grounds_may_be_empty_only_for_collective_interviews(make_case):
    assert "约谈事由不能为空" in problems_of(make_case(change=lambda d: d.update(grounds=[])))["grounds"]

    def collective(d):
        d["grounds"] = []
        d["collective"] = {"campaign": "2025年建设工程检测专项整治"}
    with open_case(make_case(change=collective)) as bundle:
        assert bundle.case.collective.campaign.startswith("2025")


def test_attachment_missing(make_case):
    folder = make_case()
    (folder / "整改报告.pdf").unlink()
    assert "不存在" in problems_of(folder)["attachments[1].file"]


def test_attachment_empty(make_case):
    folder = make_case()
    (folder / "整改报告.pdf").write_bytes(b"")
    assert "空文件" in problems_of(folder)["attachments[1].file"]


@pytest.mark.parametrize("name, expected", [("../case.json", ".."), ("/etc/passwd", "绝对路径"),
                                            ("sub/../../x.pdf", "..")])
def test_attachment_outside_case_folder(make_case, name, expected):
    problems = problems_of(make_case(change=lambda d: d["attachments"][0].update(file=name)))
    assert expected in problems["attachments[0].file"]


def test_attachment_symlink_out_of_case_folder(make_case, tmp_path):
    outside = tmp_path / "outside.pdf"
    outside.write_bytes((EXAMPLES / "institution-onsite" / "整改方案.pdf").read_bytes())
    folder = make_case()
    (folder / "整改方案.pdf").unlink()
    (folder / "整改方案.pdf").symlink_to(outside)
    assert "符号链接" in problems_of(folder)["attachments[0].file"]


def test_attachment_bytes_must_match_its_name(make_case):
    folder = make_case()
    (folder / "整改方案.pdf").write_text("这不是 PDF，只是文字", encoding="utf-8")
    (folder / "现场复查记录.jpg").write_bytes((EXAMPLES / "refused-to-sign" / "检测线监控截图.png").read_bytes())
    problems = problems_of(folder)
    assert "PDF" in problems["attachments[0].file"] and "无法识别" in problems["attachments[0].file"]
    assert "JPEG" in problems["attachments[2].file"] and "PNG" in problems["attachments[2].file"]


def test_attachment_type_not_supported(make_case):
    folder = make_case(change=lambda d: d["attachments"][0].update(file="说明.txt"))
    (folder / "说明.txt").write_text("文字", encoding="utf-8")
    assert "不受支持" in problems_of(folder)["attachments[0].file"]


def test_unknown_keys_are_kept_and_reported(make_case):
    def change(d):
        d["upstream_ref"] = "OA-2025-88"
        d["target"]["alias"] = "赣信检测"
    with open_case(make_case(change=change)) as bundle:
        assert bundle.case.model_extra["upstream_ref"] == "OA-2025-88"
        assert bundle.case.target.model_extra["alias"] == "赣信检测"
        assert set(bundle.unknown_keys) == {"upstream_ref", "target.alias"}
        assert json.loads(bundle.case.model_dump_json())["upstream_ref"] == "OA-2025-88"


# --- zip --------------------------------------------------------------------------------------------------

def zip_folder(folder: Path, dest: Path, *, prefix: str = "", extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.iterdir()):
            z.write(path, prefix + path.name)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return dest


@pytest.mark.parametrize("prefix", ["", "JX-RZ-2025-017/"])
def test_zip_of_a_case(tmp_path, prefix):
    archive = zip_folder(EXAMPLES / "institution-onsite", tmp_path / "case.zip", prefix=prefix)
    with open_case(archive) as bundle:
        assert bundle.case.case_id == "JX-RZ-2025-017"
        extracted = bundle.case_dir
        assert extracted.is_dir()
    assert not extracted.exists(), "the extraction folder must be removed"


class GbkZipInfo(zipfile.ZipInfo):
    """Names as Chinese Windows writes them: GBK bytes, no UTF-8 flag."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("gbk"), self.flag_bits


def test_zip_with_gbk_names_from_windows(tmp_path):
    archive = tmp_path / "gbk.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in (EXAMPLES / "bureau-video").iterdir():
            z.writestr(GbkZipInfo(path.name), path.read_bytes())
    with zipfile.ZipFile(archive) as z:
        assert not any(i.flag_bits & 0x800 for i in z.infolist())
    with open_case(archive) as bundle:
        assert {a.path.name for a in bundle.attachments} == {"九江市局整改方案.docx", "九江市局整改落实情况报告.pdf"}


def test_zip_slip_is_refused(tmp_path):
    archive = zip_folder(EXAMPLES / "institution-onsite", tmp_path / "slip.zip", extra={"../../evil.txt": b"x"})
    problems = problems_of(archive)
    assert any("越出" in m for m in problems.values())
    assert not (tmp_path.parent / "evil.txt").exists()


def test_zip_symlink_member_is_refused(tmp_path):
    archive = zip_folder(EXAMPLES / "institution-onsite", tmp_path / "link.zip")
    with zipfile.ZipFile(archive, "a") as z:
        info = zipfile.ZipInfo("link.pdf")
        info.external_attr = (0o120777 << 16)
        z.writestr(info, "/etc/passwd")
    assert any("符号链接" in m for m in problems_of(archive).values())


def test_zip_bomb_is_refused(tmp_path):
    archive = zip_folder(EXAMPLES / "institution-onsite", tmp_path / "bomb.zip",
                         extra={"zeros.bin": bytes(64 * 1024 * 1024)})
    assert os.path.getsize(archive) < 2 * 1024 * 1024
    assert any("zip 炸弹" in m for m in problems_of(archive).values())


def test_zip_with_too_many_files_is_refused(tmp_path):
    archive = zip_folder(EXAMPLES / "institution-onsite", tmp_path / "many.zip",
                         extra={f"f{i}.txt": b"x" for i in range(CASE_ZIP.members + 1)})
    assert any("文件过多" in m for m in problems_of(archive).values())


def test_not_a_zip(tmp_path):
    fake = tmp_path / "case.zip"
    fake.write_bytes(b"not a zip at all")
    assert "不是有效的 zip" in problems_of(fake)["case.zip"]
