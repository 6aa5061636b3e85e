"""The real path: an approved determination (待遇核定, the benefits domain) owes its once items as
payables; payments pays them and every paid fen traces back to the determination line and version,
never more than approved."""

from __future__ import annotations

from sqlalchemy import select

from oip.benefits.models import Payable
from oip.cases.models import Case
from oip.core.db import session_scope
from oip.payments import payees, service
from tests.benefits._det_support import act, determinable_case, open_det
from tests.payments.conftest import VALID_CARD, FakeBank, principal


def test_an_approved_determination_is_paid_once(client, tmp_path):
    cid = determinable_case(county="450125", grade=9)
    det = open_det(client, cid, user="nn_si")
    r = act(client, det, "submit", "nn_si")
    assert r.status_code == 200, r.text
    r = act(client, r.json(), "approve", "nn_si_check")
    assert r.status_code == 200, r.text
    det = r.json()
    with session_scope() as s:
        payees.register(
            s, principal(s, "nn_si"), cid, holder_name="测试人", bank_name="中国银行", card_number=VALID_CARD
        )
    with session_scope() as s:
        bid = service.make_batch(s, principal(s, "nn_si"), "450125").id
    with session_scope() as s:
        service.approve(s, principal(s, "gx_si"), bid)
    fake = FakeBank(tmp_path)
    for timeout in (True, False):
        fake.timeout_next = timeout
        with session_scope() as s:
            service.send(s, principal(s, "nn_si"), bid, fake)
    body, sig, name = fake.result_file()
    for _ in range(2):
        with session_scope() as s:
            service.import_result(s, principal(s, "nn_si"), body, sig, name)
    with session_scope() as s:
        case = s.get(Case, cid)
        lines = [service.line_dict(s, x) for x in service.case_lines(s, case)]
        assert lines and all(x["status"] == "paid" for x in lines)
        assert all(
            x["trace"]["determination_id"] == det["id"] and x["trace"]["determination_version"] == 1 for x in lines
        )
        paid = service.paid_total(s, cid)
        paid_payables = list(s.scalars(select(Payable).where(Payable.case_id == cid, Payable.status == "paid")))
        assert paid == sum(p.amount_fen for p in paid_payables) > 0
        assert sum(p.amount_fen for p in paid_payables if p.kind == "once") <= det["total_once_fen"]
    assert sum(fake.paid.values()) == paid
