"""Walks as real people, in Debian's chromium driven by Playwright against `yuetan serve` (gunicorn): each step is
what a person does with mouse and keyboard, each person in their own browser context (own session), and each
walk saves screenshots (test-output/screenshots/; the README shows a few)."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import date, timedelta

from playwright.sync_api import expect

from pipeline.web.conftest import screenshot
from tests.conftest import EXAMPLES

INGEST_SECONDS = 240


def test_log_in_see_only_ones_own_pages_and_log_out(person):
    page = person("rea")
    assert page.locator("header .roles").inner_text() == "查阅人员"
    menu = page.locator("header nav a").all_inner_texts()
    assert "检索" in menu and "审计" not in menu and "入库" not in menu and "账户管理" not in menu
    screenshot(page, "01-首页-查阅人员")
    page.click("text=退出")
    page.wait_for_url("**/login/")
    assert page.locator("input[name=username]").is_visible()
    assert not page.errors, page.errors


def test_upload_ingest_search_and_read(person, tmp_path):
    bundle = tmp_path / "赣州宏达-拒签案件.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((EXAMPLES / "refused-to-sign").iterdir()):
            zf.write(path, path.name)

    archivist = person("arc")
    archivist.click("header nav >> text=入库")
    archivist.set_input_files("input[name=bundle]", str(bundle))
    archivist.click("text=上传并入库")
    archivist.wait_for_url(re.compile(r"/ingest/jobs/\d+/"))
    expect(archivist.locator("#progress .stage.now, #progress .stage.done").first).to_be_visible(timeout=30_000)
    screenshot(archivist, "02-入库进度")
    expect(archivist.locator("#progress")).to_have_attribute("data-state", "finished", timeout=INGEST_SECONDS * 1000)
    expect(archivist.locator("tr.item")).to_have_attribute("data-status", "ingested")
    assert "已入库" in archivist.locator("tr.item").inner_text()
    expect(archivist.locator("tr.item")).to_contain_text("档号")
    screenshot(archivist, "03-入库完成")

    reader = person("rea")
    reader.click("header nav >> text=检索")
    reader.fill("input[name=q]", "不上线检验")
    reader.select_option("select[name=kind]", "institution")
    reader.click("button:has-text('检索')")
    reader.wait_for_url(re.compile(r"/search/\?.*q=%E4%B8%8D%E4%B8%8A%E7%BA%BF"))
    assert "kind=institution" in reader.url
    hit = reader.locator(".hit", has_text="赣州宏达机动车检测有限公司")
    expect(hit).to_be_visible()
    expect(hit.locator("mark").first).to_be_visible()
    kinds = reader.locator("aside.facets ul").first                  # facet counts beside the hits, as links
    expect(kinds.locator("li.on")).to_contain_text("检验检测机构")
    expect(hit.locator(".meta .code")).to_be_visible()                # the hit named by its 档号
    screenshot(reader, "04-检索结果")

    hit.locator("h3 a").click()
    reader.wait_for_url("**/cases/GZ-RZ-2025-004/")
    expect(reader.locator("h1")).to_contain_text("赣市监检约〔2025〕12号")
    expect(reader.locator("dd.archival-code")).to_contain_text("2025")
    reader.click("button:has-text('核验')")
    expect(reader.locator(".verify-report")).to_have_attribute("data-ok", "1", timeout=60_000)
    screenshot(reader, "05-案件页与核验")
    reader.click("text=查看案卷")
    reader.wait_for_url("**/viewer/**")
    reader.locator("ol.documents a", has_text="约谈记录").click()
    expect(reader.locator(".page-view img")).to_be_visible()
    image = reader.locator(".page-view img")
    expect(image).to_have_js_property("complete", True, timeout=30_000)
    assert image.evaluate("img => img.naturalWidth") > 100
    screenshot(reader, "06-案卷逐页查看")
    with reader.expect_download() as download:
        reader.click("text=下载案卷")
    assert download.value.suggested_filename.endswith(".pdf")
    assert not archivist.errors and not reader.errors, (archivist.errors, reader.errors)


def test_hold_destroy_with_approval_and_witnesses_export_and_audit(person, web_home):
    from tests.stored_cases import store_case

    store_case(web_home, "WALK-2016-009", date(2016, 6, 30), organizer="抚州市市场监督管理局", region_code="361000")
    store_case(web_home, "WALK-2016-010", date(2016, 8, 31), organizer="抚州市市场监督管理局", region_code="361000")

    archivist = person("arc")
    archivist.goto("/keeping/?case=WALK-2016-010")
    row = archivist.locator("tr[data-case='WALK-2016-010']")
    row.locator("input[name=reason]").fill("行政复议期间保全")
    row.locator("button", has_text="冻结").click()
    expect(archivist.locator("tr[data-case='WALK-2016-010']")).to_contain_text("冻结中")
    archivist.goto("/keeping/")
    archivist.once("dialog", lambda dialog: dialog.accept())
    archivist.click("button:has-text('编制销毁清册')")
    archivist.wait_for_url(re.compile(r"/keeping/plans/[^/]+/$"), timeout=120_000)
    plan_url = archivist.url
    expect(archivist.locator("body")).to_contain_text("WALK-2016-009")
    assert "WALK-2016-010" not in archivist.locator("body").inner_text()        # held: not on the list
    assert archivist.locator("form.review").count() == 0

    approver = person("app")
    approver.goto(plan_url)
    approver.fill("form.review input[name=reason]", "经鉴定，已过保管期限，同意销毁")
    approver.click("form.review button[value=approve]")
    expect(approver.locator(".plan-state")).to_have_text("已批准，待监销")
    assert approver.locator("form.witness").count() == 0                          # the approver never witnesses
    screenshot(approver, "07-销毁清册已批准")

    for witness in ("arc2", "app2"):
        page = person(witness)
        page.goto(plan_url)
        page.click("form.witness button")
        expect(page.locator(".messages")).to_contain_text("已确认监销")
    archivist.goto(plan_url)
    archivist.once("dialog", lambda dialog: dialog.accept())
    archivist.click("form.execute button")
    expect(archivist.locator(".plan-state")).to_have_text("已执行")
    expect(archivist.locator(".messages")).to_contain_text("已执行")
    screenshot(archivist, "08-销毁已执行")
    archivist.goto("/cases/WALK-2016-009/")
    expect(archivist.locator("h1")).to_contain_text("已销毁")

    archivist.goto("/exports/")
    archivist.select_option("select[name=kind]", "institution")
    archivist.select_option("select[name=grantee]", "ins")
    archivist.fill("input[name=until]", (date.today() + timedelta(days=14)).isoformat())
    archivist.click("button:has-text('准备导出')")
    expect(archivist.locator(".messages")).to_contain_text("待审批人审批")
    export_id = archivist.locator("table.exports tbody tr").first.get_attribute("data-export")
    approver.goto("/exports/")
    row = approver.locator(f"tr[data-export='{export_id}']")
    row.locator("input[name=reason]").fill("同意提供检查组")
    row.locator("button[value=approve]").click()
    expect(approver.locator(f"tr[data-export='{export_id}']")).to_contain_text("已批准")

    inspector = person("ins")
    assert inspector.locator("header nav a").all_inner_texts() == ["我的导出"]
    inspector.click("text=我的导出")
    screenshot(inspector, "09-检查人员的导出")
    with inspector.expect_download() as download:
        inspector.locator("tr", has_text=export_id).get_by_role("link", name="下载").click()
    path = download.value.path()
    assert zipfile.is_zipfile(path) and any(n.endswith("bagit.txt") for n in zipfile.ZipFile(path).namelist())

    auditor = person("aud")
    auditor.click("header nav >> text=审计")
    expect(auditor.locator(".chain")).to_contain_text("完整")
    auditor.select_option("select[name=action]", "plan_witness")
    auditor.click("button:has-text('筛选')")
    expect(auditor.locator("table tbody")).to_contain_text("arc2")
    expect(auditor.locator("table tbody")).to_contain_text("app2")
    auditor.goto("/audit/")
    screenshot(auditor, "10-审计台账")
    auditor.click("text=访问日志")
    expect(auditor.locator("table tbody")).to_contain_text("下载导出包")
    for page in (archivist, approver, inspector, auditor):
        assert not page.errors, page.errors


def test_the_case_named_by_its_code_and_the_years_catalogue_downloaded(person, web_home):
    from openpyxl import load_workbook

    from tests.stored_cases import store_case

    code = store_case(web_home, "WALK-2023-011", date(2023, 8, 31), organizer="萍乡市市场监督管理局",
                      region_code="360300").archival_code
    archivist = person("arc")
    archivist.goto("/cases/WALK-2023-011/")
    expect(archivist.locator("dd.archival-code")).to_have_text(code)
    screenshot(archivist, "12-案件页的档号")
    archivist.click("header nav >> text=整理与移交")
    archivist.locator(".years a", has_text="2023年度").click()
    archivist.wait_for_url("**/arrangement/?year=2023")
    row = archivist.locator("table.catalogue tr[data-case='WALK-2023-011']")
    expect(row.locator("td.code")).to_have_text(code)
    expect(archivist.locator("form.handover button")).to_be_visible()
    screenshot(archivist, "13-年度案卷目录")
    with archivist.expect_download() as download:
        archivist.click("text=下载目录（XLSX）")
    name = download.value.suggested_filename          # 案卷目录 or 归档文件目录, as [arrangement] unit says
    assert name.startswith("2023年度约谈档案") and name.endswith("目录.xlsx"), name
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    assert code in [row[1] for row in sheet.iter_rows(values_only=True)]
    approver = person("app")
    approver.click("header nav >> text=整理与移交")
    assert approver.locator("form.handover").count() == 0              # the approver reads, never hands over
    assert not archivist.errors and not approver.errors, (archivist.errors, approver.errors)


def test_statistics_are_drawn(person):
    reader = person("rea")
    reader.click("header nav >> text=统计")
    expect(reader.locator("[data-chart] canvas").first).to_be_visible()
    assert reader.locator("[data-chart-ready]").count() == 8
    screenshot(reader, "11-统计")
    assert not reader.errors, reader.errors
