"""The ledger's pages and API: the overview, a manual entry made and checked through the forms, the
entry list, the trial balance and its Excel export, the trace from a payment batch, scope."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from oip.core import clock
from oip.core.db import session_scope
from oip.fund import posting, rules
from oip.fund.models import Entry
from tests.conftest import bearer

CITY = "450100"


@pytest.fixture(autouse=True)
def _database(database):
    """The fund tests run against the test database."""


def _form(csrf, rows, **extra):
    data = {"csrf_token": csrf, "entry_date": clock.today().isoformat(), "summary": "页面测试凭证", **extra}
    for n, (subject, city, debit, credit) in enumerate(rows, 1):
        data |= {f"subject_{n}": subject, f"city_{n}": city, f"debit_{n}": debit, f"credit_{n}": credit}
    for n in range(len(rows) + 1, 5):
        data |= {f"subject_{n}": "", f"city_{n}": CITY, f"debit_{n}": "", f"credit_{n}": ""}
    return data


def test_pages_answer_for_readers(client, as_user):
    as_user("gx_finance")
    for url in ("/fund", "/fund/entries", "/fund/periods", "/fund/trial-balance", "/fund/interest", "/fund/check"):
        r = client.get(url)
        assert r.status_code == 200, (url, r.text[:300])
    assert "基金账务" in client.get("/fund").text
    assert "立即入账" not in client.get("/fund").text  # finance reads; it does not post
    assert client.get("/fund/entries/new").status_code == 403
    r = client.get("/fund/entries?month=2025-13x")
    assert r.status_code == 400 and "YYYY-MM" in r.text


def test_a_manual_entry_through_the_forms(client, as_user):
    h = as_user("nn_si")
    csrf = h["X-CSRF-Token"]
    form = client.get("/fund/entries/new")
    assert form.status_code == 200 and 'type="date"' in form.text and "支出户存款" in form.text
    # Unbalanced: refused with the reason, the rows kept.
    r = client.post("/fund/entries", data=_form(csrf, [("5009", CITY, "1,234.56", ""), ("1002", CITY, "", "1234.55")]))
    assert r.status_code == 400 and "借方合计不等于贷方合计" in r.text and 'value="1,234.56"' in r.text
    r = client.post("/fund/entries", data=_form(csrf, [("5009", CITY, "1.234", ""), ("1002", CITY, "", "1.234")]))
    assert r.status_code == 400 and "两位小数" in r.text
    r = client.post(
        "/fund/entries",
        data=_form(csrf, [("5009", CITY, "1,234.56", ""), ("1002", CITY, "", "1234.56")]),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    url = r.headers["location"].split("?")[0]
    entry_id = int(url.rsplit("/", 1)[1])
    with session_scope() as s:
        e = s.get(Entry, entry_id)
        assert (e.status, e.total_fen) == ("submitted", 123_456)
    page = client.get(url)
    assert "须由另一名经办人员复核" in page.text and "复核通过并记账" not in page.text
    # The maker cannot approve through the page either.
    r = client.post(f"{url}/approve", data={"csrf_token": csrf})
    assert r.status_code == 403 and "不得复核本人编制的凭证" in r.text
    # Guilin does not see it.
    assert client.get(f"/api/v1/fund/entries/{entry_id}", headers=bearer("gl_si")).status_code == 404
    # The checker approves; the number shows, the lines name subjects and cities.
    h2 = as_user("nn_si_check")
    r = client.post(f"{url}/approve", data={"csrf_token": h2["X-CSRF-Token"]}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(url).text
    with session_scope() as s:
        number = s.get(Entry, entry_id).number
    assert number and number in page and "已记账" in page
    assert "职业伤害保障其他支出" in page and "南宁市" in page and "1,234.56" in page
    # In the list, filtered by month, kind, city and subject.
    q = f"month={clock.today():%Y-%m}&kind=manual&status=posted&city={CITY}&subject=5009"
    assert number in client.get(f"/fund/entries?{q}").text
    # Reversal through the API: made by the maker, approved by the checker; once.
    r = client.post(f"/api/v1/fund/entries/{entry_id}/reverse", json={"reason": "测试冲销"}, headers=bearer("nn_si"))
    assert r.status_code == 201, r.text
    rev = r.json()
    assert rev["status"] == "submitted" and rev["summary"] == f"冲销 {number}：测试冲销"
    assert [(x["subject_code"], x["debit_fen"], x["credit_fen"]) for x in rev["lines"]] == [
        ("5009", 0, 123_456),
        ("1002", 123_456, 0),
    ]
    again = client.post(f"/api/v1/fund/entries/{entry_id}/reverse", json={"reason": "又冲"}, headers=bearer("nn_si"))
    assert again.status_code == 409
    ok = client.post(f"/api/v1/fund/entries/{rev['id']}/approve", headers=bearer("nn_si_check"))
    assert ok.status_code == 200 and ok.json()["status"] == "posted"
    assert ok.json()["trace"]["reverses"]["number"] == number


def test_api_entries_scope_and_refusals(client):
    r = client.post(
        "/api/v1/fund/entries",
        json={
            "entry_date": clock.today().isoformat(),
            "summary": "越权",
            "lines": [
                {"subject": "5009", "city": "450300", "debit_fen": 100},
                {"subject": "1002", "city": "450300", "credit_fen": 100},
            ],
        },
        headers=bearer("nn_si"),
    )
    assert r.status_code == 403 and "本市" in r.text
    r = client.post(
        "/api/v1/fund/entries",
        json={
            "entry_date": clock.today().isoformat(),
            "summary": "草稿",
            "submit": False,
            "lines": [
                {"subject": "5009", "city": CITY, "debit_fen": 100},
                {"subject": "1002", "city": CITY, "credit_fen": 100},
            ],
        },
        headers=bearer("nn_si"),
    )
    assert r.status_code == 201 and r.json()["status"] == "draft"
    eid = r.json()["id"]
    assert client.post(f"/api/v1/fund/entries/{eid}/approve", headers=bearer("nn_si_check")).status_code == 409
    listed = client.get(f"/api/v1/fund/entries?status=draft&city={CITY}", headers=bearer("nn_si")).json()
    assert eid in [x["id"] for x in listed["items"]]
    assert eid not in [
        x["id"] for x in client.get("/api/v1/fund/entries?status=draft", headers=bearer("gl_si")).json()["items"]
    ]
    # The draft is the maker's to delete (it must not stay behind).
    with session_scope() as s:
        from oip.fund import journal
        from tests.fund.test_journal import who

        journal.remove(s, who(s, "nn_si"), eid)
    assert client.get("/api/v1/fund/check", headers=bearer("gx_finance")).status_code == 200


def test_trial_balance_page_and_excel_agree(client, as_user):
    from openpyxl import load_workbook

    year = clock.today().year
    with session_scope() as s:
        rows = posting.trial_balance(s, year, CITY)
    as_user("nn_si")
    page = client.get(f"/fund/trial-balance?year={year}&city=450300")  # Nanning sees only Nanning
    assert page.status_code == 200
    d = sum(r["debit_fen"] for r in rows)
    c = sum(r["credit_fen"] for r in rows)
    from oip.core.money import yuan

    m = re.search(r'data-testid="tb-debit">([^<]+)<', page.text)
    assert m.group(1) == yuan(d)
    assert re.search(r'data-testid="tb-credit">([^<]+)<', page.text).group(1) == yuan(c)
    r = client.get(f"/fund/trial-balance.xlsx?year={year}&city={CITY}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).active
    values = list(ws.iter_rows(min_row=3, values_only=True))
    body = [v for v in values if v and v[0] and str(v[0]).isdigit() and "小计" not in str(v[1])]
    assert len(body) == len(rows)
    total = next(v for v in values if v and v[1] == "合计")
    assert Decimal(str(total[4])) * 100 == d and Decimal(str(total[5])) * 100 == c
    assert sum(Decimal(str(v[4])) * 100 for v in body) == d
    api = client.get(f"/api/v1/fund/trial-balance?year={year}", headers=bearer("nn_si")).json()
    assert api["city"] == CITY and api["debit_fen"] == d and api["credit_fen"] == c


def test_trial_balance_groups_expenditure_under_5001(client, as_user):
    with session_scope() as s:
        rows = posting.trial_balance(s, clock.today().year)
    as_user("gx_si")
    page = client.get("/fund/trial-balance").text
    if any(r["parent_code"] == rules.EXPENSE for r in rows):
        assert 'data-testid="expense-subtotal"' in page
    assert 'type="month"' not in page and "<select" in page


def test_trace_from_a_payment_batch(client, as_user, tmp_path):
    from oip.payments import service
    from tests.payments.conftest import FakeBank, owed_case, principal

    owed_case((80_000,), county="450107")
    with session_scope() as s:
        bid = service.make_batch(s, principal(s, "nn_si"), "450107").id
    with session_scope() as s:
        service.approve(s, principal(s, "nn_si_check"), bid)
    fake = FakeBank(tmp_path)
    with session_scope() as s:
        assert service.send(s, principal(s, "nn_si"), bid, fake).ok
    body, sig, name = fake.result_file()
    with session_scope() as s:
        service.import_result(s, principal(s, "nn_si"), body, sig, name)
    h = as_user("gx_si")
    r = client.post("/fund/post", data={"csrf_token": h["X-CSRF-Token"]}, follow_redirects=False)
    assert r.status_code == 303
    with session_scope() as s:
        entry = s.scalar(select(Entry).where(Entry.source_type == "payment_batch", Entry.source_id == bid))
        assert entry is not None and entry.kind == "payment" and entry.status == "posted"
        eid, number = entry.id, entry.number
    batch_page = client.get(f"/payments/batches/{bid}").text
    assert f"/fund/trace?source_type=payment_batch&amp;source_id={bid}" in batch_page
    trace = client.get(f"/fund/trace?source_type=payment_batch&source_id={bid}")
    assert trace.status_code == 200 and number in trace.text and f"/payments/batches/{bid}" in trace.text
    detail = client.get(f"/fund/entries/{eid}").text
    assert f'href="/payments/batches/{bid}"' in detail and "待遇支付成功" in detail and "/cases/" in detail
    # Finance reads the ledger and payments, not cases: no case link.
    as_user("gx_finance")
    detail = client.get(f"/fund/entries/{eid}").text
    assert number in detail and "/cases/" not in detail
    # Without fund.read the batch page carries no link to the ledger (hrss reads no payments; the
    # link shows to payment readers who also read the fund).
    assert client.get("/fund/trace?source_type=nothing&source_id=1").status_code == 400


@pytest.mark.parametrize("username", ["gx_si", "nn_si"])
def test_ledger_pages_speak_chinese(client, as_user, username):
    from tests.test_pages_language import raw_codes

    as_user(username)
    with session_scope() as s:
        ids = list(s.scalars(select(Entry.id).where(Entry.status == "posted").order_by(Entry.id.desc()).limit(3)))
    urls = ["/fund", "/fund/entries", "/fund/periods", "/fund/trial-balance", "/fund/interest", "/fund/check"]
    urls += ["/fund/entries/new"] + [f"/fund/entries/{i}" for i in ids]
    found = {}
    for url in urls:
        r = client.get(url)
        if r.status_code == 404:  # another city's entry
            continue
        assert r.status_code == 200, (url, r.status_code)
        bad = raw_codes(r.text)
        if bad:
            found[url] = bad[:5]
    assert found == {}


def test_refusals_on_the_interest_and_period_forms_are_shown_in_chinese(client, as_user):
    t = clock.today()
    h = as_user("gx_si")
    base = {
        "csrf_token": h["X-CSRF-Token"],
        "month": f"{t:%Y-%m}",
        "received_on": t.isoformat(),
        "bank_ref": f"LX-PAGE-{t:%Y%m%d}",
        "fund_interest": "10,000.00",
        "fund_balance": "800000",
    }
    page = client.get("/fund/interest").text
    assert 'type="month"' in page and 'type="date"' in page
    r = client.post("/fund/interest", data=base | {"oi_balance": "800000.01"})
    assert r.status_code == 400 and "不能大于工伤保险基金平均余额" in r.text and 'value="800000.01"' in r.text
    r = client.post("/fund/interest", data=base | {"fund_interest": "1.001"})
    assert r.status_code == 400 and "两位小数" in r.text
    r = client.post("/fund/periods/close", data={"csrf_token": h["X-CSRF-Token"], "month": f"{t:%Y-%m}"})
    assert r.status_code == 400 and "尚未结束" in r.text
    h = as_user("nn_si")  # a city keeps no interest: the form is not shown, the post refused
    assert 'data-testid="interest-form"' not in client.get("/fund/interest").text
    r = client.post("/fund/interest", data=base | {"csrf_token": h["X-CSRF-Token"], "oi_balance": "1"})
    assert r.status_code == 403 and "自治区" in r.text
    assert (
        client.post("/fund/periods/close", data={"csrf_token": h["X-CSRF-Token"], "month": "2020-01"}).status_code
        == 403
    )
