"""The appraisal's effective-dated parameters (oip.reference.parameters keeps their values).

Which value applies is decided by the appraisal's own dates (the acceptance day for the conclusion
period, the day the conclusion was received or made for the windows), never by today.
[S] 工伤保险条例 arts 25, 26, 28 (the benchmark, domain.md §4)."""

from __future__ import annotations

from typing import Any

from oip.core.errors import DomainError
from oip.reference.parameters import Definition, define

CONCLUSION_DAYS = "appraisal.conclusion_days"
EXTENSION_DAYS = "appraisal.extension_days"
REAPPRAISAL_WINDOW_DAYS = "appraisal.reappraisal_window_days"
REVIEW_AFTER_DAYS = "appraisal.review_after_days"


def _days(limit: int):
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
            raise DomainError(f"应为 1 到 {limit} 之间的整数（日）", field="value")
        return value

    return check


define(
    Definition(
        CONCLUSION_DAYS,
        "作出劳动能力鉴定结论的期限（受理后日）",
        60,
        _days(366),
        "[S] 工伤保险条例第二十五条：60 日内作出鉴定结论",
    ),
    Definition(
        EXTENSION_DAYS,
        "鉴定结论期限的延长（日，限一次）",
        30,
        _days(366),
        "[S] 工伤保险条例第二十五条：必要时可以延长 30 日",
    ),
    Definition(
        REAPPRAISAL_WINDOW_DAYS,
        "申请再次鉴定的期限（收到鉴定结论后日）",
        15,
        _days(366),
        "[S] 工伤保险条例第二十六条：收到鉴定结论之日起 15 日内向自治区劳动能力鉴定委员会申请再次鉴定",
    ),
    Definition(
        REVIEW_AFTER_DAYS,
        "可申请复查鉴定的时间（鉴定结论作出后日）",
        365,
        _days(3660),
        "[S] 工伤保险条例第二十八条：自鉴定结论作出之日起 1 年后可申请复查鉴定",
    ),
)
