"""Claims on the case page (signed in, with the CSRF token): the panel's form with its rows and
"more rows", rejected rows shown with why, excluded bills with their reasons, the claim determination
button; the worklists /benefits/claims and /benefits/fast-lane; what the worker sees."""

from __future__ import annotations

import re

from oip.core import clock
from tests.benefits.claims_support import bill, confirmed_case, pending_case, receipt, worker_case
from tests.conftest import bearer


def form(csrf: dict, **fields) -> dict:
    return {"csrf_token": csrf["X-CSRF-Token"], **fields}


def rows(*bills) -> dict:
    out = {}
    for i, b in enumerate(bills, start=1):
        out.update(
            {
                f"receipt_no_{i}": b["receipt_no"],
                f"provider_{i}": b["provider"],
                f"issued_on_{i}": b["issued_on"],
                f"amount_{i}": b["amount"],
            }
        )
        if b.get("inpatient"):
            out[f"inpatient_{i}"] = "1"
        if b.get("kind"):
            out[f"kind_{i}"] = b["kind"]
    return out


def test_an_officer_submits_a_claim_from_the_case_page_and_checks_it(client, as_user):
    cid = confirmed_case()
    csrf = as_user("nn_si")
    page = client.get(f"/cases/{cid}")
    assert page.status_code == 200 and 'id="claims"' in page.text and "提交费用申报" in page.text
    assert page.text.count('name="receipt_no_') == 5
    # more rows: the same form again with what was typed, five rows more
    typed = rows(bill("12.30"))
    r = client.post(f"/cases/{cid}/claims", data=form(csrf, rows="5", more="1", **typed))
    assert r.status_code == 200 and r.text.count('name="receipt_no_') == 10 and typed["receipt_no_1"] in r.text
    # a claim with a good row, a duplicate row and a bad amount: the rejected rows say why
    dup = receipt()
    good = bill("1000.00", receipt_no=dup)
    again = bill("5.00", receipt_no=dup)
    bad = bill("1.005")
    r = client.post(
        f"/cases/{cid}/claims",
        data=form(csrf, rows="10", hospital_days="0", received_on=clock.today().isoformat(), **rows(good, again, bad)),
    )
    assert r.status_code == 200, r.text
    assert 'data-testid="claim-outcome"' in r.text and "共 3 行，受理 1 行，不予受理 2 行" in r.text
    assert "与本次申报第 1 行重复" in r.text and "超过两位小数" in r.text
    # everything refused: the error in the panel, what was typed kept
    r = client.post(f"/cases/{cid}/claims", data=form(csrf, rows="5", **rows(bill("5.00", receipt_no=dup))))
    assert r.status_code == 400 and 'role="alert"' in r.text and "已在费用申报 FY" in r.text and dup in r.text
    # exclude a bill with a reason
    page = client.get(f"/cases/{cid}")
    claim_id, bill_id = re.search(r'action="/claims/(\d+)/bills/(\d+)/catalogue"', page.text).groups()
    version = re.search(
        rf'action="/claims/{claim_id}/bills/{bill_id}/catalogue"[^>]*>\s*<input[^>]*><input type="hidden" name="version" value="(\d+)"',
        page.text,
    ).group(1)
    r = client.post(
        f"/claims/{claim_id}/bills/{bill_id}/catalogue",
        data=form(csrf, in_catalogue="0", reason="非工伤保险目录内药品", version=version),
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{cid}#claims"
    page = client.get(f"/cases/{cid}")
    assert "剔除</span> 非工伤保险目录内药品" in page.text
    assert 'data-testid="claims-accepted">0.00<' in page.text and 'data-testid="claims-claimed">1000.00<' in page.text
    # the worklist
    lst = client.get("/benefits/claims")
    assert lst.status_code == 200 and 'data-testid="claims-list"' in lst.text and f"/cases/{cid}#claims" in lst.text
    assert client.get("/benefits/claims?status=received").status_code == 200


def test_the_fast_lane_worklist_shows_the_clock(client, as_user):
    cid = pending_case()
    as_user("nn_si")
    r = client.post(f"/api/v1/cases/{cid}/claims", json={"bills": [bill("150.00")]}, headers=bearer("nn_si"))
    c = r.json()["claim"]
    page = client.get("/benefits/fast-lane")
    assert page.status_code == 200 and c["number"] in page.text
    row = re.search(rf'<tr data-claim="{c["number"]}">.*?</tr>', page.text, re.S).group(0)
    assert c["confirm_due"] in row and c["pay_due"] in row and "工作日" in row
    case_page = client.get(f"/cases/{cid}")
    assert 'data-testid="fast-lane-clock"' in case_page.text and 'data-testid="fast-lane-documents"' in case_page.text
    assert "授权同意书" in case_page.text
    console = client.get("/")
    assert console.status_code == 200 and "超过支付期限的小伤快赔" in console.text


def test_the_worker_submits_from_the_portal_and_sees_the_status(client, as_user):
    cid = worker_case()
    csrf = as_user("worker_demo")
    page = client.get(f"/cases/{cid}")
    assert "提交费用申报" in page.text and 'name="received_on"' not in page.text  # the worker's claim is dated today
    r = client.post(f"/cases/{cid}/claims", data=form(csrf, rows="5", **rows(bill("66.60"))), follow_redirects=True)
    assert r.status_code == 200 and "已受理，待审核" in r.text and "66.60" in r.text
    assert "起草费用核定" not in r.text and "剔除理由" not in r.text  # officers' forms only
    mine = client.get("/benefits/claims")
    assert mine.status_code == 200 and "我的费用申报" in mine.text


def test_a_platform_does_not_see_the_panel(client, as_user):
    cid = confirmed_case()
    client.post(f"/api/v1/cases/{cid}/claims", json={"bills": [bill()]}, headers=bearer("nn_si"))
    as_user("meituan_admin")
    page = client.get(f"/cases/{cid}")
    assert page.status_code == 200 and 'id="claims"' not in page.text
