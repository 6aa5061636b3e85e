"""The page of the trial calculation (待遇试算, /benefits/quote): a form (event date, region by name,
kind, grade, self-care, dependants' rows, bills' rows) that shows the calculator's lines with their
formulas and parameter versions. For every holder of benefit.quote, the worker portal included."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.benefits import calc, service
from oip.core import clock, layout
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.web import DB, TransactionRoute
from oip.reference import parameters
from oip.reference.models import Region

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(layout.NavItem("待遇试算", "/benefits/quote", P.BENEFIT_QUOTE, order=62))

DEPENDANT_ROWS = 5
BILL_ROWS = 8
GRADES = [("", "未评定 / 不适用")] + [(str(n), f"{calc.GRADE_NAMES[n]}伤残") for n in range(1, 11)]
BILL_KIND_NAMES = {"medical": "医疗费", "rehab": "康复费", "devices": "辅助器具"}


async def form_data(request: Request) -> FormData:
    return await request.form()


def _regions(regions: list[Region], day: dt.date) -> list[tuple[str, list[tuple[str, str]]]]:
    """Guangxi by city for the region picker: [(group, [(code, name), …]), …]."""
    live = [r for r in regions if r.valid_from <= day and (r.valid_to is None or r.valid_to >= day)]
    groups: list[tuple[str, list[tuple[str, str]]]] = [
        ("全区", [(r.code, r.name) for r in live if r.level == "province"])
    ]
    for city in (r for r in live if r.level == "city"):
        counties = [
            (r.code, f"{city.name}{r.name}") for r in live if r.level == "county" and r.parent_code == city.code
        ]
        groups.append((city.name, [(city.code, f"{city.name}（全市）"), *counties]))
    return groups


def _int(value: str, field: str, label: str) -> int | None:
    v = value.strip()
    if not v:
        return None
    if not v.isdigit() or len(v) > 6:
        raise DomainError(f"{label}应为不小于 0 的整数", field=field)
    return int(v)


def _fen(value: str, field: str, label: str) -> int | None:
    v = value.strip().replace(",", "")
    if not v:
        return None
    try:
        y = Decimal(v)
    except InvalidOperation:
        raise DomainError(f"{label}应为金额（元），如 1234.56", field=field) from None
    if not y.is_finite() or y < 0 or y != y.quantize(Decimal("0.01")) or y > calc.MAX_BILL_FEN / 100:
        raise DomainError(f"{label}应为不小于 0、最多两位小数的金额（元）", field=field)
    return int(y * 100)


def parse(form: dict[str, str]) -> calc.QuoteInput:
    """The form as the calculator's input; a DomainError naming the form's field when it is malformed."""
    raw_day = form.get("event_date", "").strip()
    try:
        day = dt.date.fromisoformat(raw_day)
    except ValueError:
        raise DomainError("请选择事件日期（受伤、死亡或失踪之日）", field="event_date") from None
    grade = _int(form.get("grade", ""), "grade", "伤残等级")
    dependants = []
    for i in range(DEPENDANT_ROWS):
        relation = form.get(f"dep_relation_{i}", "").strip()
        if relation:
            dependants.append(calc.DependantIn(relation, form.get(f"dep_orphan_{i}") == "1", ref=i))
    bills = []
    for i in range(BILL_ROWS):
        amount = _fen(form.get(f"bill_amount_{i}", ""), f"bill_amount_{i}", f"第 {i + 1} 张票据的金额")
        if amount is not None:
            bills.append(
                calc.BillIn(
                    amount,
                    form.get(f"bill_catalogue_{i}", "1") == "1",
                    form.get(f"bill_ref_{i}", "").strip()[:64] or f"第 {i + 1} 张",
                    form.get(f"bill_kind_{i}", "medical"),
                )
            )
    return calc.QuoteInput(
        event_date=day,
        region_code=form.get("region_code", "").strip(),
        kind=form.get("kind", "").strip(),
        grade=grade,
        self_care=form.get("self_care", "none").strip() or "none",
        dependants=tuple(dependants),
        medical_bills=tuple(bills),
        hospital_days=_int(form.get("hospital_days", ""), "hospital_days", "住院天数") or 0,
    )


def version_words(version: str, names: dict[str, str]) -> str:
    """``benefit.base_monthly_fen@2025-07-01/4501`` in words: the parameter's label, from when, where."""
    key, _, rest = version.partition("@")
    default = rest.endswith("（默认值）")
    rest = rest.removesuffix("（默认值）")
    since, _, region = rest.partition("/")
    d = parameters.DEFINITIONS.get(key)
    label = d.label if d else key
    where = names.get(region.ljust(6, "0"), region) if region else "全区通用"
    return f"{label}：{since} 起（{where}{'，默认值' if default else ''}）"


def _rows(quote: calc.Quote, names: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "item": x.item,
            "name": x.name,
            "yuan": calc.yuan(x.amount_fen),
            "monthly": x.monthly,
            "starts_on": x.starts_on,
            "formula": x.formula,
            "parameters": [(version_words(v, names), v) for v in x.parameters],
            "excluded": [(b["ref"], calc.yuan(b["amount_fen"])) for b in x.detail.get("excluded", [])],
        }
        for x in quote.lines
    ]


def _page(request: Request, db: Session, values: dict[str, str], quote=None, error=None):
    today = clock.today()
    regions = service.regions(db)
    return render(
        request,
        "benefit_quote.html",
        status_code=error.status_code if error else 200,
        title="待遇试算",
        values=values,
        regions=_regions(regions, today),
        kinds=calc.KIND_NAMES,
        grades=GRADES,
        self_care=calc.SELF_CARE_NAMES,
        relations=calc.RELATION_NAMES,
        bill_kinds=BILL_KIND_NAMES,
        dep_rows=range(DEPENDANT_ROWS),
        bill_rows=range(BILL_ROWS),
        rows=_rows(quote, {r.code: r.name for r in regions}) if quote else None,
        total_once=calc.yuan(quote.total_once_fen) if quote else None,
        total_monthly=calc.yuan(quote.total_monthly_fen) if quote else None,
        error=error,
        pilot_start=calc.PILOT_START,
    )


@pages.get("/benefits/quote")
def quote_form(request: Request, p: Principal = Depends(Require(P.BENEFIT_QUOTE)), db: Session = DB):
    return _page(request, db, {"event_date": clock.today().isoformat(), "region_code": "450000", "kind": "injury"})


@pages.post("/benefits/quote")
def quote_submit(
    request: Request,
    p: Principal = Depends(Require(P.BENEFIT_QUOTE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    try:
        result = service.quote_for(db, parse(values))
    except DomainError as e:
        return _page(request, db, values, error=DomainError(e.reason, field=e.field))
    return _page(request, db, values, quote=result)
