"""The decisions of the monthly declaration and of reconciliation, pure (no database): the services
(oip.premiums.service.declare, oip.premiums.reconciliation.reconcile) load what they need, call
these, then write and audit what they return.

- ``plan_declaration``: a platform's declaration of a month — orders × rate, and the adjustments
  carried for earlier months already sent whose ledger count has changed since.
- ``same``: whether recomputed values equal the stored ones (by meaning: 0.0700 = 0.07).
- ``findings`` / ``figures`` / ``flag_transition``: a platform's month at reconciliation — the
  differences found (FLAG_NAMES of oip.premiums.models), the stored figures, what happens to each
  flag.
- ``statement_state``: where a sent month stands for the platform's portal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from oip.premiums import calc

# ---- the monthly declaration ------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """An earlier month of the platform already sent to the tax bureau, as accounted so far.

    ``earlier`` are its adjustments carried by other declarations (orders, fen); ``mine_orders``
    what the declaration being computed carried for it until now; ``recounted`` the ledger's
    billable count of that month now, or None when the ledger did not change since it was last
    counted."""

    id: int
    month: str
    orders: int
    amount_fen: int
    base_yuan: Decimal
    k: int
    rate_yuan: Decimal
    earlier: tuple[tuple[int, int], ...] = ()
    mine_orders: int = 0
    recounted: int | None = None


@dataclass(frozen=True)
class Adjustment:
    """Orders of an earlier month found since it was sent, billed at that month's rate."""

    origin_id: int
    origin_month: str
    orders: int
    rate_yuan: Decimal
    amount_fen: int


@dataclass
class DeclarationPlan:
    values: dict[str, Any]
    adjustments: list[Adjustment] = field(default_factory=list)


def adjustment(o: Origin) -> Adjustment | None:
    """The difference to carry for ``o``: the orders the ledger holds now minus those accounted
    (the month's first declaration and the adjustments of other declarations), and the amount at
    the month's base and k, rounded once on the month's new total."""
    acc_orders = o.orders + sum(n for n, _ in o.earlier)
    acc_fen = o.amount_fen + sum(f for _, f in o.earlier)
    now_orders = o.recounted if o.recounted is not None else acc_orders + o.mine_orders
    delta = now_orders - acc_orders
    if not delta:
        return None
    return Adjustment(o.id, o.month, delta, o.rate_yuan, calc.amount_fen(now_orders, o.base_yuan, o.k) - acc_fen)


def plan_declaration(
    *,
    orders: int,
    base_yuan: Decimal,
    k: int,
    covered_from: dt.date,
    statuses: Sequence[str],
    due_date: dt.date,
    origins: Sequence[Origin] = (),
) -> DeclarationPlan:
    """A platform's declaration of a month: ``orders`` billable orders at ``base_yuan`` × (1 + 0.1·k),
    plus the adjustments for its earlier sent months."""
    adjustments = [a for a in (adjustment(o) for o in origins) if a is not None]
    amount = calc.amount_fen(orders, base_yuan, k)
    adj_orders, adj_fen = sum(a.orders for a in adjustments), sum(a.amount_fen for a in adjustments)
    values = {
        "orders": orders,
        "base_yuan": base_yuan,
        "k": k,
        "rate_yuan": calc.rate(base_yuan, k),
        "amount_fen": amount,
        "adjustment_orders": adj_orders,
        "adjustment_fen": adj_fen,
        "total_fen": amount + adj_fen,
        "covered_from": covered_from,
        "billable_statuses": list(statuses),
        "due_date": due_date,
        "adjustments": [
            {"origin_month": a.origin_month, "orders": a.orders, "amount_fen": a.amount_fen} for a in adjustments
        ],
    }
    return DeclarationPlan(values, adjustments)


def _norm(v: Any) -> Any:
    """Values compared by meaning: 0.0700 and 0.07 are the same amount."""
    if isinstance(v, Decimal):
        return format(v.normalize(), "f")
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    return v


def same(a: dict, b: dict) -> bool:
    return _norm(a) == _norm(b)


def stray_warnings(
    by_group: dict[tuple[str, str, tuple], int], month: str, statuses: tuple[str, ...], declared: set[str]
) -> list[str]:
    """Billable orders in the ledger of platforms not covered in the month (not billed)."""
    stray: dict[str, int] = {}
    for (code, m, st), n in by_group.items():
        if m == month and st == statuses and code not in declared and n:
            stray[code] = stray.get(code, 0) + n
    return [
        f"台账中平台 {code} 在 {month} 有 {n:,} 单计费订单，但该平台当月未纳入保障，未计入核定"
        for code, n in sorted(stray.items())
    ]


# ---- reconciliation ---------------------------------------------------------------------------------


class Payment(Protocol):
    """What a tax return says (oip.premiums.models.TaxReturn has these)."""

    declared_fen: int
    paid_fen: int
    paid_on: dt.date | None


@dataclass
class Finding:
    detail: str
    amount_fen: int | None = None


def findings(
    *,
    due: int,
    due_date: dt.date | None,
    declared_orders: int | None,
    billable: int | None,
    returns: Sequence[Payment],
    today: dt.date,
    pending_adjustment: str | None,
) -> dict[str, Finding]:
    """The differences of one platform and month. ``due_date`` is the deadline already moved off rest
    days (calc.due_date)."""
    y = calc.yuan
    out: dict[str, Finding] = {}
    if declared_orders is not None and billable is not None and billable != declared_orders:
        diff = billable - declared_orders
        tail = f"，差额已计入 {pending_adjustment} 的核定（待推送）" if pending_adjustment else ""
        out["order_mismatch"] = Finding(
            f"台账现有计费订单 {billable:,} 单，已向税务推送 {declared_orders:,} 单，相差 {diff:+,} 单{tail}"
        )
    tax_declared = sum(r.declared_fen for r in returns)
    paid = sum(r.paid_fen for r in returns)
    if returns and tax_declared != due:
        out["declared_mismatch"] = Finding(
            f"平台企业在税务申报 {y(tax_declared)} 元，核定应缴 {y(due)} 元，相差 {y(tax_declared - due)} 元",
            tax_declared - due,
        )
    if due_date is not None and today > due_date and paid < due:
        out["arrears"] = Finding(
            f"截至 {today}，应缴 {y(due)} 元，已缴 {y(paid)} 元，欠缴 {y(due - paid)} 元（缴费截止日 {due_date}）",
            due - paid,
        )
    late = [
        r for r in returns if r.paid_fen > 0 and r.paid_on is not None and due_date is not None and r.paid_on > due_date
    ]
    if late:
        parts = "；".join(f"{r.paid_on} 缴费 {y(r.paid_fen)} 元，逾期 {(r.paid_on - due_date).days} 天" for r in late)
        out["late"] = Finding(f"缴费截止日 {due_date}：{parts}", sum(r.paid_fen for r in late))
    if paid > due:
        out["overpaid"] = Finding(f"应缴 {y(due)} 元，已缴 {y(paid)} 元，多缴 {y(paid - due)} 元", paid - due)
    return out


@dataclass(frozen=True)
class Figures:
    """What a reconciliation stores for a platform and month."""

    orders_reported: int
    orders_billable: int
    orders_declared: int
    due_fen: int
    tax_declared_fen: int
    paid_fen: int
    owed_fen: int
    due_date: dt.date | None
    last_paid_on: dt.date | None


def figures(
    *,
    reported: int,
    billable: int,
    declared_orders: int,
    due: int,
    due_date: dt.date | None,
    returns: Sequence[Payment],
) -> Figures:
    paid = sum(r.paid_fen for r in returns)
    return Figures(
        reported,
        billable,
        declared_orders,
        due,
        sum(r.declared_fen for r in returns),
        paid,
        max(0, due - paid),
        due_date,
        max((r.paid_on for r in returns if r.paid_fen > 0 and r.paid_on), default=None),
    )


def flag_transition(status: str | None, found: bool) -> str | None:
    """What happens to a flag of one kind: ``open`` (a new flag), ``reopen`` (it was resolved and is
    found again), ``update`` (still found: new detail), ``resolve`` (no longer found), or None."""
    if found:
        if status is None:
            return "open"
        return "reopen" if status == "resolved" else "update"
    return "resolve" if status is not None and status != "resolved" else None


def statement_state(
    *, total_fen: int, returns: Sequence[Payment], due_date: dt.date, today: dt.date
) -> tuple[str, int, int, bool]:
    """(state, paid, owed, overdue) of a sent month for the platform: 已缴清 / 待缴 / 欠费 / 逾期缴清 / 多缴."""
    paid = sum(r.paid_fen for r in returns)
    owed = max(0, total_fen - paid)
    overdue = today > due_date and owed > 0
    late = any(r.paid_fen > 0 and r.paid_on and r.paid_on > due_date for r in returns)
    if paid > total_fen:
        state = "多缴"
    elif owed == 0:
        state = "逾期缴清" if late else "已缴清"
    elif overdue:
        state = "欠费"
    else:
        state = "待缴"
    return state, paid, owed, overdue
