"""One walk in the browser from a determination to a paid line, as the officer (maker), the checker
(approver) and the worker (issue 12, "Done when"):

the officer drafts and submits the determination of a confirmed, appraised case; the checker approves
it; the officer registers the worker's bank card and makes a payment batch; the checker approves the
batch; the officer sends it to the bank (the file adapter: ``<bank dir>/outbox``); the bank's signed
result file — made here as docs/interfaces/bank-v1.md describes, with the configured key — is imported
on the payments page; the worker signs in and sees the line paid on 我的待遇.

The case is in 马山县 (450124) and the batch is made for that county only, so the batch holds this
walk's payables and nothing of other tests."""

from __future__ import annotations

import json
import re

import pytest

from oip.cases.models import Case
from oip.core import clock
from oip.core.config import get_settings
from oip.core.db import session_scope
from oip.payments import bank
from tests.benefits._det_support import determinable_case
from tests.benefits.portal_rows import fresh_worker
from tests.web.conftest import login

COUNTY = "450124"  # 马山县, Nanning: in the city officers' scope, used by no other test
CARD = "6222020200112345679"  # Luhn-valid
# A browser walk (about 16 s of clicks here, near the 20 s of a fast test on a slower machine).
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _signed_in(browser, live_server, username: str):
    ctx = browser.new_context(base_url=live_server, locale="zh-CN")
    pg = ctx.new_page()
    pg.set_default_timeout(15000)
    login(pg, username)
    return ctx, pg


def _submit(pg, form_selector: str, button: str) -> None:
    with pg.expect_navigation():
        pg.locator(form_selector).get_by_role("button", name=button).click()


def test_from_an_approved_determination_to_a_paid_line(browser, live_server, tmp_path):
    with session_scope() as s:
        worker, _, _ = fresh_worker(s)
    cid = determinable_case(grade=9, county=COUNTY, person_of=worker)
    with session_scope() as s:
        case_number = s.get(Case, cid).number
    contexts = []
    try:
        # The officer (maker) drafts the determination from the appraisal and submits it.
        ctx, officer = _signed_in(browser, live_server, "nn_si")
        contexts.append(ctx)
        officer.goto(f"/cases/{cid}#determination")
        _submit(officer, '[data-testid="determination-open"]', "计算并生成核定")
        panel = officer.locator('[data-testid="determination"]')
        assert "待遇核定 第 1 版" in panel.inner_text() and "一次性伤残补助金" in panel.inner_text()
        _submit(officer, '[data-testid="determination"] form[action$="/submit"]', "提交审批")
        assert "经办与复核须由不同人员" in officer.locator('[data-testid="approval-refusal"]').inner_text()

        # The checker approves it.
        ctx, checker = _signed_in(browser, live_server, "nn_si_check")
        contexts.append(ctx)
        checker.goto(f"/cases/{cid}#determination")
        _submit(checker, '[data-testid="approve-form"]', "审批通过")
        text = checker.locator('[data-testid="determination"]').inner_text()
        assert "审批通过" in text and "下载待遇核定通知书" in text
        amount = re.search(r"一次性待遇 ([\d,]+\.\d\d) 元", text).group(1)

        # The officer registers the worker's card and makes a batch of the county's payables.
        officer.goto(f"/cases/{cid}#payments")
        form = officer.locator('[data-testid="register-payee"]')
        form.locator("#pr-h").fill("测试户名")
        form.locator("#pr-b").fill("中国工商银行南宁分行")
        form.locator("#pr-c").fill(CARD)
        _submit(officer, '[data-testid="register-payee"]', "登记")
        assert "6222 **** **** 5679" in officer.locator('[data-testid="payee-accounts"]').inner_text()
        assert CARD not in officer.content()
        officer.goto("/payments")
        officer.locator("#mb-region").select_option(COUNTY)
        _submit(officer, '[data-testid="make-batch"]', "生成批次")
        batch_id = re.search(r"/payments/batches/(\d+)", officer.url).group(1)
        lines = officer.locator('[data-testid="lines"]').inner_text()
        assert amount in lines and "6222 **** **** 5679" in lines
        assert officer.locator('[data-testid="approve"]').count() == 0  # not the maker's to approve

        # The checker approves the batch; the officer sends it to the bank (the file adapter).
        checker.goto(f"/payments/batches/{batch_id}")
        _submit(checker, '[data-testid="approve"]', "复核通过")
        officer.goto(f"/payments/batches/{batch_id}")
        _submit(officer, '[data-testid="send"]', "报送银行")
        assert "已报送银行" in officer.locator('[data-testid="batch"]').inner_text()
        number = re.search(r"支付批次 (\S+)", officer.locator("h1").inner_text()).group(1)
        sent = get_settings().bank_path / "outbox" / f"{number}.json"
        body = sent.read_bytes()
        assert bank.verify(body, (sent.parent / f"{number}.json.sig").read_text())
        doc = bank.read_batch_file(body)
        ours = [x for x in doc["lines"] if x["case_number"] == case_number]
        assert ours and {x["card_number"] for x in ours} == {CARD}

        # The bank pays every line and returns its signed result file; the officer imports it.
        paid_on = clock.today().isoformat()
        result = {
            "header": {
                "version": "bank-v1",
                "kind": "result",
                "batch_number": number,
                "sender": "bank",
                "created_at": clock.now().isoformat(timespec="seconds"),
                "count": len(doc["lines"]),
            },
            "lines": [
                {
                    "idempotency_key": x["idempotency_key"],
                    "status": "paid",
                    "bank_ref": f"ICBC{i:06d}",
                    "paid_on": paid_on,
                }
                for i, x in enumerate(doc["lines"], 1)
            ],
        }
        res = tmp_path / f"{number}-result.json"
        res.write_bytes(json.dumps(result, ensure_ascii=False, indent=1).encode("utf-8"))
        sig = tmp_path / f"{number}-result.json.sig"
        sig.write_text(bank.sign(res.read_bytes()) + "\n")
        officer.goto("/payments")
        officer.set_input_files("#ir-file", str(res))
        officer.set_input_files("#ir-sig", str(sig))
        _submit(officer, '[data-testid="import-result"]', "验签并导入")
        officer.goto(f"/payments/batches/{batch_id}")
        assert "已回盘结清" in officer.locator('[data-testid="batch"]').inner_text()
        assert "已支付" in officer.locator('[data-testid="lines"]').inner_text()

        # The worker sees the paid line, its date and the masked card, and the letter to download.
        ctx, me = _signed_in(browser, live_server, worker)
        contexts.append(ctx)
        me.goto("/me/benefits")
        assert me.get_by_role("link", name="我的待遇").count() >= 1
        paid = me.locator('[data-testid="payments"] tr[data-status="paid"]')
        assert paid.count() == len(ours)
        row = paid.first.inner_text()
        assert "已支付" in row and paid_on in row and "6222 **** **** 5679" in row and "一次性伤残补助金" in row
        assert amount in me.locator('[data-testid="paid-total"]').inner_text()
        assert CARD not in me.content()
        assert me.locator('[data-testid="letter"]').count() == 1
    finally:
        for ctx in contexts:
            ctx.close()
