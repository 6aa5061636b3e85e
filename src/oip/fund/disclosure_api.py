"""JSON of the yearly public disclosure (/api/v1/public/fund/{year}): the figures as published,
for anyone (no sign-in). Suppressed cells carry no value, only their mark."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from oip.core import clock
from oip.core.web import DB, TransactionRoute, YearPath
from oip.fund import disclosure

api = APIRouter(route_class=TransactionRoute)


@api.get("/public/fund/{year}", tags=["public"], summary="职业伤害保障年度信息公开（已发布的汇总数据）")
def public_year(year: YearPath, db: Session = DB) -> dict:
    d = disclosure.published(db, year)
    return {
        "year": d.year,
        "published_at": clock.local(d.published_at).isoformat(),
        "threshold": d.threshold,
        "marks": {"small": f"大于 0 且小于 {d.threshold}，不予公开", "complement": "为防止推算而一并隐去"},
        "figures": d.figures,
    }
