"""The premium domain's effective-dated parameters (oip.reference.parameters keeps their values)."""

from __future__ import annotations

import re
from typing import Any

from oip.core.errors import DomainError
from oip.premiums.float_rules import parse_rules
from oip.reference.parameters import Definition, define

BILLABLE_STATUSES = "premium.billable_statuses"
PAYMENT_DUE_DAY = "premium.payment_due_day"
FLOAT_RULES = "premium.float_rules"

STATUS_PATTERN = re.compile(r"^[a-z][a-z_]{1,31}$")


def _statuses(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise DomainError('计费订单状态应为非空列表，如 ["completed"]', field="value")
    out: list[str] = []
    for v in value:
        if not isinstance(v, str) or not STATUS_PATTERN.match(v):
            raise DomainError(f"订单状态 {v!r} 无效：应为小写英文状态码，如 completed", field="value")
        if v in out:
            raise DomainError(f"订单状态 {v} 重复", field="value")
        out.append(v)
    return out


def _due_day(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 28:
        raise DomainError("缴费截止日应为 1 到 28 之间的整数（每月都有的日期）", field="value")
    return value


def _float_rules(value: Any) -> dict:
    parse_rules(value)  # the rules' own validation (pure module)
    return value


DEFAULT_FLOAT_RULES = {
    # [P] No public text states the bands; these defaults are the agency's to change (docs/interfaces
    # and the premiums page show them). 支缴率 = claims paid ÷ premiums of the previous year; the
    # band whose "upto" (inclusive) first covers the ratio gives the base k.
    "min_contribution_months": 12,
    "ratio_bands": [
        {"upto": "0.30", "k": -3},
        {"upto": "0.50", "k": -2},
        {"upto": "0.70", "k": -1},
        {"upto": "0.90", "k": 0},
        {"upto": "1.10", "k": 1},
        {"upto": "1.30", "k": 2},
        {"upto": "1.60", "k": 3},
        {"upto": "2.00", "k": 4},
        {"upto": None, "k": 5},
    ],
    # 职业伤害发生率: confirmed injuries per 10,000 insured workers in the year; adds to the base k.
    "injury_rate_bands": [{"upto": "20", "k": -1}, {"upto": "50", "k": 0}, {"upto": None, "k": 1}],
    "k_min": -5,
    "k_max": 5,
}

define(
    Definition(BILLABLE_STATUSES, "计费订单状态", ["completed"], _statuses, "按单计费：默认只计已完成订单 [P]"),
    Definition(
        PAYMENT_DUE_DAY,
        "申报缴费截止日（订单月份次月的第几日）",
        15,
        _due_day,
        "平台企业于订单月份次月 15 日前申报缴费 [P]",
    ),
    Definition(
        FLOAT_RULES,
        "年度费率浮动规则",
        DEFAULT_FLOAT_RULES,
        _float_rules,
        "按上年度支缴率和职业伤害发生率确定浮动档次 k（−5…+5）；缴费不满 12 个月的 k = 0 [P]",
    ),
)
