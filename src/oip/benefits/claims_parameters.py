"""Parameters of claims and the fast lane (小伤快赔), effective-dated and regional.

Which value applies is decided by the claim's receipt day (``Claim.received_on``) and the case's
county, never by today. [P]: Guangxi's practice as the seed describes it (Beijing's 小伤快赔)."""

from __future__ import annotations

from typing import Any

from oip.core.errors import DomainError
from oip.reference.parameters import Definition, define

FAST_LANE_LIMIT_FEN = "benefit.fast_lane_limit_fen"
FAST_LANE_CONFIRM_WORKING_DAYS = "benefit.fast_lane_confirm_working_days"
FAST_LANE_PAY_WORKING_DAYS = "benefit.fast_lane_pay_working_days"


def _int_between(low: int, high: int):
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise DomainError(f"应为 {low} 到 {high} 之间的整数", field="value")
        return value

    return check


define(
    Definition(
        FAST_LANE_LIMIT_FEN,
        "小伤快赔的医疗费用上限（分，含本数）",
        300_000,
        _int_between(1, 100_000_000),
        "[P] 仅门诊治疗、无住院、未申请劳动能力鉴定，医疗费用不超过 3000 元",
        regional=True,
    ),
    Definition(
        FAST_LANE_CONFIRM_WORKING_DAYS,
        "小伤快赔作出确认的期限（收到申报后工作日）",
        2,
        _int_between(1, 30),
        "[P] 2 个工作日内确认",
        regional=True,
    ),
    Definition(
        FAST_LANE_PAY_WORKING_DAYS,
        "小伤快赔支付的期限（收到申报后工作日）",
        5,
        _int_between(1, 60),
        "[P] 5 个工作日内支付",
        regional=True,
    ),
)
