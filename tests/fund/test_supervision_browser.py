"""基金监督 in a real headless Chromium: gx_si opens a cross-check of 南宁、柳州、桂林 (cities ticked
by name), nn_si (南宁 checks 桂林 by the rotation) reports a finding on its task, gl_si rectifies it
and gx_si closes it (销号)."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools

import pytest

from oip.core import clock
from tests.web.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.slow]
_seq = itertools.count()


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


def test_cross_check_through_the_pages(browser, live_server):
    title = f"浏览器交叉互查 {clock.now():%H%M%S}{next(_seq)}"
    with signed_in(browser, live_server, "gx_si") as page:
        page.goto("/fund/supervision")
        page.get_by_role("link", name="基金监督").first.wait_for()
        form = page.get_by_test_id("new-campaign")
        form.get_by_label("检查类型").select_option(label="交叉互查")
        form.get_by_label("检查名称").fill(title)
        form.get_by_label("完成期限").fill((clock.today() + dt.timedelta(days=30)).isoformat())
        for name in ("南宁市", "柳州市", "桂林市"):
            form.get_by_label(name, exact=True).check()
        form.get_by_role("button", name="发起检查").click()
        assert "监督检查已发起" in page.get_by_role("status").inner_text()
        tasks = page.get_by_test_id("tasks").inner_text()
        assert "南宁市" in tasks and "柳州市" in tasks and "桂林市" in tasks and "待检查" in tasks
        campaign_url = page.url
    with signed_in(browser, live_server, "nn_si") as page:
        page.goto(campaign_url)
        tasks = page.get_by_test_id("tasks")
        # 南宁 sees the task it is checked in (by 柳州) and the one it checks (桂林), not 柳州's.
        assert "柳州市" in tasks.inner_text()
        page.get_by_role("link", name="桂林市").click()
        assert "检查单位" in page.get_by_test_id("task").inner_text()
        form = page.get_by_test_id("report-task")
        form.get_by_label("检查情况").fill("抽查桂林市 2 个月的待遇支付")
        form.get_by_label("第 1 个问题", exact=True).fill("一笔护理费未经复核即支付")
        form.get_by_label("第 1 个问题的严重程度").select_option(label="较重")
        form.get_by_label("第 1 个问题的涉及金额").fill("860.00")
        form.get_by_role("button", name="报告").click()
        assert "检查情况已报告" in page.get_by_role("status").inner_text()
        findings = page.get_by_test_id("findings").inner_text()
        assert "一笔护理费未经复核即支付" in findings and "860.00" in findings and "待整改" in findings
        task_url = page.url.split("?")[0]
        # The checker city does not rectify what it found.
        assert page.get_by_role("button", name="报送整改").count() == 0
    with signed_in(browser, live_server, "gl_si") as page:
        page.goto(task_url)
        page.get_by_label("整改情况").fill("已补办复核手续")
        page.get_by_role("button", name="报送整改").click()
        assert "整改情况已报送" in page.get_by_role("status").inner_text()
    with signed_in(browser, live_server, "gx_si") as page:
        page.goto(task_url)
        page.get_by_role("button", name="销号").click()
        assert "问题已销号" in page.get_by_role("status").inner_text()
        assert "已销号" in page.get_by_test_id("task").inner_text()
        page.goto("/fund/supervision")
        row = page.get_by_test_id("campaigns").get_by_role("row").filter(has_text=title)
        assert "1/3" in row.inner_text()
