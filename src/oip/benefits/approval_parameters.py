"""The approval limits of determinations (待遇核定审批限额) — an effective-dated, regional parameter.

``benefit.approval_limits_fen``: by role code, the largest determination a checker of that role may
approve, in fen; ``null`` means no limit; a role not listed may not approve at all. The amount
checked is ``total_once_fen + 12 × total_monthly_fen`` (the once items plus one year of the monthly
items). Which value applies is the one in force on the day of approval for the case's county.
"""

from __future__ import annotations

from oip.auth import limits
from oip.reference.parameters import Definition, define

APPROVAL_LIMITS = "benefit.approval_limits_fen"

DEFAULT_LIMITS: dict[str, int | None] = {
    "si_county": 5_000_000,  # 50,000 yuan
    "si_city": 50_000_000,  # 500,000 yuan
    "si_region": None,  # no limit
}


define(
    Definition(
        APPROVAL_LIMITS,
        "待遇核定审批限额（按角色，分；null 为不限）",
        DEFAULT_LIMITS,
        limits.validate,
        "[P] 审批金额按一次性待遇合计加 12 个月的按月待遇计；未列出的角色不能审批",
        regional=True,
    ),
)
