"""The coverage page in a browser: the moment is picked in Beijing time with the browser's own
date-time picker, the person given by ID number; the answer names the platform and the place."""

from __future__ import annotations

import os

import pytest

from tests.orders.conftest import import_rows, order, register_workers
from tests.web.conftest import login
from tests.workers.conftest import new_id, new_name

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def worker(database, tmp_path_factory):
    number = new_id()
    ((a, _),) = register_workers("meituan", 1, id_numbers=[number], names=[new_name()])
    import_rows(tmp_path_factory.mktemp("cb"), [order(a, day="2025-10-27", start="09:00", minutes=30)])
    return number, a


def test_coverage_by_id_number_with_the_picker(page, worker):
    number, account = worker
    login(page, "nn_si")
    page.goto("/coverage")
    assert page.get_attribute("#at", "type") == "datetime-local"
    page.fill("#at", "2025-10-27T09:15:00")  # what the picker yields: Beijing wall time, no offset
    page.fill("#id_number", number)
    with page.expect_navigation():
        page.click("form.card button[type=submit]")
    assert "/coverage" in page.url and number not in page.url  # posted, never in the URL
    result = page.locator("[data-testid=coverage-result]").inner_text()
    assert result.startswith("在保：") and "在保：在保" not in result
    table = page.locator("[data-testid=coverage-orders]").inner_text()
    assert "美团" in table and "南宁市青秀区" in table and account in table and "已完成" in table
    assert page.input_value("#at") in ("2025-10-27T09:15", "2025-10-27T09:15:00")  # the browser drops :00
    if os.environ.get("OIP_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["OIP_SCREENSHOTS"], "coverage.png"), full_page=True)
