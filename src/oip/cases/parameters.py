"""The case domain's effective-dated parameters (oip.reference.parameters keeps their values).

Which value applies is decided by the case's own dates (the day of the injury for the application
limits, the day of acceptance for the decision limit), never by today. [S]/[P] as in domain.md §3."""

from __future__ import annotations

from typing import Any

from oip.core.errors import DomainError
from oip.reference.parameters import Definition, define

PLATFORM_APPLY_WORKING_DAYS = "case.platform_apply_working_days"
WORKER_APPLY_DAYS = "case.worker_apply_days"
DECISION_WORKING_DAYS = "case.decision_working_days"
SIMPLE_DECISION_WORKING_DAYS = "case.simple_decision_working_days"
ACCEPTANCE_WORKING_DAYS = "case.acceptance_working_days"
CORRECTION_DAYS = "case.correction_days"
INVESTIGATION_WORKING_DAYS = "case.investigation_working_days"
DUE_SOON_WORKING_DAYS = "case.due_soon_working_days"
APPEAL_REVIEW_DAYS = "case.appeal_review_days"
APPEAL_LITIGATION_MONTHS = "case.appeal_litigation_months"
APPEAL_OUTCOME_DAYS = "case.appeal_outcome_days"
DUPLICATE_WINDOW_HOURS = "case.duplicate_window_hours"


def _positive_int(limit: int):
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
            raise DomainError(f"应为 1 到 {limit} 之间的整数", field="value")
        return value

    return check


define(
    Definition(
        PLATFORM_APPLY_WORKING_DAYS,
        "平台企业申请确认的期限（事故发生后工作日）",
        3,
        _positive_int(60),
        "2022 年规定 3 个工作日 [S]；2025 年办法的取值未见公开文本 [P]",
    ),
    Definition(
        WORKER_APPLY_DAYS,
        "本人、近亲属或工会申请确认的期限（事故发生后日）",
        30,
        _positive_int(366),
        "[P] 平台企业未按期申请的，由本人、近亲属或工会申请",
    ),
    Definition(DECISION_WORKING_DAYS, "作出确认结论的期限（受理后工作日）", 30, _positive_int(120), "[S] 30 个工作日"),
    Definition(
        SIMPLE_DECISION_WORKING_DAYS,
        "事实清楚、权利义务明确的确认期限（受理后工作日）",
        7,
        _positive_int(60),
        "[S] 7 个工作日",
    ),
    Definition(ACCEPTANCE_WORKING_DAYS, "收到申请后作出受理决定的期限（工作日）", 5, _positive_int(30), "[P]"),
    Definition(CORRECTION_DAYS, "一次性补正材料的期限（日）", 30, _positive_int(180), "[P] 补正期间中止计算审查期限"),
    Definition(
        INVESTIGATION_WORKING_DAYS,
        "受托商业保险机构完成调查核实的期限（委托后工作日）",
        10,
        _positive_int(60),
        "[P]",
    ),
    Definition(DUE_SOON_WORKING_DAYS, "工作台“即将到期”的提前量（工作日）", 5, _positive_int(30), "[P]"),
    Definition(
        APPEAL_REVIEW_DAYS, "申请行政复议的期限（收到结论后日）", 60, _positive_int(366), "[S] 行政复议法第二十条"
    ),
    Definition(
        APPEAL_LITIGATION_MONTHS, "提起行政诉讼的期限（收到结论后月）", 6, _positive_int(24), "[S] 行政诉讼法第四十六条"
    ),
    Definition(
        APPEAL_OUTCOME_DAYS,
        "行政复议（诉讼）结果的预计期限（登记后日）",
        60,
        _positive_int(366),
        "[S] 行政复议法：60 日内作出决定",
    ),
    Definition(DUPLICATE_WINDOW_HOURS, "同一人重复报案的提示范围（小时，前后）", 24, _positive_int(240), "[P]"),
)
