"""The approval limits of determinations (待遇核定审批限额) — an effective-dated, regional parameter.

``benefit.approval_limits_fen``: by role code, the largest determination a checker of that role may
approve, in fen; ``null`` means no limit; a role not listed may not approve at all. The amount
checked is ``total_once_fen + 12 × total_monthly_fen`` (the once items plus one year of the monthly
items). Which value applies is the one in force on the day of approval for the case's county.
"""

from __future__ import annotations

from typing import Any

from oip.core.errors import DomainError
from oip.reference.parameters import Definition, define

APPROVAL_LIMITS = "benefit.approval_limits_fen"

DEFAULT_LIMITS: dict[str, int | None] = {
    "si_county": 5_000_000,  # 50,000 yuan
    "si_city": 50_000_000,  # 500,000 yuan
    "si_region": None,  # no limit
}


def _limits(value: Any) -> dict[str, int | None]:
    if not isinstance(value, dict) or not value:
        raise DomainError('应为按角色代码的限额表（分），如 {"si_county": 5000000, "si_region": null}', field="value")
    out: dict[str, int | None] = {}
    for role, limit in value.items():
        if not isinstance(role, str) or not role.strip():
            raise DomainError("角色代码不能为空", field="value")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise DomainError(f"角色 {role} 的审批限额应为非负整数（分）或 null（不限）", field="value")
        out[role.strip()] = limit
    return out


define(
    Definition(
        APPROVAL_LIMITS,
        "待遇核定审批限额（按角色，分；null 为不限）",
        DEFAULT_LIMITS,
        _limits,
        "[P] 审批金额按一次性待遇合计加 12 个月的按月待遇计；未列出的角色不能审批",
        regional=True,
    ),
)
