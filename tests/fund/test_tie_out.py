"""The demo province's ledger ties out to its business: once every pending event is posted, premium
income booked equals what the booked tax returns paid and benefit expenditure equals what the booked
payment lines paid less what was reversed — and both equal the sums taken straight from the source
tables. (In a session rolled back at the end: the shared database is left as it was.)"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from oip.fund import check, posting
from oip.payments.models import PaymentLine
from oip.premiums.models import TaxReturn


def test_the_demo_ledger_ties_out_to_tax_returns_and_payment_lines(db):
    paid_lines = db.scalar(select(sa.func.count()).where(PaymentLine.paid_on.is_not(None)))
    if not paid_lines:
        pytest.skip("the test database's demo has no paid benefits")
    posting.post_pending(db)
    assert posting.pending_count(db) == 0
    t = check.tie_out(db)
    assert t["premium_income_fen"] == t["tax_returns_paid_fen"]
    assert t["benefit_expenditure_fen"] == t["benefits_paid_fen"]
    assert t["benefits_paid_fen"] > 0

    # Straight from the source tables: every return that paid something (each makes an event)…
    returns = db.scalar(select(sa.func.coalesce(sa.func.sum(TaxReturn.paid_fen), 0)).where(TaxReturn.paid_fen > 0))
    assert t["premium_income_fen"] == returns
    # …and every line the bank paid, less the ones it sent back.
    paid = db.scalar(
        select(sa.func.coalesce(sa.func.sum(PaymentLine.amount_fen), 0)).where(PaymentLine.paid_on.is_not(None))
    )
    back = db.scalar(
        select(sa.func.coalesce(sa.func.sum(PaymentLine.amount_fen), 0)).where(PaymentLine.status == "reversed")
    )
    assert t["benefit_expenditure_fen"] == paid - back

    # And the whole check finds nothing wrong with what the demo booked.
    report = check.run(db)
    assert report.ok, report.problems[:10]
