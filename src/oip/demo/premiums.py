"""Demo premiums: declarations for the demo's months of orders, the first two sent to the tax bureau
through the file gateway, and synthetic tax returns for them — one platform paid late, one
underpaid, the others on time — so that the reconciliation worklist and the platforms' portal have
something to show. The last month stays a draft (what an officer sees before sending).

Each step carries the date it would have had (``demo.timeline``): a month is declared on the 2nd
of the next month and sent to the tax bureau on the 3rd; the platforms pay before (one after) the
due date; the tax bureau's returns arrive the day after the last payment. Never later than now,
and no payment before its declaration was sent. Reconciliation runs now, as of today.

Deterministic: the same ledger gives the same declarations, returns and flags."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oip.core import audit, clock
from oip.core.config import get_settings
from oip.core.errors import DomainError
from oip.core.months import first_day, next_month, parse_month
from oip.demo.timeline import at, moment
from oip.exchange import tax
from oip.premiums import reconciliation, service
from oip.premiums.models import Declaration, ReconciliationFlag

ACTOR = audit.SystemActor(label="demo")
PAID_LATE = "meituan"  # pays the first sent month 9 days after the due date
UNDERPAID = "didi"  # pays 80 % of the second sent month, on time
UNDERPAID_SHARE = 80


def _days_before(code: str, month: str) -> int:
    """A stable 1–8 days before the due date for the platforms that pay on time."""
    return 1 + hashlib.sha256(f"{code}/{month}".encode()).digest()[0] % 8


def generate(session: Session, months: list[str], *, tax_dir=None) -> dict:
    """Declare ``months`` (order months, oldest first); send the first two that are over; import
    the tax bureau's returns for them; reconcile. Commits (sending is committed before delivery)."""
    months = sorted(parse_month(m) for m in months)
    gw = tax.FileTaxGateway(tax_dir or get_settings().tax_path)
    today = clock.today()
    declared, not_declared, sent, sent_on = {}, {}, {}, {}
    sendable: list[str] = []
    for m in months:
        next_first = first_day(next_month(m))
        try:
            with at(moment(next_first + dt.timedelta(days=1), 9, 30)):
                res = service.declare(session, ACTOR, m)
        except DomainError as e:
            if e.field != "calendar":  # the deadline falls in a year whose holidays nobody loaded yet
                raise
            not_declared[m] = e.reason
            continue
        declared[m] = {
            "platforms": len(res.declarations),
            "orders": sum(d.orders for d in res.declarations),
            "total_fen": sum(d.total_fen for d in res.declarations),
        }
        if next_first <= today and len(sendable) < 2:
            sendable.append(m)
            with at(moment(next_first + dt.timedelta(days=2), 10, 15)) as when:
                sent[m] = service.send(session, ACTOR, m, gateway=gw).message_id
            sent_on[m] = clock.local(when).date()
    session.commit()

    records = []
    for i, m in enumerate(sendable):
        for d in session.scalars(
            select(Declaration).where(Declaration.month == m, Declaration.status.in_(service.SENT))
        ):
            code, due = d.platform.code, d.due_date
            paid, paid_on = d.total_fen, due - dt.timedelta(days=_days_before(d.platform.code, m))
            if code == PAID_LATE and i == 0:
                paid_on = due + dt.timedelta(days=9)
            elif code == UNDERPAID and i == len(sendable) - 1:
                paid = d.total_fen * UNDERPAID_SHARE // 100
            paid_on = max(min(paid_on, today), sent_on[m])
            declared_on = max(min(paid_on, due), sent_on[m])
            records.append(
                {
                    "uscc": d.platform.uscc,
                    "platform_code": code,
                    "month": m,
                    "declared_fen": d.total_fen,
                    "paid_fen": paid,
                    "declared_on": declared_on.isoformat(),
                    "paid_on": paid_on.isoformat(),
                    "tax_reference": f"DEMO-{m.replace('-', '')}-{code.upper()}",
                }
            )
    imported = 0
    if records:
        last_paid = max(dt.date.fromisoformat(r["paid_on"]) for r in records)
        with at(moment(last_paid + dt.timedelta(days=1), 8, 45)):
            body, sig = tax.returns_message(
                records, message_id=f"RET-DEMO-{sendable[0].replace('-', '')}", sender="gx-tax-demo"
            )
            gw.inbox.mkdir(parents=True, exist_ok=True)
            name = f"RET-DEMO-{'-'.join(m.replace('-', '') for m in sendable)}.json"
            (gw.inbox / name).write_bytes(body)
            (gw.inbox / f"{name}.sig").write_text(sig + "\n", encoding="ascii")
            rep = reconciliation.fetch_returns(session, ACTOR, gw)
            session.commit()
            rep.settle()
        imported = sum(r.records for r in rep.received)
    for m in sendable:
        reconciliation.reconcile(session, ACTOR, m)
    session.commit()
    flags = dict(
        session.execute(
            select(ReconciliationFlag.kind, func.count())
            .where(ReconciliationFlag.month.in_(sendable), ReconciliationFlag.status != "resolved")
            .group_by(ReconciliationFlag.kind)
        ).all()
    )
    return {
        "declared": declared,
        "not_declared": not_declared,
        "sent": sent,
        "returns_imported": imported,
        "open_flags": flags,
    }
