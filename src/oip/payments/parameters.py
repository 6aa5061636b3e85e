"""The parameters of payment (oip.reference.parameters keeps their values).

``payment.approval_limits_fen`` — 支付批次审批限额: the largest batch total (fen) each role may
approve, by role code; a role not named may approve no batch. Regional: a city may set its own."""

from __future__ import annotations

from typing import Any

from oip.core.errors import DomainError
from oip.reference.parameters import Definition, define

APPROVAL_LIMITS = "payment.approval_limits_fen"


def _limits(value: Any) -> dict[str, int]:
    if not isinstance(value, dict) or not value:
        raise DomainError('应为按角色代码给出的限额，如 {"si_city": 50000000}', field="value")
    out = {}
    for role, limit in value.items():
        if not isinstance(role, str) or not role:
            raise DomainError("角色代码应为非空文字", field="value")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise DomainError(f"{role} 的限额应为不小于零的整数（分）", field="value")
        out[role] = limit
    return out


define(
    Definition(
        APPROVAL_LIMITS,
        "支付批次审批限额（按角色，分）",
        {"si_city": 50_000_000, "si_region": 1_000_000_000},
        _limits,
        "设区市社保经办机构 50 万元、自治区社保中心 1,000 万元（县级经办机构不制作、不审批支付批次）；超过限额的批次须由上级经办机构审批",
        regional=True,
    )
)
