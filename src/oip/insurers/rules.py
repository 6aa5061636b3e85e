"""Pure rules of the register of insurer contracts: the services an insurer may be contracted
for, when a contract is in force, and which contracts collide (no database, no web).

A contract is in force on day ``d`` when ``valid_from <= d <= valid_to`` (both inclusive) and it
was not terminated before ``d``: ``terminated_on`` is the day the termination takes effect, so a
contract terminated on 2025-10-01 was last in force on 2025-09-30. Two contracts collide when they
share a city and a service and the days they are in force overlap — terminated contracts included
for the days they were in force, so that "who was contracted in this city for this service on this
day" always has at most one answer, for past days too."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

# The services a contract may cover (受托服务事项), in the order they are shown.
SERVICE_NAMES: dict[str, str] = {
    "investigation": "调查核实",
    "material_collection": "协助收集材料",
    "appraisal_support": "协助劳动能力鉴定",
    "payment_support": "协助待遇支付",
}
SERVICES = tuple(SERVICE_NAMES)

STATUS_NAMES: dict[str, str] = {"active": "履行中", "terminated": "已终止"}

ONE_DAY = dt.timedelta(days=1)


def service_names(services: Iterable[str]) -> list[str]:
    """The Chinese names of ``services``, in the canonical order."""
    chosen = set(services)
    return [SERVICE_NAMES[s] for s in SERVICES if s in chosen]


def clean_services(services: Iterable[str] | None) -> list[str]:
    """The services in canonical order, without duplicates; ValueError names what is wrong."""
    given = [str(s).strip() for s in (services or [])]
    unknown = [s for s in given if s not in SERVICE_NAMES]
    if unknown:
        allowed = "、".join(f"{k}（{v}）" for k, v in SERVICE_NAMES.items())
        raise ValueError(f"未知的服务事项 {'、'.join(unknown)}，应为：{allowed}")
    if not given:
        raise ValueError("请至少选择一项受托服务事项")
    return [s for s in SERVICES if s in given]


def last_day_in_force(valid_to: dt.date, terminated_on: dt.date | None) -> dt.date:
    """The last day a contract is in force: its end date, or the day before its termination."""
    if terminated_on is None:
        return valid_to
    return min(valid_to, terminated_on - ONE_DAY)


@dataclass(frozen=True)
class Term:
    """What the collision rule needs of a contract."""

    id: int | None
    document_no: str
    cities: frozenset[str]
    services: frozenset[str]
    valid_from: dt.date
    valid_to: dt.date
    terminated_on: dt.date | None = None

    @property
    def last_day(self) -> dt.date:
        return last_day_in_force(self.valid_to, self.terminated_on)

    def in_force(self, day: dt.date) -> bool:
        return self.valid_from <= day <= self.last_day


def periods_overlap(a_from: dt.date, a_to: dt.date, b_from: dt.date, b_to: dt.date) -> bool:
    """Whether two inclusive periods share a day (an empty period, to < from, shares none)."""
    return a_from <= a_to and b_from <= b_to and a_from <= b_to and b_from <= a_to


@dataclass(frozen=True)
class Collision:
    other: Term
    city: str
    service: str
    first_day: dt.date
    last_day: dt.date


def collisions(new: Term, others: Iterable[Term]) -> list[Collision]:
    """Where ``new`` would share a city, a service and days in force with another contract: one
    entry per (other contract, city, service), by city, service and contract."""
    out = []
    for o in others:
        if o.id is not None and o.id == new.id:
            continue
        if not periods_overlap(new.valid_from, new.last_day, o.valid_from, o.last_day):
            continue
        first, last = max(new.valid_from, o.valid_from), min(new.last_day, o.last_day)
        for city in sorted(new.cities & o.cities):
            for service in SERVICES:
                if service in new.services and service in o.services:
                    out.append(Collision(o, city, service, first, last))
    return out
