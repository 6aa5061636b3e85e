"""The cash-plan pages: 桂林's officer drafts a plan from the list, edits amounts in yuan, submits;
the region approves with a cut and a note; finance allocates with a date; the execution page shows
it and its Excel export opens. A city officer sees only its own city."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest

from oip.core import clock
from oip.fund import cashplan_rules as R
from tests.fund._cashplan_support import fund_fiscal, plan_year


@pytest.fixture(autouse=True)
def _database(database):
    """The page tests run against the test database."""


def _requested(client, url: str, item: str) -> str:
    page = client.get(url).text
    return re.search(rf'name="requested_{item}"[^>]*value="([^"]*)"', page).group(1)


def test_cash_plan_pages_flow(client, as_user):
    from oip.fund.cashplan_pages import fen_of

    year = plan_year()
    quarter = 1 + (R.quarter_of(clock.today())[1] + 1) % 4  # not the API test's quarters
    csrf = as_user("gl_si")["X-CSRF-Token"]
    page = client.get("/fund/cash-plans")
    assert page.status_code == 200 and "编制本季度用款计划" in page.text and "用款计划" in page.text
    assert 'name="city_code"' not in page.text  # a city officer drafts for its own city only
    r = client.post("/fund/cash-plans", data={"csrf_token": csrf, "quarter": "x"}, follow_redirects=False)
    assert r.status_code == 400 and "请选择季度" in r.text
    r = client.post(
        "/fund/cash-plans", data={"csrf_token": csrf, "quarter": f"{year}-{quarter}"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    url = r.headers["location"].split("?")[0]
    page = client.get(url)
    assert "桂林市" in page.text and "测算依据" in page.text and "报送自治区社保中心" in page.text
    assert "医疗费、康复费" in page.text and "近两季度" in page.text  # the medical line's floor is stated

    # Yuan typed with a comma and two decimals is exact fen; three decimals are refused.
    bad = client.post(
        url + "/requested", data={"csrf_token": csrf, "requested_medical": "12.345"}, follow_redirects=False
    )
    assert bad.status_code == 400 and "最多两位小数" in bad.text
    r = client.post(
        url + "/requested",
        data={"csrf_token": csrf, "requested_medical": "1,234,567.89", "requested_funeral": "1000"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _requested(client, url, "medical") == "1234567.89" and _requested(client, url, "funeral") == "1000.00"
    assert client.post(url + "/submission", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    page = client.get(url).text
    assert "已报送，待审核" in page and "报送自治区社保中心" not in page and "审核通过" not in page

    # The region: a cut without a note is refused, with a note approved.
    client.cookies.clear()
    csrf = as_user("gx_si")["X-CSRF-Token"]
    page = client.get(url).text
    total = re.search(r'name="approved"[^>]*value="([^"]*)"', page).group(1)
    cut_fen = fen_of(total, "approved", "核定金额") - 100_000
    cut = f"{Decimal(cut_fen) / 100:.2f}"
    r = client.post(url + "/approval", data={"csrf_token": csrf, "approved": cut}, follow_redirects=False)
    assert r.status_code == 400 and "审核意见" in r.text
    r = client.post(
        url + "/approval", data={"csrf_token": csrf, "approved": cut, "note": "核减丧葬补助金"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert "已审核，待拨付" in client.get(url).text

    # Finance allocates from the fiscal special account on a date.
    fund_fiscal(cut_fen)
    client.cookies.clear()
    csrf = as_user("gx_finance")["X-CSRF-Token"]
    page = client.get(url).text
    assert 'type="date"' in page and "登记拨付" in page
    r = client.post(url + "/allocation", data={"csrf_token": csrf, "amount": cut, "on": ""}, follow_redirects=False)
    assert r.status_code == 400 and "拨付日期" in r.text
    today = clock.today().isoformat()
    r = client.post(url + "/allocation", data={"csrf_token": csrf, "amount": cut, "on": today}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(url).text
    assert "已拨付" in page and today in page and "核减丧葬补助金" in page  # the history keeps the note
    assert "拨付用款计划资金" in page and "审核通过用款计划" in page  # acts named, not coded
    for code in ("allocated", "approved", "submitted", "disability_once", "fund.cashplan"):
        assert f">{code}" not in page

    ex = client.get(f"/fund/cash-plans/execution?year={year}&quarter={quarter}")
    assert ex.status_code == 200 and "桂林市" in ex.text and "<svg" in ex.text and "style=" not in ex.text
    x = client.get(f"/fund/cash-plans/execution.xlsx?year={year}&quarter={quarter}")
    assert x.status_code == 200 and x.headers["content-type"].startswith("application/vnd.openxmlformats")
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(x.content))
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    gl = next(r for r in rows if r and r[0] == "桂林市")
    assert f"{Decimal(str(gl[5])):.2f}" == cut and gl[6] == 0  # allocated, nothing used yet
    assert len(wb.worksheets) == 2

    # 南宁 cannot see 桂林's plan, nor does its list or execution show 桂林.
    client.cookies.clear()
    as_user("nn_si")
    assert client.get(url).status_code == 404
    assert "桂林市" not in client.get(f"/fund/cash-plans?year={year}").text
    assert "桂林市" not in client.get(f"/fund/cash-plans/execution?year={year}").text


@pytest.mark.browser
@pytest.mark.slow
def test_plan_page_in_a_browser(page):
    """桂林 edits a requested amount and submits in Chromium; the page raises no CSP complaint."""
    from oip.core.db import session_scope
    from oip.fund import cashplans
    from tests.fund._cashplan_support import principal
    from tests.web.conftest import login

    quarter = 1 + (R.quarter_of(clock.today())[1] + 2) % 4  # the one quarter the other tests leave
    with session_scope() as s:
        pid = cashplans.prefill(s, principal(s, "gl_si"), "450300", plan_year(), quarter).id
    complaints: list[str] = []
    page.on("console", lambda m: complaints.append(m.text) if "Content Security Policy" in m.text else None)
    login(page, "gl_si")
    page.goto("/fund/cash-plans")
    page.get_by_role("link", name="用款计划").first.click()
    page.goto(f"/fund/cash-plans/{pid}")
    page.get_by_label("生活护理费申请金额（元）").fill("8,800.50")
    page.get_by_role("button", name="保存申请金额").click()
    assert "申请金额已保存" in page.get_by_role("status").inner_text()
    assert page.get_by_label("生活护理费申请金额（元）").input_value() == "8800.50"
    page.get_by_test_id("submit").get_by_role("button").click()
    assert "已报送自治区社保中心审核" in page.get_by_role("status").inner_text()
    assert complaints == []
    with session_scope() as s:
        lines = {x.item: x.requested_fen for x in cashplans.lines_of(s, cashplans.get(s, principal(s, "gl_si"), pid))}
        assert lines["nursing"] == 880_050
