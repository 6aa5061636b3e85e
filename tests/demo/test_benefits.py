"""The demo's benefits and payments (oip.demo.benefits), in the small province the tests generate:
determinations approved by somebody other than their maker, monthly schedules, paid batches with a
line that failed once (账户已销户) and was paid in a later batch, fast-lane claims paid within their
limits, a death with its dependants' pensions — and never more paid than determined, never twice."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select

from oip.benefits.models import Claim, Dependant, Determination, DeterminationLine, MonthlyBenefit, MonthlyRate, Payable
from oip.cases.models import Case
from oip.core import clock
from oip.demo import benefits as demo
from oip.payments.models import PayeeAccount, PaymentBatch, PaymentLine


def test_synthetic_cards_pass_luhn():
    import random

    from oip.payments.rules import luhn_ok

    rng = random.Random(3)
    for _ in range(200):
        number, bank = demo.synthetic_card(rng)
        assert len(number) == 19 and luhn_ok(number) and bank
        assert not luhn_ok(number[:-1] + str((int(number[-1]) + 1) % 10))
    assert demo.luhn_digit("7992739871") == "3"  # the textbook example


def _demo_cases(db) -> list[int]:
    return list(db.scalars(select(Determination.case_id).where(Determination.note.startswith(demo.DETERMINATION_NOTE))))


def _demo_claims(db) -> list[int]:
    return list(db.scalars(select(Claim.id).where(Claim.note.startswith(demo.CLAIM_NOTE))))


def test_demo_determinations_are_approved_by_a_checker(db):
    dets = db.scalars(
        select(Determination).where(
            Determination.status == "approved",
            (Determination.note.startswith(demo.DETERMINATION_NOTE)) | Determination.claim_id.in_(_demo_claims(db)),
        )
    ).all()
    benefits = [d for d in dets if d.purpose == "benefits"]
    kinds = {d.kind for d in benefits}
    assert {"injury", "death", "missing"} <= kinds
    assert all(d.approved_by is not None and d.approved_by != d.made_by for d in dets)
    assert all(d.letter_id is not None for d in benefits)
    grades = {d.inputs.get("grade") for d in benefits if d.kind == "injury"}
    assert {1, 2, 4} <= grades
    items = set(
        db.scalars(
            select(DeterminationLine.item).where(DeterminationLine.determination_id.in_([d.id for d in benefits]))
        )
    )
    assert {"disability_once", "disability_monthly", "nursing", "funeral", "dependants", "death_once"} <= items
    assert "death_once_advance" in items  # the missing person's half advanced


def test_demo_death_case_has_dependants_and_their_pensions(db):
    death = db.scalar(
        select(Case)
        .join(Determination, Determination.case_id == Case.id)
        .where(
            Case.kind == "death",
            Determination.status == "approved",
            Determination.note.startswith(demo.DETERMINATION_NOTE),
        )
        .limit(1)
    )
    assert death is not None
    deps = db.scalars(select(Dependant).where(Dependant.case_id == death.id)).all()
    assert {d.relation for d in deps} == {"spouse", "child", "parent"}
    assert any(d.orphan_or_lone_elderly for d in deps if d.relation == "parent")
    pensions = db.scalars(select(MonthlyBenefit).where(MonthlyBenefit.case_id == death.id)).all()
    assert {m.dependant_id for m in pensions} == {d.id for d in deps}
    child = next(d for d in deps if d.relation == "child")
    child_pension = next(m for m in pensions if m.dependant_id == child.id)
    assert child_pension.status == "stopped"  # turned 18 before today
    paid = db.scalars(
        select(Payable).where(Payable.case_id == death.id, Payable.kind == "monthly", Payable.status == "paid")
    ).all()
    assert {p.dependant_id for p in paid} == {d.id for d in deps}


def test_demo_monthly_schedules_run_to_today(db):
    today = clock.today()
    cases = _demo_cases(db)
    monthly = db.scalars(select(MonthlyBenefit).where(MonthlyBenefit.case_id.in_(cases))).all()
    assert {m.item for m in monthly} >= {"disability_monthly", "nursing", "dependants"}
    payables = db.scalars(select(Payable).where(Payable.kind == "monthly", Payable.case_id.in_(cases))).all()
    assert payables and max(p.period for p in payables) == today.replace(day=1)
    by_benefit = defaultdict(set)
    for p in payables:
        by_benefit[p.monthly_id].add(p.period)
    assert any(len(v) >= 2 for v in by_benefit.values())  # month by month, not one lump


def test_demo_batches_paid_with_a_failed_line_retried(db):
    batches = db.scalars(select(PaymentBatch).where(PaymentBatch.note.startswith(demo.BATCH_NOTE))).all()
    settled = [b for b in batches if b.status == "settled"]
    assert len(settled) >= 3 and all(b.approved_by != b.made_by and b.file_sha256 for b in settled)
    failed = db.scalars(
        select(PaymentLine).where(PaymentLine.status == "failed", PaymentLine.batch_id.in_([b.id for b in batches]))
    ).all()
    assert len(failed) == 1 and failed[0].failure_reason == demo.FAILED_REASON[1]
    retry = db.scalar(
        select(PaymentLine).where(PaymentLine.payable_id == failed[0].payable_id, PaymentLine.status == "paid")
    )
    assert retry is not None and retry.batch_id != failed[0].batch_id and retry.attempt == 2
    assert retry.account_id != failed[0].account_id
    old = db.get(PayeeAccount, failed[0].account_id)
    assert old.valid_to is not None and db.get(PayeeAccount, retry.account_id).reason.startswith("银行回盘")


def test_demo_fast_lane_claims_paid_within_their_limits(db):
    fast = db.scalars(select(Claim).where(Claim.fast_lane.is_(True), Claim.note.startswith(demo.CLAIM_NOTE))).all()
    assert len(fast) >= 2
    for c in fast:
        assert c.status == "approved", c.number
        det = db.scalar(select(Determination).where(Determination.claim_id == c.id, Determination.status == "approved"))
        assert det.approved_on <= c.confirm_due, c.number
        paid = db.scalars(select(Payable).where(Payable.claim_id == c.id)).all()
        assert paid and all(p.status == "paid" and p.paid_on <= c.pay_due for p in paid), c.number
        assert sum(p.amount_fen for p in paid) == c.accepted_fen
    left = db.scalars(
        select(Claim).where(Claim.fast_lane_left_reason.is_not(None), Claim.note.startswith(demo.CLAIM_NOTE))
    ).all()
    assert left and all("住院" in c.fast_lane_left_reason and c.status == "approved" for c in left)
    excluded = db.scalar(
        select(func.count())
        .select_from(Claim)
        .where(Claim.accepted_fen < Claim.claimed_fen, Claim.status == "approved")
    )
    assert excluded >= 1  # bills outside the catalogue are excluded and shown


def test_demo_never_pays_twice_or_above_the_determination(db):
    cases = _demo_cases(db) + list(db.scalars(select(Claim.case_id).where(Claim.note.startswith(demo.CLAIM_NOTE))))
    lines = db.scalars(select(PaymentLine).where(PaymentLine.status == "paid", PaymentLine.case_id.in_(cases))).all()
    assert lines
    per_payable = defaultdict(int)
    for x in lines:
        per_payable[x.payable_id] += 1
    assert max(per_payable.values()) == 1
    # Once items: paid per line (over every version) never above the approved line; months: never
    # above the month's rate.
    paid_once = defaultdict(int)
    paid_month = defaultdict(int)
    for p in db.scalars(select(Payable).where(Payable.status == "paid", Payable.case_id.in_(cases))):
        if p.kind == "once":
            paid_once[p.line_id] += p.amount_fen
        else:
            paid_month[(p.monthly_id, p.period)] += p.amount_fen
    for line_id, fen in paid_once.items():
        line = db.get(DeterminationLine, line_id)
        assert db.get(Determination, line.determination_id).status in ("approved", "superseded")
        assert fen <= line.amount_fen
    for (monthly_id, period), fen in paid_month.items():
        rates = db.scalars(
            select(MonthlyRate.amount_fen).where(MonthlyRate.monthly_id == monthly_id, MonthlyRate.from_month <= period)
        ).all()
        assert rates and fen <= max(rates)
    # Per case: paid never above what was approved (once items + the months owed).
    for case_id, paid in db.execute(
        select(PaymentLine.case_id, func.sum(PaymentLine.amount_fen))
        .where(PaymentLine.status == "paid", PaymentLine.case_id.in_(cases))
        .group_by(PaymentLine.case_id)
    ):
        approved_once = db.scalar(
            select(func.coalesce(func.sum(Determination.total_once_fen), 0)).where(
                Determination.case_id == case_id, Determination.status == "approved"
            )
        )
        months = sum(fen for (m, _), fen in paid_month.items() if db.get(MonthlyBenefit, m).case_id == case_id)
        assert paid <= approved_once + months


def test_demo_appraises_injuries_only(db):
    """A death or a missing person has no disability appraisal (the benefits follow from the dependants)."""
    from oip.appraisal.models import Appraisal
    from oip.demo.appraisal import DEMO_STATEMENT

    kinds = set(
        db.scalars(
            select(Case.kind).join(Appraisal, Appraisal.case_id == Case.id).where(Appraisal.statement == DEMO_STATEMENT)
        )
    )
    assert kinds == {"injury"}
