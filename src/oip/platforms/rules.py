"""The premium rate of a platform, pure (no database): the one place of the formula
缴费费率 = 基准额 × (1 + 0.10·k), k the yearly float (费率浮动档次), an integer in −5…+5."""

from __future__ import annotations

from decimal import Decimal

K_MIN, K_MAX = -5, 5          # the yearly float k (费率浮动档次)
FLOAT_STEP = Decimal("0.10")  # each step of k moves the rate by 10 % of the base


def rate_yuan(base: Decimal, k: int) -> Decimal:
    """The premium per order: 缴费费率 = 基准额 × (1 + 0.10·k), k an integer in −5…+5."""
    if isinstance(k, bool) or not isinstance(k, int) or not K_MIN <= k <= K_MAX:
        raise ValueError(f"k must be an integer in {K_MIN}…{K_MAX}, not {k!r}")
    return base * (1 + FLOAT_STEP * k)
