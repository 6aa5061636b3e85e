"""The HTTP gateway against a real local tax service: delivery, retries, the outbox replay, returns."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from oip.exchange import service as exchange, tax
from oip.exchange.models import ExchangeMessage, OutboxItem
from oip.premiums import reconciliation, service
from oip.premiums.models import Declaration, TaxReturn
from tests.premiums.conftest import make_platform, orders, publish


def _gw(bureau, attempts=3):
    return tax.HttpTaxGateway(bureau.url, timeout=5, attempts=attempts, backoff=0.01)


def _delivery(res, mid):
    [d] = [d for d in res.deliveries if d.item.message_id == mid]
    return d


@pytest.fixture(autouse=True)
def clean_outbox(db):
    """Every test here leaves nothing undelivered, so each starts with an empty outbox."""
    assert not exchange.undelivered(db, "tax"), "a test left an undelivered message in the outbox"
    yield


def _decl(db, p, month) -> Declaration:
    return db.scalar(select(Declaration).where(Declaration.platform_id == p.id, Declaration.month == month))


def test_declarations_are_posted_signed_and_a_500_is_retried(db, si, tax_bureau):
    p = make_platform(db)
    publish(db, p, "2025-10", orders("h", 40))
    tax_bureau.fail_next = 1  # the first attempt answers 500, the retry succeeds
    res = service.send(db, si, "2025-10", platforms_=[p.code], gateway=_gw(tax_bureau))
    mid = res.message_id
    assert _delivery(res, mid).ok and mid in tax_bureau.received
    assert [m for m, _ in tax_bureau.requests] == ["POST", "POST"]
    assert tax_bureau.received[mid]["records"][0]["total_fen"] == 280
    item = db.scalar(select(OutboxItem).where(OutboxItem.message_id == mid))
    assert item.status == "sent" and item.receipt["reference"].startswith("RCPT-")
    assert item.receipt["location"] == f"{tax_bureau.url}/declarations"
    assert _decl(db, p, "2025-10").status == "sent"
    # the receiver ignores a replay of the same message id (409 duplicate counts as delivered)
    again = _gw(tax_bureau).send(tax.SignedMessage(mid, item.filename, item.payload, item.signature))
    assert again.message_id == mid and len(tax_bureau.received) == len({*tax_bureau.received})


def test_a_failed_delivery_stays_in_the_outbox_and_is_replayed(db, si, tax_bureau):
    p = make_platform(db)
    publish(db, p, "2025-11", orders("h", 10))
    tax_bureau.fail_next = 3  # every attempt of this send fails
    res = service.send(db, si, "2025-11", platforms_=[p.code], gateway=_gw(tax_bureau, attempts=3))
    mid = res.message_id
    delivery = _delivery(res, mid)
    assert not delivery.ok and "HTTP 500" in delivery.error and "已尝试 3 次" in delivery.error
    item = db.scalar(select(OutboxItem).where(OutboxItem.message_id == mid))
    assert (item.status, item.attempts) == ("failed", 1)
    assert _decl(db, p, "2025-11").status == "queued"  # frozen, not yet sent
    failed = db.scalar(
        select(ExchangeMessage).where(ExchangeMessage.message_id == mid, ExchangeMessage.status == "failed")
    )
    assert "HTTP 500" in failed.error and failed.meta["retryable"] is True
    # the ledger moves on meanwhile: the queued declaration does not change
    publish(db, p, "2025-11", orders("late", 5))
    assert service.declare(db, si, "2025-11", platforms_=[p.code]).frozen == 1

    # the service is back: sending again replays the same bytes under the same id
    res = service.send(db, si, "2025-11", platforms_=[p.code], gateway=_gw(tax_bureau))
    assert res.message_id is None
    assert _delivery(res, mid).ok
    db.refresh(item)
    assert (item.status, item.attempts) == ("sent", 2)
    assert tax_bureau.bodies[-1] == item.payload
    assert _decl(db, p, "2025-11").status == "sent"
    assert json.loads(item.payload)["records"][0]["orders"] == 10  # what was queued, not the later ledger


def test_a_refused_message_is_not_retried_blindly(db, si, tax_bureau, monkeypatch):
    from oip.core import config

    p = make_platform(db)
    publish(db, p, "2025-09", orders("k", 3))
    keys = config.get_keys()
    shared = keys.tax_signing_key
    monkeypatch.setattr(keys, "tax_signing_key", b"not-the-shared-key")
    res = service.send(db, si, "2025-09", platforms_=[p.code], gateway=_gw(tax_bureau))
    assert "HTTP 401" in _delivery(res, res.message_id).error
    assert [m for m, _ in tax_bureau.requests].count("POST") == 1  # a 4xx is not retried
    # once the key is put right, the replay is signed with it and accepted
    monkeypatch.setattr(keys, "tax_signing_key", shared)
    [replay] = service.deliver_pending(db, si, _gw(tax_bureau))
    assert replay.ok and replay.item.message_id == res.message_id and replay.item.attempts == 2
    assert replay.item.signature == tax.sign(replay.item.payload)


def test_returns_are_fetched_since_the_last_cursor(db, si, tax_bureau):
    p = make_platform(db)
    publish(db, p, "2025-12", orders("r", 20))
    service.send(db, si, "2025-12", platforms_=[p.code], gateway=_gw(tax_bureau))
    tax_bureau.returns.append(
        {
            "uscc": p.uscc,
            "month": "2025-12",
            "declared_fen": 140,
            "paid_fen": 100,
            "declared_on": "2026-01-12",
            "paid_on": "2026-01-12",
            "tax_reference": f"H{p.code}1",
        }
    )
    rep = reconciliation.fetch_returns(db, si, _gw(tax_bureau))
    db.commit()
    assert [(r.status, r.records) for r in rep.received] == [("imported", 1)]
    assert rep.reconciled == ["2025-12"]
    # nothing new: the next fetch asks from the cursor and imports nothing
    rep = reconciliation.fetch_returns(db, si, _gw(tax_bureau))
    db.commit()
    assert rep.received == []
    assert tax_bureau.requests[-1] == ("GET", f"/returns?since={len(tax_bureau.returns)}")
    tax_bureau.returns.append(
        {
            "platform_code": p.code,
            "month": "2025-12",
            "declared_fen": 0,
            "paid_fen": 40,
            "paid_on": "2026-01-20",
            "tax_reference": f"H{p.code}2",
        }
    )
    rep = reconciliation.fetch_returns(db, si, _gw(tax_bureau))
    db.commit()
    assert [(r.status, r.records) for r in rep.received] == [("imported", 1)]
    paid = sum(t.paid_fen for t in db.scalars(select(TaxReturn).where(TaxReturn.platform_id == p.id)))
    assert paid == 140


def test_a_refused_message_can_be_withdrawn_and_sent_again(db, si, tax_bureau):
    from oip.core.errors import Conflict, DomainError

    p = make_platform(db)
    publish(db, p, "2025-08", orders("w", 12))
    tax_bureau.refuse = "统一社会信用代码未在税务登记"
    res = service.send(db, si, "2025-08", platforms_=[p.code], gateway=_gw(tax_bureau))
    mid = res.message_id
    assert "HTTP 422" in _delivery(res, mid).error and _decl(db, p, "2025-08").status == "queued"
    with pytest.raises(DomainError) as e:
        service.withdraw(db, si, mid, " ")
    assert e.value.field == "reason"
    item = service.withdraw(db, si, mid, "税务部门来函：企业税务登记信息待更新，已核实未接收该消息")
    db.commit()
    assert item.status == "withdrawn"
    d = _decl(db, p, "2025-08")
    assert (d.status, d.message_id) == ("draft", None)
    with pytest.raises(Conflict):
        service.withdraw(db, si, mid, "again")
    # fixed at the tax bureau; the ledger grew meanwhile: a new message with the current figures
    tax_bureau.refuse = None
    publish(db, p, "2025-08", orders("w-late", 3))
    res = service.send(db, si, "2025-08", platforms_=[p.code], gateway=_gw(tax_bureau))
    assert res.message_id != mid and _delivery(res, res.message_id).ok
    assert mid not in {d.item.message_id for d in res.deliveries}  # a withdrawn message is never sent again
    assert tax_bureau.received[res.message_id]["records"][0]["orders"] == 15
    assert _decl(db, p, "2025-08").status == "sent"
