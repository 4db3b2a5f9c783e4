"""Synthetic but valid case folders, made from the bundled examples, for bulk tests and benchmarks."""
from __future__ import annotations

import json
import random
import shutil
from datetime import date, timedelta
from pathlib import Path

from pipeline.case.contract import credit_code_check_digit

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CITIES = ["南昌", "九江", "赣州", "吉安", "宜春", "上饶", "抚州", "景德镇", "萍乡", "新余", "鹰潭"]
_TRADES = ["检测技术", "质量检验", "工程检测", "环境检测", "计量检测", "食品检测", "机动车检测"]
_FACTS = [
    "{y}年{m}月出具的混凝土抗压强度检验报告与原始记录数据不一致",
    "钢筋力学性能检验报告中屈服强度数据无原始记录支撑",
    "超出资质认定证书附表范围出具建筑节能材料导热系数检验报告{n}份",
    "未按国家标准管理样品，留样记录缺失{n}份",
    "仪器设备未定期进行计量溯源，{n}台设备检定证书过期",
    "机动车排放检验数据与监控视频记录不符{n}次",
]


def credit_code(rng: random.Random) -> str:
    first17 = "91" + "360" + "".join(rng.choice("0123456789") for _ in range(3)) + \
        "".join(rng.choice(_ALPHABET) for _ in range(9))
    return first17 + credit_code_check_digit(first17)


def make_case_folders(n: int, dest: Path, *, seed: int = 7, with_scan: bool = False,
                      closed_years: list[int] | None = None) -> list[Path]:
    """`n` institution cases based on examples/institution-onsite, each with its own id, number and target.

    Without `with_scan` the JPEG follow-up scan is dropped, so a build needs no OCR of images (faster).
    """
    rng = random.Random(seed)
    template = json.loads((EXAMPLES / "institution-onsite" / "case.json").read_text(encoding="utf-8"))
    dest.mkdir(parents=True, exist_ok=True)
    folders = []
    for i in range(1, n + 1):
        case = json.loads(json.dumps(template))
        city, trade = rng.choice(_CITIES), rng.choice(_TRADES)
        year = (closed_years[(i - 1) % len(closed_years)] if closed_years else 2025)
        shift = timedelta(days=365 * (year - 2025))
        case["case_id"] = f"SYN-{year}-{i:05d}"
        case["target"]["name"] = f"江西{city}{rng.choice('华信达诚正源')}{trade}有限公司{i}"
        case["target"]["credit_code"] = credit_code(rng)
        case["notice"]["number"] = f"赣市监检约〔{year}〕{1000 + i}号"
        case["grounds"][0]["facts"] = [rng.choice(_FACTS).format(y=year, m=rng.randint(1, 12), n=rng.randint(2, 30))
                                       for _ in range(2)]
        if year != 2025:
            _shift_dates(case, shift)
        if not with_scan:
            case["attachments"] = [a for a in case["attachments"] if not a["file"].endswith(".jpg")]
        folder = dest / case["case_id"]
        folder.mkdir()
        for attachment in case["attachments"]:
            shutil.copyfile(EXAMPLES / "institution-onsite" / attachment["file"], folder / attachment["file"])
        (folder / "case.json").write_text(json.dumps(case, ensure_ascii=False, indent=1), encoding="utf-8")
        folders.append(folder)
    return folders


def _shift_dates(value, shift: timedelta):
    """Move every date and datetime in the case by whole years' worth of days (weekdays may change)."""
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = _shift_dates(item, shift)
        return value
    if isinstance(value, list):
        return [_shift_dates(item, shift) for item in value]
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-" and value[:4].isdigit():
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            return value
        return (day + shift).isoformat() + value[10:]
    return value


SHAPES = ("institution-onsite", "bureau-video", "refused-to-sign")


def make_example_shaped_cases(n: int, dest: Path, *, seed: int = 7) -> list[Path]:
    """`n` cases shaped like the three bundled examples in turn (two text PDFs and a scanned page; a DOCX and a
    text PDF; a text PDF and a screenshot), each with its own id, target and notice number (the bureau case takes
    the next one from the register, in 2024) and uploads of its own: the same pages, but no two files alike, so nothing is
    served from the normalisation cache and every scan is read by OCR again."""
    rng = random.Random(seed)
    dest.mkdir(parents=True, exist_ok=True)
    folders = []
    for i in range(1, n + 1):
        shape = SHAPES[(i - 1) % len(SHAPES)]
        case = json.loads((EXAMPLES / shape / "case.json").read_text(encoding="utf-8"))
        city = rng.choice(_CITIES)
        case["case_id"] = f"SHP-2025-{i:05d}"
        if case["target"]["kind"] == "bureau":
            case["target"]["name"] = f"{city}市市场监督管理局{i}"
        else:
            case["target"]["name"] = f"江西{city}{rng.choice('华信达诚正源')}{rng.choice(_TRADES)}有限公司{i}"
            case["target"]["credit_code"] = credit_code(rng)
        if case["notice"].get("number"):
            case["notice"]["number"] = f"赣市监检约〔2025〕{2000 + i}号"
        else:
            # the register's next number, in 2024: in 2025 it could be the own number of a case still being
            # normalised under -j 2 (the register is asked only once the uploads are archivable)
            _shift_dates(case, timedelta(days=-365))
        folder = dest / case["case_id"]
        folder.mkdir()
        for attachment in case["attachments"]:
            _unique_copy(EXAMPLES / shape / attachment["file"], folder / attachment["file"], f"{case['case_id']}")
        (folder / "case.json").write_text(json.dumps(case, ensure_ascii=False, indent=1), encoding="utf-8")
        folders.append(folder)
    return folders


def _unique_copy(src: Path, dest: Path, mark: str) -> None:
    """`src` with `mark` worked in (document metadata, or a few pixels in a corner of a picture)."""
    suffix = src.suffix.lower()
    if suffix == ".pdf":
        import pikepdf

        with pikepdf.open(src) as pdf:
            pdf.docinfo["/Subject"] = mark
            pdf.save(dest)
    elif suffix == ".docx":
        from docx import Document

        document = Document(src)
        document.core_properties.subject = mark
        document.save(dest)
    elif suffix in (".jpg", ".jpeg", ".png"):
        from PIL import Image, ImageDraw

        with Image.open(src) as image:
            image.load()
            info = {"dpi": image.info["dpi"]} if "dpi" in image.info else {}
            drawn = image.copy()
        ImageDraw.Draw(drawn).text((4, 4), mark, fill=0 if drawn.mode in ("L", "1") else (0, 0, 0))
        drawn.save(dest, quality=92, **info) if suffix != ".png" else drawn.save(dest, **info)
    else:
        shutil.copyfile(src, dest)
