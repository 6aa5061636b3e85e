"""The worker's own view of their benefits (我的待遇, /me/benefits): determinations with their lines,
amounts and formulas and the letter to download; monthly benefits with their rate, state and next
eligibility confirmation, confirmed in the portal inside the window; the payments with their dates,
amounts, states and masked cards, paged — and nobody else's.

Rows are made directly (tests/benefits/portal_rows.py) for a worker user of a person nobody else's
tests touch, with dates relative to the test clock's today."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from oip.benefits.models import EligibilityConfirmation, MonthlyBenefit
from oip.core import clock
from oip.core.db import session_scope
from tests.benefits.portal_rows import (
    account,
    case_on,
    decide,
    determination,
    fresh_worker,
    letter,
    monthly_benefit,
    payable,
    payment_line,
)
from tests.conftest import sign_in


def _month(d: dt.date, back: int) -> dt.date:
    i = d.year * 12 + d.month - 1 - back
    return dt.date(i // 12, i % 12 + 1, 1)


@pytest.fixture
def worker_with_benefits():
    """A worker with one confirmed case: an approved determination (a once line and a monthly line,
    its letter), a draft version that must not show, a monthly allowance due for confirmation in 30
    days, a dependant's pension, and payables in every state shown (and a cancelled one)."""
    today = clock.today()
    with session_scope() as s:
        username, person_id, acc = fresh_worker(s)
        case = case_on(s, acc, clock.now() - dt.timedelta(days=200))
        decide(s, case, on=today - dt.timedelta(days=150))
        lt = letter(s, case)
        start = _month(today, 23)
        _, (once, allowance) = determination(
            s,
            case,
            [
                {
                    "item": "disability_once",
                    "amount_fen": 1_234_567,
                    "formula": "七级伤残：13 个月 × 本人工资基数 9,496.67 元",
                },
                {
                    "item": "disability_monthly",
                    "amount_fen": 300_000,
                    "monthly": True,
                    "formula": "伤残津贴：75% × 4,000.00 元",
                    "starts_on": start,
                },
            ],
            letter_id=lt.id,
        )
        determination(s, case, [{"item": "medical", "amount_fen": 99, "formula": "草稿里的公式"}], status="draft")
        mb = monthly_benefit(
            s, case, allowance, amount_fen=300_000, starts_on=start, person_id=person_id,
            eligibility_due=today + dt.timedelta(days=30),
        )  # fmt: skip
        card = account(s, case, person_id=person_id, card_masked="6222 **** **** 5679")
        paid = payable(s, case, once, 1_234_567, status="paid", paid_on=today - dt.timedelta(days=20))
        payment_line(s, paid, card, status="paid", paid_on=paid.paid_on, bank_ref="B1")
        for n in range(22):  # 22 months of the allowance, the latest one at the bank
            period = _month(today, n + 1)
            st = "batched" if n == 0 else "paid"
            p = payable(
                s, case, allowance, 300_000, status=st, kind="monthly", period=period, monthly_id=mb.id,
                due_on=period.replace(day=15) + dt.timedelta(days=31), paid_on=None if st == "batched" else period.replace(day=20),
            )  # fmt: skip
            payment_line(s, p, card, status="sent" if st == "batched" else "paid", paid_on=p.paid_on)
        payable(
            s, case, allowance, 300_000, status="due", kind="arrears", period=_month(today, 2), monthly_id=mb.id,
            due_on=today + dt.timedelta(days=40), failure_reason="户名与卡号不符",
        )  # fmt: skip
        payable(s, case, allowance, 300_000, status="held", kind="monthly", period=_month(today, 0), monthly_id=mb.id,
                due_on=today + dt.timedelta(days=50), failure_reason="暂停发放")  # fmt: skip
        payable(s, case, once, 777, status="cancelled", due_on=today + dt.timedelta(days=60))
        return {"username": username, "case": case.number, "case_id": case.id, "monthly_id": mb.id, "letter": lt.id}


def test_the_worker_sees_determinations_monthly_benefits_and_payments(client, worker_with_benefits):
    w = worker_with_benefits
    sign_in(client, w["username"])
    home = client.get("/me")
    assert 'href="/me/benefits"' in home.text and "我的待遇" in home.text  # the navigation
    r = client.get("/me/benefits")
    assert r.status_code == 200
    t = r.text
    assert f"案件 {w['case']}" in t
    # the approved determination: item names, amounts in yuan, formulas, the letter; not the draft
    assert "一次性伤残补助金" in t and "12,345.67" in t and "七级伤残：13 个月 × 本人工资基数 9,496.67 元" in t
    assert "伤残津贴" in t and "3,000.00" in t and "伤残津贴：75% × 4,000.00 元" in t
    assert "草稿里的公式" not in t
    pdf = f"/api/v1/cases/{w['case_id']}/letters/{w['letter']}/pdf"
    assert f'href="{pdf}"' in t
    got = client.get(pdf)
    assert got.status_code == 200 and got.content.startswith(b"%PDF")
    # the monthly benefit: rate, state, next confirmation (in 30 days: the button is there)
    monthly = re.search(r'<table data-testid="monthly">(.*?)</table>', t, re.S).group(1)
    due = (clock.today() + dt.timedelta(days=30)).isoformat()
    assert "正常发放" in monthly and "3,000.00" in monthly and due in monthly and "本人" in monthly
    assert f'action="/me/benefits/monthly/{w["monthly_id"]}/eligibility"' in monthly
    # the payments: 1 + 22 + 1 + 1 shown (the cancelled one is not), 20 a page, newest first
    pay = re.search(r'<table data-testid="payments">(.*?)</table>', t, re.S).group(1)
    assert "共 25 笔" in t and pay.count("<tr data-status=") == 20 and 'data-testid="payments-pager"' in t
    states = re.findall(r'<tr data-status="(\w+)">', pay)
    assert states[:2] == ["held", "due"] and "batched" in states and "cancelled" not in states
    assert "暂缓支付" in pay and "待支付" in pay and "支付中" in pay and "已支付" in pay and "已作废" not in pay
    assert "户名与卡号不符" in pay and "中国工商银行 6222 **** **** 5679" in pay
    assert "6222020200112345679" not in t
    assert "paid-total" in t and "75,345.67" in t  # 12,345.67 + 21 × 3,000.00 paid
    page2 = client.get("/me/benefits?pp=2").text
    pay2 = re.search(r'<table data-testid="payments">(.*?)</table>', page2, re.S).group(1)
    oldest = _month(clock.today(), 22).strftime("%Y-%m")
    assert pay2.count("<tr data-status=") == 5 and f"<td>{oldest}</td>" in pay2 and oldest not in pay


def test_eligibility_is_confirmed_in_the_portal_inside_its_window(client, worker_with_benefits):
    w = worker_with_benefits
    csrf = sign_in(client, w["username"])
    url = f"/me/benefits/monthly/{w['monthly_id']}/eligibility"
    r = client.post(url, data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/me/benefits?done=confirmed")
    with session_scope() as s:
        mb = s.get(MonthlyBenefit, w["monthly_id"])
        c = s.scalar(select(EligibilityConfirmation).where(EligibilityConfirmation.monthly_id == mb.id))
        assert (c.means, c.confirmed_on) == ("portal", clock.today())
        assert mb.eligibility_due > clock.today() + dt.timedelta(days=300)
    t = client.get(r.headers["location"]).text
    assert "资格认证已完成" in t and url not in t  # a year away now: outside the window
    r = client.post(url, data={"csrf_token": csrf}, follow_redirects=False, headers={"Accept": "application/json"})
    assert r.status_code == 400 and "日内办理" in r.text


def test_only_ones_own_benefits(client, worker_with_benefits):
    """Another worker sees none of them and cannot confirm them; staff are sent to their console."""
    w = worker_with_benefits
    with session_scope() as s:
        other, _, _ = fresh_worker(s)
    csrf = sign_in(client, other)
    t = client.get("/me/benefits").text
    assert w["case"] not in t and "您还没有职业伤害案件" in t
    r = client.post(
        f"/me/benefits/monthly/{w['monthly_id']}/eligibility",
        data={"csrf_token": csrf},
        follow_redirects=False,
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 404
    client.cookies.clear()
    sign_in(client, "nn_si")
    r = client.get("/me/benefits", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console"
