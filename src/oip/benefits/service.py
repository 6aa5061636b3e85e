"""The calculator against the database (待遇计算服务): the rates in force for an event, and a quote.

``rates_for(session, day, region_code)`` resolves every parameter the calculator reads
(oip.benefits.calc.RATE_KEYS) with ``parameters.get_version`` for the **event date** and the region,
so each line can name the versions it used. ``quote_for(session, inp)`` validates the input (the
calculator's rules, and that the region exists) and calculates. Both only read.

The re-rating of a monthly benefit (调整, ``oip.benefits.monthly.requote``) quotes the determination's
own inputs again with ``rates_for`` the adjustment month.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.benefits import calc
from oip.core.errors import DomainError
from oip.reference import parameters
from oip.reference.models import Region


def rates_for(session: Session, day: dt.date, region_code: str) -> calc.Rates:
    """The value and version of every benefit parameter in force on ``day`` (the event date) for
    ``region_code`` (a province, city or county code; the most specific value in force wins)."""
    values, versions = {}, {}
    for key in calc.RATE_KEYS:
        v = parameters.get_version(session, key, day, region_code)
        values[key] = v.value
        versions[key] = v.version
    return calc.Rates(event_date=day, region_code=region_code, values=values, versions=versions)


def check_region(session: Session, region_code: str, day: dt.date | None = None) -> Region:
    """The Guangxi region with this code (6 digits, or the 2/4-digit prefix of a province or city)."""
    code = (region_code or "").strip()
    full = {2: code + "0000", 4: code + "00", 6: code}.get(len(code), "")
    region = session.get(Region, full) if full.isdigit() else None
    if region is None or not full.startswith("45"):
        raise DomainError(f"行政区划代码（region_code）{code} 不是广西的行政区划", field="region_code")
    if day is not None and (region.valid_from > day or (region.valid_to is not None and region.valid_to < day)):
        raise DomainError(
            f"行政区划（region_code）{region.name}（{region.code}）在事件日期 {day.isoformat()} 不存在",
            field="region_code",
        )
    return region


def quote_for(session: Session, inp: calc.QuoteInput) -> calc.Quote:
    """The trial calculation (待遇试算) of ``inp``: its lines under the parameters in force on the event
    date for its region. Raises DomainError naming the field for bad input."""
    calc.validate(inp)
    check_region(session, inp.region_code, inp.event_date)
    return calc.quote(inp, rates_for(session, inp.event_date, inp.region_code))


def regions(session: Session) -> list[Region]:
    """Guangxi's province, cities and counties in code order (for the region picker)."""
    return list(session.scalars(select(Region).where(Region.code.like("45%")).order_by(Region.code)))
