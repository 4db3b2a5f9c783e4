"""Walks as real people, in Debian's chromium driven by Playwright against `yuetan serve` (gunicorn): each step
is what a person does with a mouse and keyboard, and each walk saves screenshots (test-output/screenshots/)."""
from __future__ import annotations

from pipeline.web.conftest import screenshot


def test_log_in_see_only_ones_own_pages_and_log_out(person):
    page = person("rea")
    assert page.locator("header .roles").inner_text() == "查阅人员"
    menu = page.locator("header nav a").all_inner_texts()
    assert "审计" not in menu and "入库" not in menu and "账户管理" not in menu
    screenshot(page, "01-首页-查阅人员")
    page.click("text=退出")
    page.wait_for_url("**/login/")
    assert page.locator("input[name=username]").is_visible()
    assert not page.errors, page.errors
