"""Pages in a real headless Chromium, signed in as different roles."""

import pytest

from tests.web.conftest import login

pytestmark = pytest.mark.browser


def test_regional_officer_signs_in_and_checks_the_audit_trail(page):
    login(page, "gx_hrss")
    assert page.url.endswith("/console")
    assert "自治区人力资源社会保障厅" in page.text_content("[data-testid=who]")
    nav = page.text_content("nav.side")
    for item in ("平台企业名录", "试点纳入申请", "从业人员", "审计日志"):
        assert item in nav
    page.click("nav.side >> text=审计日志")
    page.click("text=校验哈希链")
    assert "哈希链完整" in page.text_content("[role=status]")


def test_worker_sees_their_registrations_and_who_viewed_them(page):
    login(page, "worker_demo")
    assert page.url.endswith("/me")
    assert "参保登记" in page.text_content("main")
    assert page.locator("[data-testid=access-log] tbody tr").count() >= 1


def test_wrong_password_shows_a_clear_message(page):
    page.goto("/login")
    page.fill("#username", "gx_si")
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.text_content("[role=alert]")
