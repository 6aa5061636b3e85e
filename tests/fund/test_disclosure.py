"""The yearly public disclosure (oip.fund.disclosure): a worked example of the figures with small
cells and their complements, publishing (a past year, once, by the region only), the public pages
and JSON (anonymous, no personal data), the officers' page and its Excel export."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select, update

from oip.core import clock
from oip.core.errors import Conflict, DomainError, Forbidden
from oip.fund import disclosure, disclosure_rules as R, posting, rules
from oip.reference.parameters import PILOT_START
from tests.conftest import bearer


@pytest.fixture(autouse=True)
def _database(database):
    """Every test here runs against the test database."""


def principal(s, username: str):
    from oip.auth.models import User
    from oip.auth.service import principal_for

    return principal_for(s, s.scalar(select(User).where(User.username == username)), via="cli")


def published_year() -> int:
    """The year these tests publish: the last one that has ended (the tests' province is not the demo's,
    which publishes nothing)."""
    return clock.today().year - 1


@pytest.fixture(scope="module")
def published(database):
    from oip.core.db import session_scope
    from oip.fund.models import Disclosure

    year = published_year()
    with session_scope() as s:
        if s.scalar(select(Disclosure).where(Disclosure.year == year)) is None:
            disclosure.publish(s, principal(s, "gx_si"), year)
    return year


# ---- the worked example ----------------------------------------------------------------------------


def _city(figures: dict, code: str) -> dict:
    return next(c for c in figures["cities"] if c["code"] == code)


def _example(db, year: int) -> None:
    """In ``db`` (rolled back by the fixture): orders, cases, decisions, payments and ledger entries
    of ``year`` in 南宁, 柳州, 桂林 and 梧州."""
    from oip.benefits.models import Payable
    from oip.cases.models import Case, Decision
    from oip.orders.models import WorkerMonth
    from oip.payments.models import PaymentLine
    from oip.platforms.models import Platform
    from oip.workers.models import Person

    plat = db.scalar(select(Platform.id).where(Platform.status == "admitted").order_by(Platform.id))
    t0 = dt.datetime(year, 3, 1, 9, tzinfo=dt.UTC)

    def wm(person: int, county: str, month: int, orders: int = 5):
        db.add(
            WorkerMonth(
                platform_id=plat,
                account_id=f"DISC{person}",
                month=dt.date(year, month, 1),
                county_code=county,
                person_id=person,
                orders=orders,
                completed=orders,
                day_orders=[orders] + [0] * 27,
                day_first=[3600] + [None] * 27,
                day_last=[7200] + [None] * 27,
                first_accepted_at=t0,
                last_finished_at=t0,
            )
        )

    base = 9_700_000_000
    nanning = [base + i for i in range(12)]
    liuzhou = [base + 100 + i for i in range(3)]
    guilin = [nanning[0]] + [base + 200 + i for i in range(14)]  # 南宁's first person works in 桂林 too
    wuzhou = [base + 300 + i for i in range(11)]
    for p in nanning:
        wm(p, "450102", 3)
    for p in nanning[:2]:
        wm(p, "450102", 4)  # two person-months more in 南宁
    for p in liuzhou:
        wm(p, "450202", 3)
    for p in guilin:
        wm(p, "450305", 5)
    for p in wuzhou:
        wm(p, "450403", 6)

    # 15 cases reported in the year: 12 in 南宁, 3 in 柳州; 12 decisions in 南宁, one of them a death.
    cases = db.scalars(select(Case).where(Case.merged_into_id.is_(None)).order_by(Case.id).limit(15)).all()
    assert len(cases) == 15, "the demo province has cases"
    for i, c in enumerate(cases):
        c.reported_on = dt.date(year, 5, 1)
        c.county_code = "450102" if i < 12 else "450202"
        c.kind = "death" if i == 0 else "injury"
    db.flush()
    for c in cases[:12]:
        db.add(
            Decision(
                case_id=c.id,
                round=90,
                outcome="confirmed",
                code_kind="situation",
                code="T",
                reasoning="测试",
                decided_on=dt.date(year, 6, 1),
            )
        )

    # Paid benefits: 12 people in 南宁 (medical), 12 in 桂林 (disability_once), 2 in 柳州 (funeral).
    lines = db.scalars(select(PaymentLine).where(PaymentLine.status == "paid").order_by(PaymentLine.id).limit(26)).all()
    assert len(lines) == 26, "the demo province has paid benefits"
    people = db.scalars(select(Person.id).order_by(Person.id).limit(26)).all()
    plan = [("450102", "medical")] * 12 + [("450305", "disability_once")] * 12 + [("450202", "funeral")] * 2
    for line, person, (county, item) in zip(lines, people, plan, strict=True):
        line.paid_on = dt.date(year, 6, 15)
        db.execute(
            update(Payable)
            .where(Payable.id == line.payable_id)
            .values(region_code=county, item=item, person_id=person, dependant_id=None)
        )
    db.flush()

    day = dt.date(year, 6, 15)
    legs = [
        (rules.premium_legs(1_000_000), "premium"),
        (rules.interest_legs(5_000), "interest"),
        (rules.payment_legs("medical", "450102", 300_000), "payment"),
        (rules.payment_legs("disability_once", "450305", 900_000), "payment"),
        (rules.payment_legs("funeral", "450202", 80_000), "payment"),
    ]
    posting.post(db, principal(db, "gx_si"), [posting.NewEntry(kind, day, "信息公开测试", lg) for lg, kind in legs])
    db.flush()


def test_draw_suppresses_small_cells_and_their_complements(db):
    year = clock.today().year + 30  # a year nobody else has figures for (the session is rolled back)
    _example(db, year)
    f = disclosure.draw(db, year)
    assert f["threshold"] == 10 and f["year"] == year
    nn, lz, gl, wz = (_city(f, c) for c in ("450100", "450200", "450300", "450400"))
    assert nn["name"] == "南宁市"

    # Enrolment: 柳州's 3 people are hidden, and 梧州 (11, the smallest other city) with them.
    assert nn["insured"] == {"value": 12, "mark": ""} and gl["insured"] == {"value": 15, "mark": ""}
    assert lz["insured"] == {"value": None, "mark": R.SMALL}
    assert wz["insured"] == {"value": None, "mark": R.COMPLEMENT}
    assert f["total"]["insured"] == {"value": 12 + 3 + 14 + 11, "mark": ""}  # the person in two cities counts once
    assert nn["person_months"]["value"] == 14 and nn["orders"]["value"] == 70
    assert lz["person_months"]["mark"] == R.SMALL and lz["orders"]["mark"] == R.SMALL
    assert f["total"]["person_months"]["value"] == 14 + 3 + 15 + 11
    assert f["total"]["orders"]["value"] == 5 * (14 + 3 + 15 + 11)
    assert nn["platforms"] == 1

    # Cases: 柳州's 3 reports are hidden, and so is 南宁's 12 (the only other city with reports).
    assert lz["reports"]["mark"] == R.SMALL and nn["reports"]["mark"] == R.COMPLEMENT
    assert f["total"]["reports"] == {"value": 15, "mark": ""}
    assert nn["decisions"]["value"] == 12 and nn["confirmed"]["value"] == 12
    # One death: small in 南宁 and in Guangxi (no other city to hide beside it).
    assert nn["deaths"]["mark"] == R.SMALL and f["total"]["deaths"]["mark"] == R.SMALL

    # Money: 柳州's funeral grant went to 2 people: hidden, by city and by item, with a complement.
    assert lz["paid_people"]["mark"] == R.SMALL and gl["paid_people"]["value"] == 12
    assert nn["paid_people"]["mark"] == R.COMPLEMENT  # 12 like 桂林: the first city by code
    assert f["total"]["paid_people"]["value"] == 26
    assert lz["expenditure_fen"]["mark"] == R.SMALL
    assert nn["expenditure_fen"] == {"value": None, "mark": R.COMPLEMENT}  # 300,000 < 桂林's 900,000
    assert gl["expenditure_fen"] == {"value": 900_000, "mark": ""}
    items = {i["subject_code"]: i for i in f["items"]}
    assert items["500107"]["amount_fen"]["mark"] == R.SMALL and items["500107"]["people"]["mark"] == R.SMALL
    assert items["500101"]["amount_fen"]["mark"] == R.COMPLEMENT
    assert items["500104"]["amount_fen"] == {"value": 900_000, "mark": ""}
    assert items["500104"]["name"] == "一次性伤残补助金"
    m = f["money"]
    assert (m["premium_fen"], m["interest_fen"], m["income_fen"]) == (1_000_000, 5_000, 1_005_000)
    assert m["expenditure_fen"] == 1_280_000
    assert m["balance_fen"] == m["brought_forward_fen"] + 1_005_000 - 1_280_000

    # Nothing hidden is kept in the figures: a hidden cell has no value at all.
    def values(x):
        if isinstance(x, dict):
            if x.get("mark"):
                assert x["value"] is None
            for v in x.values():
                values(v)
        elif isinstance(x, list):
            for v in x:
                values(v)

    values(f)

    # As the pages show it.
    from oip.fund.disclosure_pages import view

    v = view(f)
    nn_v, lz_v, wz_v = (next(c for c in v["cities"] if c["code"] == k) for k in ("450100", "450200", "450400"))
    assert (nn_v["insured"], lz_v["insured"], wz_v["insured"]) == ("12", "<10", "—")
    assert (nn_v["expenditure"], lz_v["expenditure"]) == ("—", "—")
    assert v["total"]["insured"] == "40" and v["money"]["income_fen"] == "10,050.00"
    assert lz_v["bar_hidden"] and not nn_v["bar_hidden"] and nn_v["bar"] == 80  # 12 of 南宁 against 桂林's 15
    assert v["has_small"] and v["has_complement"] and v["chart"]


def test_the_threshold_is_a_parameter(db):
    from oip.reference import parameters

    year = clock.today().year + 31
    parameters.set(db, principal(db, "gx_si"), disclosure.THRESHOLD, 3, dt.date(year, 1, 1), "测试")
    assert disclosure.threshold_for(db, year) == 3
    assert disclosure.threshold_for(db, year - 1) == 10
    with pytest.raises(DomainError):
        parameters.set(db, principal(db, "gx_si"), disclosure.THRESHOLD, 0, dt.date(year, 2, 1), "测试")


# ---- publishing ----------------------------------------------------------------------------------


def test_publish_only_a_year_that_has_ended(db):
    actor = principal(db, "gx_si")
    for year in (clock.today().year, clock.today().year + 1):
        with pytest.raises(DomainError, match="尚未结束"):
            disclosure.publish(db, actor, year)
    with pytest.raises(DomainError, match="试点自"):
        disclosure.publish(db, actor, PILOT_START.year - 1)


def test_published_once_and_final(db, published):
    from oip.core.audit_models import AuditEvent
    from oip.fund.models import Disclosure

    d = db.scalar(select(Disclosure).where(Disclosure.year == published))
    assert d.threshold == d.figures["threshold"] == 10
    assert d.figures["year"] == published and len(d.figures["cities"]) >= 14
    assert db.scalar(
        select(AuditEvent.seq).where(AuditEvent.action == "fund.disclosure.publish", AuditEvent.entity_id == str(d.id))
    )
    with pytest.raises(Conflict, match="不再更改"):
        disclosure.publish(db, principal(db, "gx_si"), published)


def test_only_the_region_may_publish(db):
    year = clock.today().year - 6
    for user in ("nn_si", "gx_finance", "gx_hrss"):
        with pytest.raises(Forbidden):
            disclosure.publish(db, principal(db, user), year)


def test_officers_without_the_permission_cannot_publish_over_http(client, as_user):
    year = clock.today().year - 6
    for user in ("nn_si", "gx_finance"):
        h = as_user(user)
        r = client.post(f"/fund/disclosure/{year}/publish", headers=h, follow_redirects=False)
        assert r.status_code == 403, (user, r.status_code)
    from oip.core.db import session_scope
    from oip.fund.models import Disclosure

    with session_scope() as s:
        assert s.scalar(select(Disclosure).where(Disclosure.year == year)) is None


# ---- the public pages and JSON -------------------------------------------------------------------


def _personal(db) -> list[str]:
    from oip.workers.models import Person

    rows = db.execute(select(Person.name, Person.id_masked).order_by(Person.id).limit(40)).all()
    return [n for n, _ in rows if len(n) >= 2] + [m for _, m in rows]


def test_anonymous_visitors_read_the_published_year(client, db, published):
    r = client.get("/public/fund")
    assert r.status_code == 200 and f"/public/fund/{published}" in r.text
    r = client.get(f"/public/fund/{published}")
    assert r.status_code == 200
    assert f"{published} 年度新就业形态人员职业伤害保障信息公开" in r.text
    assert "南宁市" in r.text and "全区合计" in r.text and "数据来源" in r.text and "发布时间" in r.text
    assert [x for x in _personal(db) if x in r.text] == []
    j = client.get(f"/api/v1/public/fund/{published}")
    assert j.status_code == 200 and j.json()["year"] == published
    assert j.json()["figures"]["cities"][0]["name"] == "南宁市"
    assert [x for x in _personal(db) if x in j.text] == []
    # The home page and the public header link to it.
    assert 'href="/public/fund"' in client.get("/").text


def test_an_unpublished_year_is_a_chinese_404(client):
    r = client.get("/public/fund/2099")
    assert r.status_code == 404 and "2099 年度的职业伤害保障信息尚未公开" in r.text and "/public/fund" in r.text
    assert client.get("/api/v1/public/fund/2099").status_code == 404


# ---- the officers' page --------------------------------------------------------------------------


def test_the_preview_shows_the_figures_in_public_form_without_personal_data(client, as_user, db):
    h = as_user("gx_si")
    year = clock.today().year
    r = client.get(f"/fund/disclosure?year={year}", headers=h)
    assert r.status_code == 200
    assert "尚未公开" in r.text and "尚未结束" in r.text  # no publish button for the year under way
    assert f"/fund/disclosure/{year}/publish" not in r.text
    assert [x for x in _personal(db) if x in r.text] == []
    drawn = disclosure.draw(db, year)
    if drawn["total"]["reports"]["value"] is not None:  # the demo's cases, counted
        assert f"{drawn['total']['reports']['value']:,} 件" in r.text


def test_the_region_sees_a_publish_button_finance_does_not(client, as_user):
    # An ended year nobody published: two years on, as seen from the January after it.
    year = clock.today().year + 2
    with clock.frozen(dt.date(year + 1, 1, 10)):
        assert (
            f"/fund/disclosure/{year}/publish"
            in client.get(f"/fund/disclosure?year={year}", headers=as_user("gx_si")).text
        )
        page = client.get(f"/fund/disclosure?year={year}", headers=as_user("gx_finance"))
        assert page.status_code == 200 and f"/fund/disclosure/{year}/publish" not in page.text
    assert client.get("/fund/disclosure", headers=bearer("meituan_admin")).status_code == 403


def test_excel_export_of_a_published_year(client, as_user, published):
    from openpyxl import load_workbook

    h = as_user("gx_si")
    r = client.get(f"/fund/disclosure/{published}/xlsx", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    cities, money = wb.worksheets
    assert cities["A2"].value == "地区" and cities["A3"].value == "南宁市"
    assert [row[0].value for row in money.iter_rows(min_row=3)][:1] != []
    assert any(row[0].value == "年末结余" for row in money.iter_rows(min_row=3))
    assert client.get(f"/fund/disclosure/{clock.today().year}/xlsx", headers=h).status_code == 404


def test_the_pages_speak_chinese(client, published):
    from tests.test_pages_language import raw_codes

    found = {}
    for url in ("/public/fund", f"/public/fund/{published}", "/public/fund/2099"):
        if bad := raw_codes(client.get(url).text):
            found[url] = bad[:5]
    from tests.conftest import sign_in

    sign_in(client, "gx_si")
    for url in (
        "/fund/disclosure",
        f"/fund/disclosure?year={published}",
        f"/fund/disclosure?year={clock.today().year}",
    ):
        r = client.get(url)
        assert r.status_code == 200, url
        if bad := raw_codes(r.text):
            found[url] = bad[:5]
    assert not found, found
