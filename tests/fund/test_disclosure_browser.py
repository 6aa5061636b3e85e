"""An anonymous visitor finds the yearly disclosure from the home page and reads a published year."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from oip.core import clock


@pytest.fixture
def published_year(database):
    from oip.auth.models import User
    from oip.auth.service import principal_for
    from oip.core.db import session_scope
    from oip.fund import disclosure
    from oip.fund.models import Disclosure

    year = clock.today().year - 1  # the year tests/fund/test_disclosure.py publishes too
    with session_scope() as s:
        if s.scalar(select(Disclosure).where(Disclosure.year == year)) is None:
            actor = principal_for(s, s.scalar(select(User).where(User.username == "gx_si")), via="cli")
            disclosure.publish(s, actor, year)
    return year


def test_an_anonymous_visitor_reads_the_published_year(page, published_year):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto("/")
    page.click("main >> text=年度信息公开")
    page.wait_for_url("**/public/fund")
    page.click(f"text={published_year} 年度职业伤害保障信息公开")
    page.wait_for_url(f"**/public/fund/{published_year}")
    assert page.locator("h1").inner_text() == f"{published_year} 年度新就业形态人员职业伤害保障信息公开"
    rows = page.locator("[data-testid=disclosure-cities] tbody tr")
    assert rows.count() >= 15  # 14 cities and the total
    assert "全区合计" in rows.last.inner_text()
    assert "数据来源" in page.locator("[data-testid=disclosure-notes]").inner_text()
    assert page.locator("[data-testid=who]").count() == 0  # nobody signed in
    assert errors == []
    # An unpublished year: a 404 in the layout, in Chinese (the browser logs the 404 itself).
    page.goto("/public/fund/2099")
    assert "尚未公开" in page.locator("main").inner_text()
    assert page.locator("header.top a[href='/public/fund']").count() == 1
