"""The demo's insurer contracts, registered through the register's own service: every Guangxi city
is covered for investigation (调查核实) from the pilot's start, 2025-07-01 — 甲保险 (insurer-a) in
half of the cities, 乙保险 (insurer-b) in the other half — and one earlier contract of 乙保险,
terminated when the pilot's contracts began, as history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from oip.auth.models import User
from oip.auth.service import principal_for
from oip.core import clock
from oip.demo.timeline import at, moment
from oip.insurers import service

PILOT_START = dt.date(2025, 7, 1)

# Alternate cities by code, so that both insurers serve cities with demo officers (南宁, 桂林: 甲;
# 柳州: 乙).
INSURER_A_CITIES = ("450100", "450300", "450500", "450700", "450900", "451100", "451300")
INSURER_B_CITIES = ("450200", "450400", "450600", "450800", "451000", "451200", "451400")


def generate(session: Session, officer_user: User) -> int:
    """Register the demo contracts; returns how many."""
    officer = principal_for(session, officer_user, via="demo")
    # The pilot's contracts run two years past the current one, whatever day the demo is made.
    until = dt.date(max(clock.today().year + 2, 2027), 6, 30)
    with at(moment(dt.date(2024, 6, 20), 10, 0)):
        old = service.create(
            session,
            officer,
            insurer_code="insurer-b",
            document_no="桂社保委〔2024〕7号（演示）",
            services=["investigation"],
            cities=["450100", "450200"],
            valid_from=dt.date(2024, 7, 1),
            valid_to=dt.date(2026, 6, 30),
            notes="原工伤保险经办服务委托协议，包含新就业形态人员职业伤害调查（演示）。",
        )
    with at(moment(dt.date(2025, 6, 16), 15, 30)):
        service.terminate(
            session,
            officer,
            old.id,
            terminated_on=PILOT_START,
            reason="自治区统一招标确定新一轮受托机构，自 2025-07-01 起由新协议承接（演示）。",
        )
    with at(moment(dt.date(2025, 6, 20), 9, 40)):
        service.create(
            session,
            officer,
            insurer_code="insurer-a",
            document_no="桂社保委〔2025〕3号（演示）",
            services=["investigation", "material_collection"],
            cities=list(INSURER_A_CITIES),
            valid_from=PILOT_START,
            valid_to=until,
            notes="新就业形态人员职业伤害保障经办服务委托协议（演示）。",
        )
        service.create(
            session,
            officer,
            insurer_code="insurer-b",
            document_no="桂社保委〔2025〕4号（演示）",
            services=["investigation", "material_collection", "appraisal_support"],
            cities=list(INSURER_B_CITIES),
            valid_from=PILOT_START,
            valid_to=until,
            notes="新就业形态人员职业伤害保障经办服务委托协议（演示）。",
        )
    return 3
