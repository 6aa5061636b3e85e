"""The ledger in a real headless Chromium: nn_si makes a manual entry through the form (names, not
codes, in the pickers), nn_si_check approves it and its number shows."""

from __future__ import annotations

import contextlib
import re

import pytest

from oip.core import clock
from oip.core.db import session_scope
from oip.fund.models import Entry
from tests.web.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@contextlib.contextmanager
def signed_in(browser, live_server, username: str):
    ctx = browser.new_context(base_url=live_server, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(15000)
    try:
        login(page, username)
        yield page
    finally:
        ctx.close()


def test_a_manual_entry_made_and_checked_in_the_browser(browser, live_server):
    with signed_in(browser, live_server, "nn_si") as page:
        page.goto("/fund")
        page.get_by_role("link", name="编制凭证").click()
        form = page.get_by_test_id("entry-form")
        assert form.get_by_label("凭证日期").input_value() == clock.today().isoformat()
        form.get_by_label("摘要").fill("浏览器测试：其他支出调整")
        rows = form.get_by_test_id("entry-rows")
        rows.locator("#ef-subject-1").select_option(label="职业伤害保障其他支出（5009）")
        rows.locator("#ef-city-1").select_option(label="南宁市")
        rows.locator("#ef-debit-1").fill("88.80")
        rows.locator("#ef-subject-2").select_option(label="支出户存款（职业伤害保障）（1002）")
        rows.locator("#ef-credit-2").fill("88.8")
        form.get_by_role("button", name="提交复核").click()
        page.wait_for_url(re.compile(r"/fund/entries/\d+\?done=submitted"))
        assert page.get_by_test_id("entry-status").inner_text() == "待复核"
        entry_id = int(re.search(r"/fund/entries/(\d+)", page.url).group(1))
        assert page.get_by_test_id("approve").count() == 0
    with signed_in(browser, live_server, "nn_si_check") as page:
        page.goto("/fund")
        page.get_by_test_id("awaiting").get_by_role("link", name=f"手工凭证 #{entry_id}").click()
        page.get_by_test_id("approve").get_by_role("button", name="复核通过并记账").click()
        page.wait_for_url(re.compile(rf"/fund/entries/{entry_id}\?done=approved"))
        with session_scope() as s:
            e = s.get(Entry, entry_id)
            assert (e.status, e.total_fen) == ("posted", 8_880)
            number = e.number
        assert page.get_by_test_id("entry-number").inner_text() == number
        assert page.get_by_test_id("entry-status").inner_text() == "已记账"
        assert "88.80" in page.get_by_test_id("entry-lines").inner_text()
