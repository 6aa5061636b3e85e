"""The Content-Security-Policy breaks no page: Chromium reports no CSP violation on pages with charts,
pagers, forms and on Swagger UI, and the styles that replaced inline style attributes still apply."""

import pytest

from tests.web.conftest import login

pytestmark = pytest.mark.browser


def _watch(page) -> list[str]:
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text or "Refused to" in m.text else None,
    )
    return violations


def test_no_csp_violation_on_officer_pages(page):
    violations = _watch(page)
    login(page, "gx_hrss")
    for path in ("/console", "/workers", "/orders", "/coverage", "/audit", "/platforms", "/admissions"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert violations == []


def test_no_csp_violation_on_the_workers_pages_and_the_bars_keep_their_size(page):
    violations = _watch(page)
    login(page, "worker_demo")
    for path in ("/me", "/me/orders"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert violations == []
    bars = page.locator(".bars span:not(.zero)")
    if bars.count():
        assert bars.first.bounding_box()["height"] > 1


def test_no_csp_violation_in_swagger_ui(page):
    violations = _watch(page)
    page.goto("/docs")
    page.wait_for_selector(".opblock", state="visible")
    page.locator(".opblock-summary").first.click()
    assert violations == []


def test_the_page_cannot_be_framed(page, live_server):
    """A page of another origin that frames the login page gets an empty frame."""
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "frame" in m.text.lower() else None)
    page.set_content(f'<iframe id="f" src="{live_server}/login"></iframe>')
    page.wait_for_timeout(1000)
    frame = page.frame_locator("#f")
    assert frame.locator("#username").count() == 0
