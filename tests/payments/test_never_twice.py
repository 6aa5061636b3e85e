"""Never paid twice (property test): any sequence of making, approving, sending (with timeouts
after the bank received the file), re-sending, importing results (again and again), failures,
reversals (by the bank or an officer) and retries never pays a payable twice — at most one live
line and one paid line per payable, the bank's money per payable never above what is owed — and
what is paid per case never exceeds the approved determination."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from oip.benefits import payables
from oip.benefits.models import Determination, DeterminationLine, Payable
from oip.cases.models import Case
from oip.core import clock
from oip.core.db import session_scope
from oip.core.errors import DomainError
from oip.payments import service
from oip.payments.models import PaymentBatch, PaymentLine
from tests.payments.conftest import FakeBank, owed_case, principal

COUNTY = "450102"
_state: dict = {}


def _world() -> dict:
    if not _state:
        _state["cases"] = [owed_case((1_000,), county=COUNTY)["case_id"] for _ in range(2)]
        _state["bank"] = FakeBank(Path(tempfile.mkdtemp(prefix="oip-fake-bank-")))
        _state["n"] = 0
    return _state


def _owe(case_id: int, amounts: list[int]) -> None:
    """One more approved determination on the case owing ``amounts`` to the worker."""
    _state["n"] += 1
    with session_scope() as s:
        case = s.get(Case, case_id)
        det = Determination(
            case_id=case_id,
            status="approved",
            event_date=clock.today(),
            region_code=COUNTY,
            kind="injury",
            inputs={},
            total_once_fen=sum(amounts),
            made_at=clock.now(),
        )
        s.add(det)
        s.flush()
        for i, amt in enumerate(amounts):
            line = DeterminationLine(
                determination_id=det.id,
                position=i,
                item=("medical", "meal_subsidy", "disability_once")[i],
                proposed_fen=amt,
                amount_fen=amt,
                formula="测试",
            )
            s.add(line)
            s.flush()
            payables.add(
                s,
                line=line,
                case_id=case_id,
                amount_fen=amt,
                key=f"prop{_state['n']}:{line.id}",
                due_on=clock.today(),
                region_code=COUNTY,
                person_id=case.person_id,
            )


def _batches(status: str) -> list[int]:
    with session_scope() as s:
        return list(
            s.scalars(select(PaymentBatch.id).where(PaymentBatch.region_code == COUNTY, PaymentBatch.status == status))
        )


def _do(op: tuple, bank: FakeBank) -> None:
    kind = op[0]
    if kind == "make":
        with session_scope() as s:
            try:
                service.make_batch(s, principal(s, "nn_si"), COUNTY)
            except DomainError:
                s.rollback()
    elif kind == "approve":
        for bid in _batches("draft"):
            with session_scope() as s:
                service.approve(s, principal(s, "nn_si_check"), bid)
    elif kind in ("send", "resend"):
        ids = _batches("approved") + (_batches("sent") if kind == "resend" else [])
        for bid in ids:
            if op[1]:  # fail some of the batch's keys
                with session_scope() as s:
                    keys = [x.idempotency_key for x in service.lines_of(s, s.get(PaymentBatch, bid))]
                bank.fail.update(keys[:: op[1] + 1])
            bank.timeout_next = op[2]
            with session_scope() as s:
                service.send(s, principal(s, "nn_si"), bid, bank)
    elif kind == "import":
        body, sig, name = bank.result_file()
        for _ in range(op[1] + 1):  # the same file imported again changes nothing
            with session_scope() as s:
                r = service.import_result(s, principal(s, "nn_si"), body, sig, name)
                assert r.received == r.applied + r.duplicates + r.rejected
    elif kind == "bank_reversal":
        paid = [k for k, r in bank.results.items() if r["status"] == "paid"]
        if paid:
            bank.reverse(paid[op[1] % len(paid)])
    elif kind == "officer_reversal":
        with session_scope() as s:
            line = s.scalar(
                select(PaymentLine)
                .join(PaymentBatch, PaymentBatch.id == PaymentLine.batch_id)
                .where(PaymentBatch.region_code == COUNTY, PaymentLine.status == "paid")
                .order_by(PaymentLine.id)
                .offset(op[1])
                .limit(1)
            )
            if line is not None:
                service.reverse(s, principal(s, "nn_si"), line.id, reason="收款人报告款项被退回")
                bank.paid[line.idempotency_key] = 0  # the money came back to the fund
                bank.results[line.idempotency_key] = {
                    "idempotency_key": line.idempotency_key,
                    "status": "reversed",
                    "reversed_on": clock.today().isoformat(),
                    "reversal_reason": "收款人报告款项被退回",
                }
    elif kind == "clear_failures":
        bank.fail.clear()


def _check(bank: FakeBank) -> None:
    with session_scope() as s:
        for p in s.scalars(select(Payable).where(Payable.region_code == COUNTY)):
            lines = list(s.scalars(select(PaymentLine).where(PaymentLine.payable_id == p.id)))
            live = [x for x in lines if x.status in ("pending", "sent", "paid")]
            paid = [x for x in lines if x.status == "paid"]
            assert len(live) <= 1, p.key
            assert sum(x.amount_fen for x in paid) <= p.amount_fen, p.key
            assert (p.status == "paid") == (len(paid) == 1), (p.key, p.status, [x.status for x in lines])
            assert (p.status == "batched") == (len(live) == 1 and live[0].status != "paid")
            # The bank's own ledger: what left the bank for this payable, net of what came back.
            assert sum(bank.paid.get(x.idempotency_key, 0) for x in lines) <= p.amount_fen, p.key
        for case_id in _state["cases"]:
            owed = s.scalar(
                select(func.coalesce(func.sum(DeterminationLine.amount_fen), 0))
                .join(Determination, Determination.id == DeterminationLine.determination_id)
                .where(Determination.case_id == case_id, Determination.status == "approved")
            )
            assert service.paid_total(s, case_id) <= owed


OPS = st.one_of(
    st.just(("make",)),
    st.just(("approve",)),
    st.tuples(st.just("send"), st.integers(0, 2), st.booleans()),
    st.tuples(st.just("resend"), st.integers(0, 2), st.booleans()),
    st.tuples(st.just("import"), st.integers(0, 1)),
    st.tuples(st.just("bank_reversal"), st.integers(0, 5)),
    st.tuples(st.just("officer_reversal"), st.integers(0, 5)),
    st.just(("clear_failures",)),
)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    amounts=st.lists(st.integers(1, 500_000), min_size=1, max_size=3),
    which=st.integers(0, 1),
    ops=st.lists(OPS, min_size=1, max_size=12),
)
def test_no_sequence_pays_twice(amounts, which, ops):
    world = _world()
    bank = world["bank"]
    _owe(world["cases"][which], amounts)
    for op in ops:
        _do(op, bank)
        _check(bank)


def test_a_short_worked_sequence():
    """The same machinery on one fixed sequence (fast, not marked slow): a timeout after the bank
    received the file, a re-send, results imported twice, a reversal and a retry."""
    world = _world()
    bank = world["bank"]
    _owe(world["cases"][0], [7_000, 8_000])
    for op in [
        ("make",),
        ("approve",),
        ("send", 0, True),
        ("resend", 0, False),
        ("import", 1),
        ("bank_reversal", 0),
        ("import", 0),
        ("make",),
        ("approve",),
        ("send", 0, False),
        ("import", 1),
    ]:
        _do(op, bank)
        _check(bank)
    with session_scope() as s:
        assert s.scalar(select(func.count()).where(Payable.region_code == COUNTY, Payable.status == "paid")) >= 2
