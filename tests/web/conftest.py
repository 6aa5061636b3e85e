"""Helpers of the browser tests (the live server, the browser and its page are fixtures of
tests/conftest.py, shared with tests/cases: one Playwright instance per run)."""


def login(page, username: str) -> None:
    from oip.demo.generate import DEMO_PASSWORD

    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
