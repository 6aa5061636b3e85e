"""Approval limits by role (审批限额) — pure: the one reading of a "limits by role code" parameter.

A limits table maps a role code to the largest amount (fen) a checker of that role may approve;
``null`` (None) means no limit, and a role that is not listed may approve nothing. Determinations
(``benefit.approval_limits_fen``) and payment batches (``payment.approval_limits_fen``) keep one such
table each, as effective-dated, regional parameters.
"""

from __future__ import annotations

from typing import Any

from oip.core.errors import DomainError


def validate(value: Any) -> dict[str, int | None]:
    """A parameter value as a limits table, or DomainError (field ``value``) saying what is wrong."""
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


def limit_for(limits: dict[str, int | None], role_code: str) -> tuple[bool, int | None]:
    """(may the role approve at all, its limit in fen or None for no limit)."""
    if role_code not in limits:
        return False, 0
    return True, limits[role_code]


def within(limits: dict[str, int | None], role_code: str, amount_fen: int) -> bool:
    """May a checker of ``role_code`` approve ``amount_fen``?"""
    allowed, limit = limit_for(limits, role_code)
    return allowed and (limit is None or amount_fen <= limit)
