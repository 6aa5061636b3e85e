"""支付管理 in a real headless Chromium: the maker registers a payee on the case page and makes a
batch, the checker approves it, sends it to the (file) bank and uploads the bank's signed result
file — masked card numbers only, on every page."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import select

from oip.core import clock
from oip.payments import bank
from tests.payments.conftest import VALID_CARD, owed_case, statuses
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


def test_pay_a_case_through_the_pages(browser, live_server, tmp_path):
    ids = owed_case((56_700,), county="450124", account=False)
    with signed_in(browser, live_server, "nn_si") as page:
        page.goto(f"/cases/{ids['case_id']}#payments")
        form = page.get_by_test_id("register-payee")
        form.get_by_label("户名").fill("测试人")
        form.get_by_label("开户银行").fill("中国工商银行南宁分行")
        form.get_by_label("银行卡号").fill(VALID_CARD[:-1] + "0")
        form.get_by_role("button", name="登记").click()
        assert "校验位" in page.get_by_role("alert").inner_text()
        form = page.get_by_test_id("register-payee")
        form.get_by_label("户名").fill("测试人")
        form.get_by_label("开户银行").fill("中国工商银行南宁分行")
        form.get_by_label("银行卡号").fill(VALID_CARD)
        form.get_by_role("button", name="登记").click()
        accounts = page.get_by_test_id("payee-accounts").inner_text()
        assert "6222 **** **** 5679" in accounts and VALID_CARD not in page.content()

        page.goto("/payments")
        mb = page.get_by_test_id("make-batch")
        mb.get_by_label("支付地区").select_option("450124")  # 马山县, by name in the list
        mb.get_by_role("button", name="生成批次").click()
        assert "支付批次已生成" in page.get_by_role("status").inner_text()
        assert "6222 **** **** 5679" in page.get_by_test_id("lines").inner_text()
        batch_url = page.url.split("?")[0]
        assert page.get_by_test_id("approve").count() == 0  # not the maker's to approve

    with signed_in(browser, live_server, "nn_si_check") as page:
        page.goto(batch_url)
        page.get_by_test_id("approve").get_by_role("button", name="复核通过").click()
        assert "复核通过" in page.get_by_role("status").inner_text()
        page.get_by_test_id("send").get_by_role("button").click()
        assert "已报送银行" in page.get_by_role("status").inner_text()

        # The bank answers: a signed result file for every line of the batch it received.
        from oip.core.config import get_settings
        from oip.core.db import session_scope
        from oip.payments.models import PaymentBatch

        with session_scope() as s:
            number = s.scalar(select(PaymentBatch.number).where(PaymentBatch.id == int(batch_url.rsplit("/", 1)[1])))
        sent = bank.read_batch_file((get_settings().bank_path / "outbox" / f"{number}.json").read_bytes())
        rows = [
            {"idempotency_key": x["idempotency_key"], "status": "paid", "paid_on": clock.today().isoformat()}
            for x in sent["lines"]
        ]
        body, sig = bank.result_file(number, rows)
        (tmp_path / "r.json").write_bytes(body)
        (tmp_path / "r.json.sig").write_text(sig)
        page.goto("/payments")
        ir = page.get_by_test_id("import-result")
        ir.get_by_label("回盘文件（.json）").set_input_files(str(tmp_path / "r.json"))
        ir.get_by_label("签名文件（.sig）").set_input_files(str(tmp_path / "r.json.sig"))
        ir.get_by_role("button", name="验签并导入").click()
        assert "回盘已导入" in page.get_by_test_id("import-outcome").inner_text()
        page.goto(f"/cases/{ids['case_id']}#payments")
        assert "已支付" in page.get_by_test_id("payment-lines").inner_text()
    assert statuses(ids["payables"]) == ["paid"]
