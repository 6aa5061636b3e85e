"""Pages of the yearly public disclosure (年度信息公开): the public pages (/public/fund, no
sign-in) that show what was published, and the officers' page (/fund/disclosure) that previews a
year's figures as they would be published, publishes them and exports them to Excel."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require, optional_principal
from oip.auth.models import User
from oip.auth.service import Principal
from oip.core import clock, layout, xlsx
from oip.core.errors import DomainError, NotFound
from oip.core.layout import render
from oip.core.money import yuan
from oip.core.web import DB, TransactionRoute, YearPath
from oip.fund import disclosure, disclosure_rules as R, posting
from oip.fund.models import Disclosure

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(layout.NavItem("信息公开", "/fund/disclosure", P.FUND_READ, order=79))

SOURCE = (
    "参保人数、参保人月数和保障订单数来自平台企业报送的订单数据（每单必保：从业人员在年度内至少有一单即计为参保）；"
    "报案和确认结论来自职业伤害确认案件；资金收支来自职业伤害保障基金已记账的会计凭证（按会计期间）；"
    "领取待遇人数为年度内经银行支付成功的待遇的收款人（从业人员或供养亲属）人数。"
)


def _count(c: dict | None, threshold: int) -> str:
    return "0" if c is None else R.shown(c, threshold)


def _money(c: dict | None) -> str:
    return "—" if c is None or c["value"] is None else yuan(c["value"])


def _pct(value: int | None, peak: int) -> int:
    return int(round(100 * value / peak)) if value and peak > 0 else 0


def view(figures: dict) -> dict:
    """The published figures as the pages show them: every cell as text, and the chart's bars."""
    t = figures["threshold"]
    total = figures["total"]
    cities = []
    peak = max((c["insured"]["value"] or 0 for c in figures["cities"]), default=0)
    for c in figures["cities"]:
        cities.append(
            {
                "name": c["name"],
                "code": c["code"],
                "platforms": c["platforms"],
                **{k: _count(c.get(k), t) for k in disclosure.COUNT_KEYS},
                "expenditure": _money(c.get("expenditure_fen")),
                "bar": _pct(c["insured"]["value"], peak),
                "bar_hidden": c["insured"]["mark"] != R.SHOWN,
            }
        )
    item_peak = max((i["amount_fen"]["value"] or 0 for i in figures["items"]), default=0)
    items = [
        {
            "name": i["name"],
            "code": i["subject_code"],
            "people": "—" if i["people"] is None else _count(i["people"], t),
            "amount": _money(i["amount_fen"]),
            "bar": _pct(i["amount_fen"]["value"], item_peak),
            "bar_hidden": i["amount_fen"]["mark"] != R.SHOWN,
        }
        for i in figures["items"]
    ]
    m = figures["money"]
    marks = {
        c.get(k, {}).get("mark")
        for c in [*figures["cities"], total]
        for k in (*disclosure.COUNT_KEYS, "expenditure_fen")
        if isinstance(c.get(k), dict)
    } | {i["amount_fen"]["mark"] for i in figures["items"]}
    return {
        "year": figures["year"],
        "threshold": t,
        "total": {
            "platforms": total["platforms"],
            **{k: _count(total.get(k), t) for k in disclosure.COUNT_KEYS},
            "expenditure": _money(total.get("expenditure_fen")),
        },
        "cities": cities,
        "chart": peak > 0,
        "item_rows": items,
        "income": [
            {"name": i["name"], "code": i["subject_code"], "amount": yuan(i["amount_fen"])} for i in figures["income"]
        ],
        "money": {k: yuan(v) for k, v in m.items() if k.endswith("_fen")},
        "has_small": R.SMALL in marks,
        "has_complement": R.COMPLEMENT in marks,
        "period": figures["period"],
    }


# ---- public --------------------------------------------------------------------------------------


@pages.get("/public/fund")
def public_list(request: Request, p: Principal | None = Depends(optional_principal), db: Session = DB):
    return render(
        request,
        "public_fund_list.html",
        title="职业伤害保障年度信息公开",
        years=[{"year": d.year, "published_at": d.published_at} for d in disclosure.published_years(db)],
    )


@pages.get("/public/fund/{year}")
def public_year(request: Request, year: YearPath, p: Principal | None = Depends(optional_principal), db: Session = DB):
    try:
        d = disclosure.published(db, year)
    except NotFound:
        return render(
            request,
            "public_fund_missing.html",
            status_code=404,
            title="页面不存在",
            year=year,
        )
    return render(
        request,
        "public_fund_year.html",
        title=f"{year} 年度职业伤害保障信息公开",
        v=view(d.figures),
        published_at=d.published_at,
        source=SOURCE,
        names=disclosure.COUNT_NAMES,
    )


# ---- officers ------------------------------------------------------------------------------------


def _officer_page(request: Request, db: Session, p: Principal, year: int, *, status_code: int = 200, **extra):
    years = disclosure.years_to_pick()
    done = {d.year: d for d in disclosure.published_years(db)}
    pub = done.get(year)
    figures = pub.figures if pub else disclosure.draw(db, year)
    publisher = db.scalar(select(User.display_name).where(User.id == pub.published_by)) if pub else None
    return render(
        request,
        "fund_disclosure.html",
        status_code=status_code,
        title="年度信息公开",
        year=year,
        years=sorted(set(years) | set(done), reverse=True),
        published=[{"year": d.year, "published_at": d.published_at, "threshold": d.threshold} for d in done.values()],
        pub=pub,
        publisher=publisher,
        v=view(figures),
        why_not=disclosure.can_publish(year),
        pending=0 if pub else posting.pending_count(db),
        can_publish=p.can(P.FUND_DISCLOSE),
        source=SOURCE,
        names=disclosure.COUNT_NAMES,
        **extra,
    )


def _year(v: str | None) -> int:
    if v and v.isdigit() and len(v) == 4:
        return int(v)
    return clock.today().year - 1


@pages.get("/fund/disclosure")
def officer_page(
    request: Request,
    year: str | None = None,
    done: str | None = None,
    p: Principal = Depends(Require(P.FUND_DISCLOSE, P.FUND_READ)),
    db: Session = DB,
):
    y = _year(year)
    return _officer_page(request, db, p, y, done=f"{y} 年度信息已公开。" if done else None)


@pages.post("/fund/disclosure/{year}/publish")
def publish(request: Request, year: YearPath, p: Principal = Depends(Require(P.FUND_DISCLOSE)), db: Session = DB):
    try:
        disclosure.publish(db, p, year)
    except DomainError as err:
        db.rollback()
        if err.status_code in (403, 404):
            raise
        if not 2000 <= year <= 2100:
            raise
        return _officer_page(request, db, p, year, status_code=err.status_code, error=err)
    return RedirectResponse(f"/fund/disclosure?year={year}&done=1", status_code=303)


@pages.get("/fund/disclosure/{year}/xlsx")
def export(year: YearPath, p: Principal = Depends(Require(P.FUND_DISCLOSE, P.FUND_READ)), db: Session = DB):
    d: Disclosure = disclosure.published(db, year)
    note = (
        f"公开阈值 {d.threshold} 人：人数或件数大于 0 且小于阈值的显示为“<{d.threshold}”；"
        "为防止推算而一并隐去的、以及对应人数少于阈值的金额显示为“—”。"
        f"发布时间 {clock.fmt(d.published_at)}。{SOURCE}"
    )
    names = disclosure.COUNT_NAMES
    f, t = d.figures, d.threshold
    headers = ["地区", *(names[k] for k in disclosure.COUNT_KEYS), names["platforms"], "待遇支出（元）"]

    def count(c):
        return c["value"] if c is not None and not c["mark"] else _count(c, t)

    def money(c):
        return xlsx.Money(c["value"]) if c is not None and c["value"] is not None else "—"

    def row(name, c):
        return [name, *(count(c.get(k)) for k in disclosure.COUNT_KEYS), c["platforms"], money(c["expenditure_fen"])]

    city_rows = [row(c["name"], c) for c in f["cities"]] + [row("全区合计", f["total"])]
    m = f["money"]
    money_rows = [[i["name"], "", xlsx.Money(i["amount_fen"])] for i in f["income"]]
    money_rows.append(["收入合计", "", xlsx.Money(m["income_fen"])])
    money_rows += [
        [i["name"], "" if i["people"] is None else count(i["people"]), money(i["amount_fen"])] for i in f["items"]
    ]
    money_rows += [
        ["支出合计", count(f["total"]["paid_people"]), xlsx.Money(m["expenditure_fen"])],
        ["上年结余", "", xlsx.Money(m["brought_forward_fen"])],
        ["年末结余", "", xlsx.Money(m["balance_fen"])],
    ]
    return xlsx.response(
        f"{year}年度职业伤害保障信息公开",
        [
            xlsx.Sheet(f"{year}年度参保与案件（按设区市）", headers, city_rows, note),
            xlsx.Sheet(f"{year}年度基金收支", ["项目", "领取待遇人数", "金额（元）"], money_rows, note),
        ],
    )
