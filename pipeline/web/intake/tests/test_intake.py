"""入库 through the web: uploads checked by the same intake as the command line before anything is stored; zip
bombs, non-zips and oversized bodies refused; a real ingest through the JSON API under the token's account."""
from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from pipeline.web.intake.models import IngestJob
from tests.conftest import EXAMPLES


def case_zip(folder: Path, dest: Path, change=None) -> Path:
    """The example folder as a zip, case.json optionally changed."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.iterdir()):
            data = path.read_bytes()
            if path.name == "case.json" and change is not None:
                case = json.loads(data)
                change(case)
                data = json.dumps(case, ensure_ascii=False).encode("utf-8")
            zf.writestr(path.name, data)
    return dest


def upload(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="application/zip")


def catalog_count(home) -> int:
    return len(home.catalog().all_cases())


def uploads_left(home) -> list[Path]:
    return sorted((home.path / "web" / "uploads").iterdir())


def wait_for(job_id: int, seconds: float = 120) -> IngestJob:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = IngestJob.objects.get(pk=job_id)
        if not job.active:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still running after {seconds} s")


def test_a_refused_case_shows_every_problem_by_key_path_and_stores_nothing(web_home, client_for, tmp_path):
    def break_it(case):
        case["target"]["credit_code"] = "123"
        del case["notice"]["served_on"]
    bad = case_zip(EXAMPLES / "institution-onsite", tmp_path / "坏案件.zip", break_it)
    before = catalog_count(web_home)
    client = client_for("arc")
    response = client.post("/ingest/", {"bundle": [upload(bad)]})
    assert response.status_code == 302
    job = wait_for(int(response["Location"].rstrip("/").split("/")[-1]))
    page = client.get(response["Location"]).content.decode()
    assert "坏案件.zip" in page and "target.credit_code" in page and "notice.served_on" in page
    assert "拒收" in page or "不符合数据契约" in page
    item = job.items.get()
    assert item.status == "refused" and {p["path"] for p in item.problems} >= {"target.credit_code",
                                                                               "notice.served_on"}
    assert catalog_count(web_home) == before and uploads_left(web_home) == []


def test_not_a_zip_and_a_zip_bomb_are_refused(web_home, client_for, tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("case.json", b"{}")
        zf.writestr("整改报告.pdf", b"\0" * (64 * 1024 * 1024))          # 64 MiB of zeros in ~64 KiB
    assert bomb.stat().st_size < 200 * 1024
    text = tmp_path / "案件.zip"
    text.write_text("这不是 zip", encoding="utf-8")
    before = catalog_count(web_home)
    response = client_for("arc").post("/ingest/", {"bundle": [upload(bomb), upload(text)]})
    job = wait_for(int(response["Location"].rstrip("/").split("/")[-1]))
    bomb_item, text_item = job.items.order_by("seq")
    assert bomb_item.status == "refused"
    assert any("zip 炸弹" in p["message"] and p["path"].endswith("整改报告.pdf") for p in bomb_item.problems)
    assert text_item.status == "refused" and "不是 zip" in text_item.problems[0]["message"]
    assert catalog_count(web_home) == before and uploads_left(web_home) == []

    api = client_for("arc").post("/api/ingest", {"bundle": upload(bomb)})
    assert api.status_code == 400 and api.json()["errors"] and uploads_left(web_home) == []


def test_an_oversized_upload_is_refused_before_it_is_read(client_for, tmp_path):
    big = tmp_path / "big.zip"
    big.write_bytes(b"PK\x03\x04" + b"x" * 4096)
    with override_settings(YUETAN_UPLOAD_MAX_BYTES=1024):
        response = client_for("arc").post("/ingest/", {"bundle": [upload(big)]})
        api = client_for("arc").post("/api/ingest", {"bundle": upload(big)})
    assert response.status_code == 413 and "上限" in response.content.decode()
    assert api.status_code == 413 and "上限" in api.json()["error"]


def test_the_upload_handler_stops_a_body_of_unannounced_length():
    from django.core.exceptions import RequestDataTooBig

    from pipeline.web.intake.uploads import LimitedUploadHandler

    with override_settings(YUETAN_UPLOAD_MAX_BYTES=1000):
        handler = LimitedUploadHandler()
        handler.handle_raw_input(None, {}, 0, b"", None)
        handler.new_file("bundle", "x.zip", "application/zip", 0)
        handler.receive_data_chunk(b"x" * 600, 0)
        with pytest.raises(RequestDataTooBig):
            handler.receive_data_chunk(b"x" * 600, 600)
        handler.file.close()


def test_ingest_through_the_api_with_a_token(web_home, accounts, tmp_path):
    from django.test import Client

    from pipeline import api
    from pipeline.web.accounts import service

    token = service.issue_token(web_home, "arc2", by="pytest")
    good = case_zip(EXAMPLES / "bureau-video", tmp_path / "bureau-video.zip")
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/ingest", {"bundle": upload(good)}, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 201, response.content.decode()
    row = response.json()
    case_id = json.loads((EXAMPLES / "bureau-video" / "case.json").read_text(encoding="utf-8"))["case_id"]
    assert row["status"] == "ingested" and row["case_id"] == case_id and len(row["dossier_sha256"]) == 64
    assert row["archival_code"] and "2025" in row["archival_code"]
    entry = api.ledger_list(web_home, case_id, actor=api.Actor(name="pytest", role="auditor")).entries[-1]
    assert entry.action == "ingest" and entry.actor == "arc2" and entry.role == "archivist"
    again = client.post("/api/ingest", {"bundle": upload(good)}, HTTP_AUTHORIZATION=f"Token {token}")
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    reader = Client().post("/api/ingest", {"bundle": upload(good)},
                           HTTP_AUTHORIZATION=f"Token {service.issue_token(web_home, 'rea', by='pytest')}")
    assert reader.status_code == 403
    assert uploads_left(web_home) == []
