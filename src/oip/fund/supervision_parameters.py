"""The parameters of fund supervision (oip.reference.parameters keeps their values).

``fund.major_report_hours`` — 要情报告时限（小时）: a major situation is to be reported within this
many hours of occurring; a report after it is marked late (迟报). Regional: a city may set its own.
[P] no public source states the hours for the pilot; 24 is the usual rule for major situations.

``fund.suspicious_large_fen`` — 大额一次性支付疑点阈值（分）: a one-off payment of at least this much
is listed as a suspicious item (疑点) when a 疑点核查 campaign opens. [P]
"""

from __future__ import annotations

from oip.core.errors import DomainError
from oip.fund import supervision_rules as rules
from oip.reference.parameters import Definition, define

MAJOR_REPORT_HOURS = "fund.major_report_hours"
LARGE_PAYMENT_FEN = "fund.suspicious_large_fen"


def _checked(fn):
    def validate(value):
        try:
            return fn(value)
        except rules.RuleError as err:
            raise DomainError(str(err), field="value") from None

    return validate


define(
    Definition(
        MAJOR_REPORT_HOURS,
        "要情报告时限（小时）",
        24,
        _checked(rules.validate_hours),
        "重大情况自发生起 24 小时内报告；超过时限报告的记为迟报 [P]",
        regional=True,
    ),
    Definition(
        LARGE_PAYMENT_FEN,
        "大额一次性支付疑点阈值（分）",
        50_000_000,
        _checked(rules.validate_fen),
        "单笔一次性待遇支付达到 50 万元的列为疑点，供疑点核查 [P]",
        regional=True,
    ),
)
