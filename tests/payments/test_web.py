"""Payment through the API, the pages and the CLI: payee accounts on a case, a batch made,
approved by somebody else, sent to the (fake) bank, results imported (twice), a reversal."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from oip.cli import app as cli_app
from oip.payments import bank
from tests.conftest import bearer
from tests.payments.conftest import OTHER_CARD, VALID_CARD, FakeBank, owed_case, statuses

runner = CliRunner()


@pytest.fixture
def fake(tmp_path, monkeypatch):
    f = FakeBank(tmp_path)
    monkeypatch.setattr(bank, "gateway_from_settings", lambda: f)
    return f


def test_payments_through_the_api(client, fake):
    ids = owed_case((25_000,), county="450105", account=False, dependant=True)
    case_id = ids["case_id"]
    si, check = bearer("nn_si"), bearer("nn_si_check")
    r = client.post(
        f"/api/v1/cases/{case_id}/payees",
        json={"holder_name": "测试人", "bank_name": "中国农业银行", "card_number": "6222020200112345670"},
        headers=si,
    )
    assert r.status_code == 400 and r.json()["error"]["field"] == "card_number"
    r = client.post(
        f"/api/v1/cases/{case_id}/payees",
        json={"holder_name": "测试人", "bank_name": "中国农业银行", "card_number": VALID_CARD},
        headers=si,
    )
    assert r.status_code == 201, r.text
    acc = r.json()
    assert acc["card"] == "6222 **** **** 5679" and VALID_CARD not in r.text
    # The dependant has no account yet: on the worklist as 无收款账户, not batched.
    wl = client.get("/api/v1/payments/worklist?only=no_account", headers=si).json()
    assert any(w["payable_id"] == ids["payables"][1] and w["problem"] == "无收款账户" for w in wl["items"])
    r = client.post("/api/v1/payments/batches", json={"region_code": "450105"}, headers=si)
    assert r.status_code == 201, r.text
    b = r.json()
    assert any(x["trace"]["determination_id"] == ids["determination_id"] for x in b["lines"])
    assert VALID_CARD not in r.text
    assert client.post(f"/api/v1/payments/batches/{b['id']}/approval", json={}, headers=si).status_code == 403
    r = client.post(f"/api/v1/payments/batches/{b['id']}/approval", json={"note": "已核对"}, headers=check)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    fake.timeout_next = True
    r = client.post(f"/api/v1/payments/batches/{b['id']}/sending", headers=si)
    assert r.status_code == 502 and r.json()["batch"]["send_attempts"] == 1
    r = client.post(f"/api/v1/payments/batches/{b['id']}/sending", headers=si)
    assert r.status_code == 200 and r.json()["batch"]["status"] == "sent"
    body, sig, name = fake.result_file()
    files = {"file": (name, body, "application/json")}
    r = client.post("/api/v1/payments/results", files=files, data={"signature": sig}, headers=si)
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["applied"] >= 1 and first["received"] == first["applied"] + first["duplicates"] + first["rejected"]
    r = client.post("/api/v1/payments/results", files=files, data={"signature": sig}, headers=si)
    assert r.json()["duplicate_file"] and r.json()["applied"] == 0
    r = client.post("/api/v1/payments/results", files=files, data={"signature": "00"}, headers=si)
    assert r.status_code == 400 and r.json()["error"]["field"] == "signature"
    assert statuses(ids["payables"]) == ["paid", "due"]
    view = client.get(f"/api/v1/cases/{case_id}/payments", headers=si).json()
    line = next(x for x in view["lines"] if x["status"] == "paid")
    assert view["paid_fen"] == 25_000 and line["trace"]["determination_version"] == 1
    r = client.post(f"/api/v1/payments/lines/{line['id']}/reversal", json={"reason": "账户已冻结"}, headers=si)
    assert r.status_code == 200 and r.json()["status"] == "reversed"
    assert statuses(ids["payables"]) == ["due", "due"]
    # Change of account: only with a reason; the old one ends.
    r = client.post(
        f"/api/v1/payees/{acc['id']}/change",
        json={"holder_name": "测试人", "bank_name": "中国银行", "card_number": OTHER_CARD, "reason": ""},
        headers=si,
    )
    assert r.status_code in (400, 422)
    r = client.post(
        f"/api/v1/payees/{acc['id']}/change",
        json={"holder_name": "测试人", "bank_name": "中国银行", "card_number": OTHER_CARD, "reason": "原卡冻结"},
        headers=si,
    )
    assert r.status_code == 201 and r.json()["card"] == "6217 **** **** 6898"
    # Finance reads payments; a county office and a worker's platform see nothing of another region.
    assert client.get("/api/v1/payments/batches", headers=bearer("gx_finance")).status_code == 200
    assert client.post("/api/v1/payments/batches", json={}, headers=bearer("gx_finance")).status_code == 403
    assert client.get(f"/api/v1/payments/batches/{b['id']}", headers=bearer("qx_si")).status_code == 404
    files_log = client.get("/api/v1/payments/bank-files", headers=si).json()
    assert {"out", "in"} <= {f["direction"] for f in files_log["items"]}


def test_payments_pages(client, as_user, fake):
    ids = owed_case((33_300,), county="450105", account=False)
    headers = as_user("nn_si")
    csrf = headers["X-CSRF-Token"]
    r = client.post(
        f"/cases/{ids['case_id']}/payees",
        data={
            "csrf_token": csrf,
            "holder_name": "测试人",
            "bank_name": "中国建设银行",
            "card_number": "1234567812345678",
        },
        follow_redirects=False,
    )
    assert r.status_code == 400 and "校验位" in r.text
    r = client.post(
        f"/cases/{ids['case_id']}/payees",
        data={"csrf_token": csrf, "holder_name": "测试人", "bank_name": "中国建设银行", "card_number": VALID_CARD},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/cases/{ids['case_id']}")
    assert "收款账户与支付" in page.text and "6222 **** **** 5679" in page.text and VALID_CARD not in page.text
    r = client.get("/payments")
    assert r.status_code == 200 and "待支付清单" in r.text and "生成支付批次" in r.text
    r = client.post("/payments/batches", data={"csrf_token": csrf, "region_code": "450105"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    url = r.headers["location"].split("?")[0]
    page = client.get(url)
    assert "6222 **** **** 5679" in page.text and VALID_CARD not in page.text and "本批次由您生成" in page.text
    r = client.post(url + "/approval", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 403 and "本人" in r.text
    client.cookies.clear()
    headers = as_user("nn_si_check")
    csrf = headers["X-CSRF-Token"]
    assert client.post(url + "/approval", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    r = client.post(url + "/sending", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    body, sig, name = fake.result_file()
    r = client.post(
        "/payments/results",
        data={"csrf_token": csrf},
        files={"file": (name, body, "application/json"), "signature_file": (name + ".sig", sig.encode(), "text/plain")},
    )
    assert r.status_code == 200 and "回盘已导入" in r.text
    assert statuses(ids["payables"]) == ["paid"]
    assert "银行文件日志" in client.get("/payments/bank-files").text


def test_payments_cli(tmp_path, fake):
    ids = owed_case((44_400,), county="450105")
    r = runner.invoke(cli_app, ["payments", "make-batch", "--region", "450105", "--by", "nn_si"])
    assert r.exit_code == 0, r.output
    number = json.loads(r.stdout)["number"]
    r = runner.invoke(cli_app, ["payments", "approve", number, "--by", "nn_si"])
    assert r.exit_code == 2 and "本人" in r.output
    assert runner.invoke(cli_app, ["payments", "approve", number, "--by", "nn_si_check"]).exit_code == 0
    fake.timeout_next = True
    r = runner.invoke(cli_app, ["payments", "send", number, "--by", "nn_si"])
    assert r.exit_code == 1
    r = runner.invoke(cli_app, ["payments", "send", number, "--by", "nn_si"])
    assert r.exit_code == 0 and json.loads(r.stdout)["batch"]["status"] == "sent"
    body, sig, name = fake.result_file()
    path = tmp_path / "inbox" / name
    r = runner.invoke(cli_app, ["payments", "import-result", str(path), "--by", "nn_si"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["applied"] >= 1
    assert statuses(ids["payables"]) == ["paid"]
    r = runner.invoke(cli_app, ["payments", "import-result", "--by", "nn_si"])  # from the bank's inbox: a duplicate
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["result"]["duplicate_file"]


def test_finance_reads_payments_and_claims_without_links_to_cases_it_may_not_open(client, as_user):
    """财政 reads payments and claims (payment.read, benefit.read) but not cases: case numbers are plain."""
    owed_case((21_000,), county="450105", account=False)
    as_user("gx_finance")
    for url in ("/payments", "/benefits/claims", "/benefits/monthly"):
        r = client.get(url)
        assert r.status_code == 200, url
        assert 'href="/cases/' not in r.text, url
    as_user("nn_si")
    assert 'href="/cases/' in client.get("/payments").text
