"""The parameters of payment (oip.reference.parameters keeps their values).

``payment.approval_limits_fen`` — 支付批次审批限额: the largest batch total (fen) each role may
approve, by role code (``null``: no limit); a role not named may approve no batch (read by
oip.auth.limits). Regional: a city may set its own."""

from __future__ import annotations

from oip.auth import limits
from oip.reference.parameters import Definition, define

APPROVAL_LIMITS = "payment.approval_limits_fen"


define(
    Definition(
        APPROVAL_LIMITS,
        "支付批次审批限额（按角色，分）",
        {"si_city": 50_000_000, "si_region": 1_000_000_000},
        limits.validate,
        "设区市社保经办机构 50 万元、自治区社保中心 1,000 万元（县级经办机构不制作、不审批支付批次）；超过限额的批次须由上级经办机构审批",
        regional=True,
    )
)
