"""The premium rate, pure (no database): 缴费费率 = 基准额 × (1 + 0.10·k) (domain.md §2).

The one place of the rate formula; the register (oip.platforms.service) stores bases and floats,
the premium maths (oip.premiums.calc) multiplies by the orders.
"""

from __future__ import annotations

from decimal import Decimal

# Default base amount per order (缴费基准额, yuan) by industry, from 2025-07-01 (domain.md §2). Used when
# an applicant does not ask for another one; 即时配送 platforms paying 0.25 get their own rate.
DEFAULT_BASE_YUAN: dict[str, Decimal] = {
    "ride_hailing": Decimal("0.01"),
    "instant_delivery": Decimal("0.07"),
    "intracity_freight": Decimal("0.18"),
}
BASE_MAX = Decimal("10")  # a sanity bound: no base amount above 10 yuan per order
K_MIN, K_MAX = -5, 5  # the yearly float k (费率浮动档次)
FLOAT_STEP = Decimal("0.10")  # each step of k moves the rate by 10 % of the base


def rate_yuan(base: Decimal, k: int) -> Decimal:
    """The premium per order: 缴费费率 = 基准额 × (1 + 0.10·k), k an integer in −5…+5."""
    if isinstance(k, bool) or not isinstance(k, int) or not K_MIN <= k <= K_MAX:
        raise ValueError(f"k must be an integer in {K_MIN}…{K_MAX}, not {k!r}")
    return base * (1 + FLOAT_STEP * k)


def default_base(industry_code: str) -> Decimal | None:
    """The industry's default base amount, or None for an industry without one."""
    return DEFAULT_BASE_YUAN.get(industry_code)
