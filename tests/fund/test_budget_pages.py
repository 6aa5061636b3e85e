"""The pages and JSON routes of the budget and final accounts: the flow through the forms by the
centre, the tax bureau and finance (amounts typed in yuan), what each role is offered, a city
officer's execution page, the statements page and the Excel downloads (opened with openpyxl)."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from sqlalchemy import delete

from oip.core import clock
from oip.core.db import session_scope
from oip.fund import budget, budget_pages, final_accounts
from oip.fund.models import BudgetLine, FinalAccount
from tests.conftest import bearer


def _budget_id(location: str) -> int:
    return int(re.search(r"/fund/budget-versions/(\d+)", location).group(1))


def _workbook(r):
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    return load_workbook(io.BytesIO(r.content))


def test_budget_flow_through_the_pages(client, as_user):
    year = clock.today().year + 5
    csrf = as_user("gx_si")["X-CSRF-Token"]
    r = client.get("/fund/budgets")
    assert r.status_code == 200 and "预算决算" in r.text and 'name="year"' in r.text
    r = client.post("/fund/budgets", data={"csrf_token": csrf, "year": ""}, follow_redirects=False)
    assert r.status_code == 400 and "请填写预算年度" in r.text
    r = client.post("/fund/budgets", data={"csrf_token": csrf, "year": str(year)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    bid = _budget_id(r.headers["location"])
    url = f"/fund/budget-versions/{bid}"
    page = client.get(url).text
    assert "编制中" in page and "职业伤害保障费收入" in page and 'data-testid="line-form"' in page
    # the centre may record the tax bureau's forecast (会同税务机关); it never approves
    assert 'data-testid="forecast-form"' in page and 'data-testid="approve"' not in page
    # a line typed in yuan, by name of the city
    r = client.post(
        url + "/lines",
        data={
            "csrf_token": csrf,
            "subject_code": "500101",
            "city_code": "451400",
            "amount": "12,345.67",
            "basis": "测试依据",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    with session_scope() as s:
        line = s.query(BudgetLine).filter_by(budget_id=bid, subject_code="500101", city_code="451400").one()
        assert line.amount_fen == 1_234_567 and line.basis == "测试依据"
    r = client.post(
        url + "/lines",
        data={"csrf_token": csrf, "subject_code": "500101", "city_code": "451400", "amount": "1.001"},
        follow_redirects=False,
    )
    assert r.status_code == 400 and "两位小数" in r.text
    page = client.get(url).text
    assert "崇左市" in page and "12,345.67" in page
    r = client.post(url + "/submission", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 400 and "收入预测" in r.text

    csrf = as_user("gx_tax")["X-CSRF-Token"]
    page = client.get(url).text
    assert 'data-testid="forecast-form"' in page and 'data-testid="line-form"' not in page
    r = client.post(
        url + "/forecast",
        data={"csrf_token": csrf, "amount": "8000000", "note": "按订单量预测"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "8,000,000.00" in client.get(url).text

    csrf = as_user("gx_si")["X-CSRF-Token"]
    assert client.post(url + "/submission", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303

    csrf = as_user("gx_finance")["X-CSRF-Token"]
    page = client.get(url).text
    assert 'data-testid="review"' in page and 'data-testid="return"' in page and 'data-testid="line-form"' not in page
    r = client.post(url + "/return", data={"csrf_token": csrf, "reason": ""}, follow_redirects=False)
    assert r.status_code == 400 and "退回原因" in r.text
    r = client.post(url + "/return", data={"csrf_token": csrf, "reason": "请补充测算依据"}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(url).text
    assert "已退回修改" in page and "请补充测算依据" in page  # in the history, with who did it

    csrf = as_user("gx_si")["X-CSRF-Token"]
    assert client.post(url + "/submission", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    csrf = as_user("gx_finance")["X-CSRF-Token"]
    assert (
        client.post(url + "/review", data={"csrf_token": csrf, "note": "审核通过"}, follow_redirects=False).status_code
        == 303
    )
    assert (
        client.post(url + "/approval", data={"csrf_token": csrf, "note": "同意"}, follow_redirects=False).status_code
        == 303
    )
    page = client.get(url).text
    assert "已批复" in page and 'data-testid="adjust"' not in page  # finance does not adjust

    csrf = as_user("gx_si")["X-CSRF-Token"]
    assert 'data-testid="adjust"' in client.get(url).text
    r = client.post(url + "/adjustment", data={"csrf_token": csrf, "note": "年中调整"}, follow_redirects=False)
    assert r.status_code == 303
    adj = _budget_id(r.headers["location"])
    assert adj != bid and "预算调整" in client.get(f"/fund/budget-versions/{adj}").text
    listing = client.get("/fund/budgets").text
    assert f"/fund/budget-versions/{adj}" in listing and f'data-year="{year}"' in listing

    # execution: the page with its bars, the Excel download
    page = client.get(f"/fund/budgets/{year}/execution").text
    assert "时间进度" in page and "崇左市" in page and "12,345.67" in page
    wb = _workbook(client.get(f"/fund/budgets/{year}/execution.xlsx"))
    ws = wb.worksheets[0]
    values = [c.value for row in ws.iter_rows() for c in row]
    assert "崇左市" in values and any(str(v) == "12345.67" for v in values)


def test_a_city_officer_sees_its_own_city_and_no_province_statements(client, as_user):
    year = clock.today().year + 3
    as_user("nn_si")
    r = client.get(f"/fund/budgets/{year}/execution?city=451400")
    assert r.status_code == 200 and "南宁市" in r.text and "崇左市" not in r.text
    assert 'name="city"' not in r.text  # no city filter for a city officer
    assert client.get("/fund/statements").status_code == 404
    assert client.get(f"/fund/final-accounts/{year}").status_code == 404
    assert client.post("/fund/budgets", data={}, follow_redirects=False).status_code == 403
    listing = client.get("/fund/budgets").text
    assert "/fund/final-accounts/" not in listing and 'data-testid="draft-budget"' not in listing


def test_statements_pages_and_excel(client, as_user):
    today = clock.today()
    as_user("gx_finance")
    r = client.get("/fund/statements")
    assert r.status_code == 200 and "本年截至目前" in r.text and "资产负债表" in r.text
    assert 'data-testid="balanced"' in r.text
    wb = _workbook(client.get(f"/fund/statements.xlsx?year={today.year}"))
    assert [ws.title.split()[0] for ws in wb.worksheets] == ["收支表", "分地区支出", "资产负债表"]
    labels = [c.value for c in wb.worksheets[0]["A"]]
    assert "年末滚存结余" in labels and "收入合计" in labels
    page = client.get(f"/fund/final-accounts/{today.year + 4}")
    assert page.status_code == 200 and "尚未编制" in page.text and "未结账" in page.text
    assert 'data-testid="draw"' not in page.text  # months open
    assert client.get(f"/fund/final-accounts/{today.year + 4}/export.xlsx").status_code == 404
    # the final accounts' workbook is the statements' sheets
    with session_scope() as s:
        st = final_accounts.statements(s, today.year)
    from oip.core import xlsx

    wb = load_workbook(io.BytesIO(xlsx.workbook(budget_pages.statement_sheets(st, f"{today.year}决算"))))
    assert len(wb.worksheets) == 3 and wb.worksheets[2]["A2"].value == "类别"


def test_json_routes(client):
    year = clock.today().year + 4
    si, tax, fin, nn = bearer("gx_si"), bearer("gx_tax"), bearer("gx_finance"), bearer("nn_si")
    r = client.post("/api/v1/fund/budgets", json={"year": year, "note": "接口编制"}, headers=si)
    assert r.status_code == 201, r.text
    b = r.json()
    assert b["status"] == "draft" and any(x["subject_code"] == "4001" for x in b["lines"])
    bid = b["id"]
    r = client.post(
        f"/api/v1/fund/budgets/{bid}/lines",
        json={"subject_code": "500104", "city_code": "451300", "amount_fen": 500_00, "basis": "一次性伤残补助金"},
        headers=si,
    )
    assert r.status_code == 200 and any(x["city_name"] == "来宾市" for x in r.json()["lines"])
    assert client.post(f"/api/v1/fund/budgets/{bid}/submission", headers=si).status_code == 400
    assert client.post(f"/api/v1/fund/budgets/{bid}/forecast", json={"amount_fen": 1}, headers=fin).status_code == 403
    assert (
        client.post(f"/api/v1/fund/budgets/{bid}/forecast", json={"amount_fen": 9_00}, headers=tax).status_code == 200
    )
    assert client.post(f"/api/v1/fund/budgets/{bid}/submission", headers=si).json()["status"] == "submitted"
    assert client.post(f"/api/v1/fund/budgets/{bid}/approval", json={}, headers=fin).status_code == 409
    assert client.post(f"/api/v1/fund/budgets/{bid}/review", json={}, headers=fin).json()["status"] == "reviewed"
    r = client.post(f"/api/v1/fund/budgets/{bid}/approval", json={"note": "同意"}, headers=fin)
    assert r.json()["status"] == "approved" and r.json()["approved_by"]
    items = {x["year"]: x for x in client.get("/api/v1/fund/budgets", headers=nn).json()["items"]}
    assert items[year]["in_force"] == 1
    mine = client.get(f"/api/v1/fund/budgets/{bid}", headers=nn).json()
    assert {x["city_code"] for x in mine["lines"]} <= {"450100"}
    ex = client.get(f"/api/v1/fund/budgets/{year}/execution", headers=fin).json()
    assert ex["budget"]["id"] == bid and any(r["city_code"] == "451300" for r in ex["rows"])
    st = client.get("/api/v1/fund/statements", headers=fin).json()
    assert st["balance_sheet"]["balanced"]
    assert client.get("/api/v1/fund/statements", headers=nn).status_code == 404
    assert client.post(f"/api/v1/fund/final-accounts/{year}/draw", headers=si).status_code == 409
    assert client.get(f"/api/v1/fund/final-accounts/{year}", headers=fin).status_code == 404
    with session_scope() as s:
        assert budget.in_force(s, year).id == bid


def test_finance_returns_a_submitted_final_account_from_its_page(client, as_user):
    """A final account as submitted (the closing that precedes it is irreversible, so the row is
    written directly, for a year no other test uses, and removed afterwards)."""
    year = clock.today().year + 6
    with session_scope() as s:
        fa = FinalAccount(
            year=year, status="submitted", statements=final_accounts.statements(s, year), made_at=clock.now()
        )
        s.add(fa)
    try:
        as_user("gx_si")
        page = client.get(f"/fund/final-accounts/{year}").text
        assert "已报送财政" in page and 'data-testid="final-return"' not in page  # the centre only reads
        csrf = as_user("gx_finance")["X-CSRF-Token"]
        page = client.get(f"/fund/final-accounts/{year}").text
        assert 'data-testid="final-return"' in page and 'data-testid="final-approve"' in page
        url = f"/fund/final-accounts/{year}/return"
        r = client.post(url, data={"csrf_token": csrf, "reason": ""}, follow_redirects=False)
        assert r.status_code == 400 and "请填写退回原因" in r.text
        r = client.post(url, data={"csrf_token": csrf, "reason": "分地区支出与用款计划不符"}, follow_redirects=False)
        assert r.status_code == 303
        page = client.get(r.headers["location"]).text
        assert "决算已退回" in page and "已退回修改" in page and "分地区支出与用款计划不符" in page
        assert 'data-testid="final-return"' not in page
        body = client.get(f"/api/v1/fund/final-accounts/{year}", headers=bearer("gx_finance")).json()
        assert (body["status"], body["status_name"], body["note"]) == (
            "returned",
            "已退回修改",
            "分地区支出与用款计划不符",
        )
        r = client.post(
            f"/api/v1/fund/final-accounts/{year}/return", json={"reason": "再退"}, headers=bearer("gx_finance")
        )
        assert r.status_code == 409 and "已退回修改" in r.json()["error"]["reason"]
        as_user("gx_si")
        page = client.get(f"/fund/final-accounts/{year}").text
        assert 'data-testid="final-submit"' in page  # the centre may resubmit (or redraw once the year is closed)
    finally:
        with session_scope() as s:
            s.execute(delete(FinalAccount).where(FinalAccount.year == year))
