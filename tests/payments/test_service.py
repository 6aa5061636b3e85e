"""Payee accounts, batches with maker-checker, the bank file, result import, failures and
reversals, through the service (the fake bank behind the file adapter)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from oip.benefits.models import Payable
from oip.core.db import session_scope
from oip.core.errors import DomainError
from oip.payments import bank, payees, service
from oip.payments.models import BankFile, PayeeAccount, PaymentBatch, PaymentLine
from tests.payments.conftest import OTHER_CARD, VALID_CARD, FakeBank, owed_case, principal, statuses


def _batch(county, maker="nn_si", checker="nn_si_check"):
    with session_scope() as s:
        b = service.make_batch(s, principal(s, maker), county)
        bid = b.id
    with session_scope() as s:
        service.approve(s, principal(s, checker), bid)
    return bid


def _send(bid, fake, by="nn_si"):
    with session_scope() as s:
        out = service.send(s, principal(s, by), bid, fake)
        return out.ok, out.error


def _import(fake, by="nn_si", keys=None):
    body, sig, name = fake.result_file(keys)
    with session_scope() as s:
        return service.import_result(s, principal(s, by), body, sig, name).as_dict()


def test_payee_card_is_encrypted_masked_and_changed_only_with_a_reason():
    ids = owed_case(county="450107")
    with session_scope() as s:
        a = s.scalar(select(PayeeAccount).where(PayeeAccount.case_id == ids["case_id"]))
        assert a.card_masked == "6222 **** **** 5679"
        assert VALID_CARD.encode() not in a.card_enc and VALID_CARD[-8:].encode() not in a.card_enc
        assert payees.full_card(a) == VALID_CARD
        actor = principal(s, "nn_si")
        with pytest.raises(DomainError) as e:
            payees.change(
                s, actor, a.id, holder_name="测试人", bank_name="中国银行", card_number=OTHER_CARD, reason=" "
            )
        assert e.value.field == "reason"
        with pytest.raises(DomainError) as e:
            payees.register(s, actor, ids["case_id"], holder_name="x", bank_name="y", card_number=OTHER_CARD)
        assert e.value.status_code == 409
        with pytest.raises(DomainError) as e:
            payees.change(
                s,
                actor,
                a.id,
                holder_name="测试人",
                bank_name="中国银行",
                card_number="6217003810026897",
                reason="换卡",
            )
        assert "校验位" in e.value.reason
        new = payees.change(
            s, actor, a.id, holder_name="测试人", bank_name="中国银行", card_number=OTHER_CARD, reason="原卡挂失"
        )
        assert a.valid_to is not None and new.valid_to is None and new.reason == "原卡挂失"
        assert payees.current(s, ids["case_id"], payees.Payee(a.person_id, None)).id == new.id
        # A principal of another county does not see the case.
        with pytest.raises(DomainError) as e:
            payees.register(
                s, principal(s, "qx_si"), ids["case_id"], holder_name="x", bank_name="y", card_number=OTHER_CARD
            )
        assert e.value.status_code == 404


def test_a_payable_without_an_account_stays_on_the_worklist():
    with_acc = owed_case((30_000,), county="450108")
    without = owed_case((40_000,), county="450108", account=False)
    with session_scope() as s:
        actor = principal(s, "nn_si")
        b = service.make_batch(s, actor, "450108")
        keys = [x.payable_id for x in service.lines_of(s, b)]
        assert with_acc["payables"][0] in keys and without["payables"][0] not in keys
        assert all(x.idempotency_key.endswith("#1") and x.status == "pending" for x in service.lines_of(s, b))
        wl = service.worklist(s, actor, only="no_account")
        mine = [w for w in wl.page.items if w.payable.id == without["payables"][0]]
        assert mine and mine[0].problem == "无收款账户"
    assert statuses(with_acc["payables"]) == ["batched"]
    assert statuses(without["payables"]) == ["due"]


def test_maker_checker_and_the_approval_limit():
    big = owed_case((60_000_000,), county="450103")  # 600,000 yuan: above a city's limit
    with session_scope() as s:
        with pytest.raises(DomainError) as e:
            service.make_batch(s, principal(s, "qx_si"), "450103")
        assert e.value.status_code == 403  # a county office neither makes nor approves batches
        b = service.make_batch(s, principal(s, "nn_si"), "450103")
        bid = b.id
    with session_scope() as s:
        with pytest.raises(DomainError) as e:
            service.approve(s, principal(s, "nn_si"), bid)
        assert "本人" in e.value.reason and e.value.status_code == 403
    with session_scope() as s:
        with pytest.raises(DomainError) as e:
            service.approve(s, principal(s, "nn_si_check"), bid)
        assert "审批限额" in e.value.reason
    with session_scope() as s:
        b = service.approve(s, principal(s, "gx_si"), bid)  # the region's limit covers it
        assert b.status == "approved"
    assert statuses(big["payables"]) == ["batched"]


def test_send_timeout_resend_same_file_failure_retry_and_reversal(tmp_path):
    ids = owed_case((10_000, 20_000, 30_000), county="450109")
    fake = FakeBank(tmp_path)
    bid = _batch("450109")
    with session_scope() as s:
        keys = [x.idempotency_key for x in service.lines_of(s, s.get(PaymentBatch, bid))]
    fake.fail.add(keys[1])
    fake.timeout_next = True
    ok, err = _send(bid, fake)
    assert not ok and "超时" in err
    with session_scope() as s:
        b = s.get(PaymentBatch, bid)
        first_sha, first_body = b.file_sha256, b.file_content
        assert b.status == "approved" and b.send_attempts == 1
        assert {x.status for x in service.lines_of(s, b)} == {"pending"}
    # Re-sent: the same bytes with the same keys; the bank pays nothing twice.
    assert _send(bid, fake) == (True, None)
    with session_scope() as s:
        b = s.get(PaymentBatch, bid)
        assert b.file_sha256 == first_sha and b.file_content == first_body and b.status == "sent"
    assert fake.received[0] == fake.received[1]
    assert [x["idempotency_key"] for x in fake.received[0]["lines"]] == keys
    assert sum(fake.paid.values()) == 10_000 + 30_000
    # The batch file carries the full card number (the bank needs it) and is signed.
    assert VALID_CARD in fake.received[0]["lines"][0]["card_number"]
    assert bank.verify(
        first_body, (tmp_path / "outbox" / f"{fake.received[0]['header']['batch_number']}.json.sig").read_text()
    )

    res = _import(fake)
    assert (res["received"], res["applied"], res["duplicates"], res["rejected"]) == (3, 3, 0, 0)
    assert statuses(ids["payables"]) == ["paid", "due", "paid"]
    with session_scope() as s:
        assert s.get(PaymentBatch, bid).status == "settled"
        p = s.get(Payable, ids["payables"][1])
        assert "户名与卡号不符" in p.failure_reason
        wl = service.worklist(s, principal(s, "nn_si"), only="failed")
        assert any(w.payable.id == p.id and "户名与卡号不符" in w.problem for w in wl.page.items)
    # The same file again: nothing changes, every line a duplicate.
    body, sig, name = fake.result_file(keys, name="again.json")
    with session_scope() as s:
        first = service.import_result(s, principal(s, "nn_si"), body, sig, "again.json").as_dict()
    with session_scope() as s:
        dup = service.import_result(s, principal(s, "nn_si"), body, sig, "again-2.json").as_dict()
    assert first["applied"] == 0 and first["duplicates"] == 3  # a new file with old results
    assert dup["duplicate_file"] and dup["applied"] == 0 and dup["duplicates"] == 3
    assert statuses(ids["payables"]) == ["paid", "due", "paid"]

    # The failed one is retried in a later batch under attempt 2.
    fake.fail.clear()
    bid2 = _batch("450109")
    with session_scope() as s:
        lines2 = [x for x in service.lines_of(s, s.get(PaymentBatch, bid2)) if x.payable_id == ids["payables"][1]]
        assert [x.idempotency_key for x in lines2] == [keys[1].replace("#1", "#2")]
    assert _send(bid2, fake) == (True, None)
    _import(fake, keys=[keys[1].replace("#1", "#2")])
    assert statuses(ids["payables"]) == ["paid", "paid", "paid"]

    # A reversal from the bank: the payable is owed again, the next attempt pays it.
    fake.reverse(keys[0])
    res = _import(fake, keys=[keys[0]])
    assert res["applied"] == 1
    assert statuses(ids["payables"])[0] == "due"
    # An officer records a reversal too.
    with session_scope() as s:
        line = s.scalar(select(PaymentLine).where(PaymentLine.idempotency_key == keys[2]))
        with pytest.raises(DomainError):
            service.reverse(s, principal(s, "nn_si"), line.id, reason="")
        service.reverse(s, principal(s, "nn_si"), line.id, reason="收款人来电告知款项被退回")
    assert statuses(ids["payables"]) == ["due", "paid", "due"]
    with session_scope() as s:
        assert service.paid_total(s, ids["case_id"]) == 20_000


def test_result_file_signature_and_unknown_keys(tmp_path):
    owed_case((11_000,), county="450110")
    fake = FakeBank(tmp_path)
    bid = _batch("450110")
    _send(bid, fake)
    body, sig, name = fake.result_file()
    with session_scope() as s:
        with pytest.raises(DomainError) as e:
            service.import_result(s, principal(s, "nn_si"), body, "0" * 64, name)
        assert "签名" in e.value.reason
        with pytest.raises(DomainError):
            service.import_result(s, principal(s, "nn_si"), body + b" ", sig, name)
    rows = list(fake.results.values()) + [
        {"idempotency_key": "nope#1", "status": "paid", "paid_on": "2026-01-02"},
        {"idempotency_key": "x#1", "status": "weird"},
    ]
    body, sig = bank.result_file(None, rows)
    with session_scope() as s:
        res = service.import_result(s, principal(s, "nn_si"), body, sig, "mixed.json").as_dict()
    assert res["received"] == len(rows) == res["applied"] + res["duplicates"] + res["rejected"]
    assert res["rejected"] == 2 and any("没有这个幂等键" in p for p in res["problems"])
    with session_scope() as s:
        f = s.get(BankFile, res["bank_file_id"])
        assert f.direction == "in" and f.signature_ok and "status" in f.problems


def test_results_fetched_from_the_inbox_are_filed_away(tmp_path):
    owed_case((12_000,), county="450110")
    fake = FakeBank(tmp_path)
    bid = _batch("450110")
    _send(bid, fake)
    fake.result_file()
    with session_scope() as s:
        got = service.import_from_bank(s, principal(s, "nn_si"), fake)
        assert len(got) == 1 and got[0][1] is not None and got[0][2] is None
    for f, res, reason in got:
        fake.settle(f, res is not None, reason)
    assert list((tmp_path / "inbox" / "done").glob("*.json"))
    with session_scope() as s:
        assert s.get(PaymentBatch, bid).status == "settled"


def test_a_city_batch_takes_the_payables_of_its_counties():
    """The city agency pays for its counties: a batch for 桂林市 (450300) gathers 七星区's and 雁山区's."""
    a = owed_case((11_000,), county="450305", officer="gl_si")
    b = owed_case((12_000,), county="450311", officer="gl_si")
    with session_scope() as s:
        batch = service.make_batch(s, principal(s, "gl_si"), "450300")
        taken = {x.payable_id for x in service.lines_of(s, batch)}
    assert {a["payables"][0], b["payables"][0]} <= taken
    assert statuses(a["payables"]) == ["batched"] and statuses(b["payables"]) == ["batched"]
