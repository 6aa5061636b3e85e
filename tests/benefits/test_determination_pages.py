"""Determinations on the case page and the checkers' worklist, through the forms (signed in, with the
CSRF token): open, adjust (a reason required, a stale form refused), submit; the maker sees why they
cannot approve; the checker approves from /benefits/approvals; dependants of a death case; what the
worker sees on their case page."""

from __future__ import annotations

import re

from tests.benefits._det_support import (
    determinable_case,
    payables_of,
)


def form(csrf: dict, **fields) -> dict:
    return {"csrf_token": csrf["X-CSRF-Token"], **fields}


def _lock(html: str, action: str) -> str:
    m = re.search(
        rf'action="{re.escape(action)}"[^>]*>\s*<input type="hidden" name="csrf_token" value="[^"]*">'
        r'<input type="hidden" name="version_lock" value="(\d+)"',
        html,
    )
    assert m, action
    return m.group(1)


def test_an_officer_and_a_checker_on_the_pages(client, as_user):
    cid = determinable_case(grade=9, person_of="worker_demo")
    csrf = as_user("nn_si")
    page = client.get(f"/cases/{cid}")
    assert page.status_code == 200 and 'id="determination"' in page.text and "开始待遇核定" in page.text
    r = client.post(f"/cases/{cid}/determinations", data=form(csrf, note="初次核定"), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{cid}#determination"
    page = client.get(f"/cases/{cid}")
    assert "待遇核定 第 1 版" in page.text and "草稿" in page.text and "一次性伤残补助金" in page.text
    assert "参数：benefit." in page.text
    det_id, line_id = re.search(r'action="/determinations/(\d+)/lines/(\d+)"', page.text).groups()
    action = f"/determinations/{det_id}/lines/{line_id}"
    lock = _lock(page.text, action)
    # No reason: the case page again, the reason in the panel.
    r = client.post(action, data=form(csrf, amount_yuan="30000", reason="", version_lock=lock))
    assert r.status_code == 400 and 'data-field="reason"' in r.text and "请填写调整理由" in r.text
    r = client.post(action, data=form(csrf, amount_yuan="3万", reason="核减", version_lock=lock))
    assert r.status_code == 400 and 'data-field="amount_fen"' in r.text
    r = client.post(
        action, data=form(csrf, amount_yuan="30,000.50", reason="按协议核定", version_lock=lock), follow_redirects=True
    )
    assert r.status_code == 200 and "30,000.50" in r.text and "调整理由：按协议核定" in r.text
    r = client.post(action, data=form(csrf, amount_yuan="30000", reason="再调", version_lock=lock))
    assert r.status_code == 409 and "已被他人更新" in r.text
    lock = _lock(r.text, f"/determinations/{det_id}/submit")
    r = client.post(f"/determinations/{det_id}/submit", data=form(csrf, version_lock=lock), follow_redirects=True)
    assert "待审批" in r.text and 'data-testid="approval-refusal"' in r.text and "经办与复核须由不同人员" in r.text
    assert f'action="/determinations/{det_id}/approve"' not in r.text
    # The maker's worklist is empty of it; the maker posting anyway is refused.
    approvals = client.get("/benefits/approvals")
    assert approvals.status_code == 200 and f'data-determination="{det_id}"' not in approvals.text
    r = client.post(f"/determinations/{det_id}/approve", data=form(csrf, version_lock=int(lock) + 1, after="approvals"))
    assert r.status_code == 403 and "待遇核定审批" in r.text and "经办与复核须由不同人员" in r.text

    csrf = as_user("nn_si_check")
    approvals = client.get("/benefits/approvals")
    assert f'data-determination="{det_id}"' in approvals.text and "30,000.50" in approvals.text
    assert "待遇核定审批" in approvals.text
    lock = re.search(
        rf'action="/determinations/{det_id}/approve" class="inline">\s*<input type="hidden" name="csrf_token" '
        r'value="[^"]*"><input type="hidden" name="version_lock" value="(\d+)"',
        approvals.text,
    ).group(1)
    r = client.post(
        f"/determinations/{det_id}/approve",
        data=form(csrf, version_lock=lock, after="approvals"),
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/benefits/approvals"
    assert f'data-determination="{det_id}"' not in client.get("/benefits/approvals").text
    page = client.get(f"/cases/{cid}")
    assert "已审批" in page.text and "下载待遇核定通知书" in page.text
    assert [(i, a) for i, a, _, _ in payables_of(cid)] == [("disability_once", 3_000_050)]

    # The worker sees the approved version on their case page, without staff names, and the letter.
    as_user("worker_demo")
    page = client.get(f"/cases/{cid}")
    assert page.status_code == 200 and "待遇核定 第 1 版" in page.text and "30,000.50" in page.text
    assert "经办</dt>" not in page.text and 'action="/determinations/' not in page.text
    letter = re.search(r'href="(/api/v1/cases/\d+/letters/\d+/pdf)">下载待遇核定通知书', page.text).group(1)
    r = client.get(letter)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert client.get("/benefits/approvals").status_code == 403


def test_dependants_on_the_page(client, as_user):
    cid = determinable_case(kind="death")
    csrf = as_user("qx_si")
    page = client.get(f"/cases/{cid}")
    assert "登记供养亲属" in page.text and "尚未登记供养亲属" in page.text
    r = client.post(
        f"/cases/{cid}/dependants",
        data=form(csrf, name="陈梅", relation="spouse", birth_date="", phone="13900001111"),
    )
    assert r.status_code == 400 and 'data-field="birth_date"' in r.text
    r = client.post(
        f"/cases/{cid}/dependants",
        data=form(csrf, name="陈梅", relation="spouse", birth_date="1985-06-01", phone="13900001111"),
        follow_redirects=True,
    )
    assert r.status_code == 200 and "陈梅" in r.text and "139****1111" in r.text and "13900001111" not in r.text
    dep = re.search(r'data-dependant="(\d+)"', r.text).group(1)
    r = client.post(
        f"/cases/{cid}/dependants/{dep}",
        data=form(csrf, name="陈梅", relation="parent", birth_date="1985-06-01", orphan_or_lone_elderly="1"),
        follow_redirects=True,
    )
    assert r.status_code == 200 and "父母" in r.text and "139****1111" in r.text  # the phone kept
    r = client.post(f"/cases/{cid}/determinations", data=form(csrf), follow_redirects=True)
    assert "供养亲属抚恤金" in r.text and "陈梅（父母）" in r.text and "丧葬补助金" in r.text
