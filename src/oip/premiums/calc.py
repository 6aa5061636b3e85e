"""Premium maths, pure (no database): amounts in integer fen, rates in Decimal yuan.

``amount due = orders × rate``, ``rate = base × (1 + 0.10·k)`` (domain.md §2; the rate formula
itself lives in one place, oip.platforms.rates.rate_yuan). The product is computed exactly in
Decimal and rounded half-up to the fen **once, on the month's total** — never per order, which
would bill 3 orders at 0.035 yuan as 3 × 4 = 12 fen instead of 10.5 → 11 fen.

Months are strings ``YYYY-MM`` (the month in which the orders were taken, Asia/Shanghai; oip.core.months).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, localcontext

from oip.core import money, workdays
from oip.core.errors import DomainError
from oip.core.months import first_day, next_month
from oip.platforms.rates import rate_yuan

_FEN = Decimal(100)


def rate(base_yuan: Decimal, k: int) -> Decimal:
    """Yuan per order (exact Decimal)."""
    return rate_yuan(Decimal(base_yuan), k)


def unrounded_fen(orders: int, base_yuan: Decimal, k: int) -> Decimal:
    """orders × rate in fen, exact."""
    if isinstance(orders, bool) or not isinstance(orders, int) or orders < 0:
        raise ValueError(f"orders must be a non-negative integer, not {orders!r}")
    with localcontext() as ctx:
        ctx.prec = 60  # exact for any realistic count and a base with 4 decimals
        return Decimal(orders) * rate(base_yuan, k) * _FEN


def amount_fen(orders: int, base_yuan: Decimal, k: int) -> int:
    """The amount due for ``orders`` orders in integer fen, rounded half-up once on the total."""
    with localcontext() as ctx:
        ctx.prec = 60
        return int(unrounded_fen(orders, base_yuan, k).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def due_date(month: str, due_day: int, calendar: workdays.Calendar | None = None) -> dt.date:
    """The day by which the orders of ``month`` are declared and paid: ``due_day`` of the next month,
    or the first working day after it when that is a rest day (税收征管法实施细则 art. 109) — on the
    official calendar (oip.core.workdays; a year it does not know is an error)."""
    first = first_day(next_month(month))
    return workdays.working_day_on_or_after(first.replace(day=due_day), calendar)


def yuan(fen: int | None) -> str:
    """Fen as yuan for people: 1234567 → "12,345.67"; None → ""."""
    return money.yuan(fen, none="")


def fen_of_yuan(text: object, field: str, label: str) -> int:
    """A yuan amount typed by a person ("12,345.67") as integer fen; more than two decimals, a
    negative amount or anything else is a Chinese error naming the field."""
    raw = str(text or "").strip().replace(",", "").replace("，", "")
    try:
        v = Decimal(raw)
    except ArithmeticError:
        v = None
    if v is None or not v.is_finite() or v < 0 or v.as_tuple().exponent < -2:
        raise DomainError(f"{label}应为以元为单位的非负金额，最多两位小数，如 12345.67", field=field)
    return int(v * _FEN)


def rate_str(rate_value: Decimal) -> str:
    """A rate without trailing zeros, at least two decimals: 0.08400 → "0.084"."""
    q = Decimal(rate_value).normalize()
    if q.as_tuple().exponent > -2:
        q = q.quantize(Decimal("0.01"))
    return f"{q:f}"
