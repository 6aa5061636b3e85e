"""The file gateway: signed declaration files, returns read from the inbox and filed away, tampered
or unsigned files rejected with the reason, nothing imported twice."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from oip.exchange import tax
from oip.exchange.models import ExchangeMessage, OutboxItem
from oip.premiums import reconciliation, service
from oip.premiums.models import Declaration, TaxReturn
from tests.premiums.conftest import make_platform, orders, publish


@pytest.fixture
def gw(tmp_path):
    return tax.FileTaxGateway(tmp_path / "tax")


def _drop(gw, name: str, body: bytes, sig: str | None) -> None:
    gw.inbox.mkdir(parents=True, exist_ok=True)
    (gw.inbox / name).write_bytes(body)
    if sig is not None:
        (gw.inbox / f"{name}.sig").write_text(sig + "\n")


def _import(db, si, gw):
    rep = reconciliation.fetch_returns(db, si, gw)
    db.commit()
    rep.settle()
    return rep


def test_declarations_file_is_signed_and_logged(db, si, gw):
    p = make_platform(db, industry="ride_hailing", base="0.01")
    publish(db, p, "2025-07", orders("a", 1_234))
    res = service.send(db, si, "2025-07", platforms_=[p.code], gateway=gw)
    mid = res.message_id
    assert mid.startswith("DECL-202507-") and [d.ok for d in res.deliveries if d.item.message_id == mid] == [True]
    path = gw.outbox / f"{mid}.json"
    body = path.read_bytes()
    sig = (gw.outbox / f"{mid}.json.sig").read_text().strip()
    assert tax.verify(body, sig) and not tax.verify(body + b" ", sig)
    doc = json.loads(body)
    assert doc["header"]["version"] == "tax-v1" and doc["header"]["kind"] == "declarations"
    assert doc["header"]["message_id"] == mid and doc["header"]["unit"] == "fen"
    [rec] = doc["records"]
    assert rec == {
        "platform_code": p.code,
        "uscc": p.uscc,
        "platform_name": p.names[0].name,
        "month": "2025-07",
        "orders": 1234,
        "base_yuan": "0.01",
        "k": 0,
        "rate_yuan": "0.01",
        "amount_fen": 1234,
        "adjustment_orders": 0,
        "adjustment_fen": 0,
        "total_fen": 1234,
        "due_date": "2025-08-15",
        "adjustments": [],
    }
    item = db.scalar(select(OutboxItem).where(OutboxItem.message_id == mid))
    assert (item.status, item.attempts, item.sha256, item.signature) == ("sent", 1, tax.sha256(body), sig)
    log = db.scalar(
        select(ExchangeMessage).where(ExchangeMessage.message_id == mid, ExchangeMessage.direction == "out")
    )
    assert (log.status, log.sha256, log.location) == ("sent", tax.sha256(body), str(path))
    d = db.scalar(select(Declaration).where(Declaration.platform_id == p.id, Declaration.month == "2025-07"))
    assert (d.status, d.message_id) == ("sent", mid)
    # replaying the same message writes the same bytes; other bytes under the same name are refused
    assert gw.send(tax.SignedMessage(mid, f"{mid}.json", body, sig)).message_id == mid
    with pytest.raises(tax.DeliveryFailed, match="内容不同"):
        gw.send(tax.SignedMessage(mid, f"{mid}.json", body.replace(b"1234", b"1235"), sig))
    # nothing new to send: no second message
    again = service.send(db, si, "2025-07", platforms_=[p.code], gateway=gw)
    assert again.message_id is None and again.queued == []


def test_returns_are_imported_once_and_filed(db, si, gw):
    p = make_platform(db)
    publish(db, p, "2025-07", orders("a", 100))
    service.send(db, si, "2025-07", platforms_=[p.code], gateway=gw)
    body, sig = tax.returns_message(
        [
            {
                "uscc": p.uscc,
                "month": "2025-07",
                "declared_fen": 700,
                "paid_fen": 700,
                "declared_on": "2025-08-10",
                "paid_on": "2025-08-10",
                "tax_reference": f"GX{p.code}01",
            }
        ]
    )
    _drop(gw, "RET-001.json", body, sig)
    rep = _import(db, si, gw)
    assert [(r.status, r.records) for r in rep.received] == [("imported", 1)]
    assert (gw.done / "RET-001.json").exists() and (gw.done / "RET-001.json.sig").exists()
    assert not (gw.inbox / "RET-001.json").exists()
    t = db.scalar(select(TaxReturn).where(TaxReturn.tax_reference == f"GX{p.code}01"))
    assert (t.platform_id, t.paid_fen) == (p.id, 700)
    d = db.scalar(select(Declaration).where(Declaration.platform_id == p.id, Declaration.month == "2025-07"))
    assert d.status == "acknowledged"

    # the same file again: logged as a duplicate, nothing imported
    _drop(gw, "RET-001-again.json", body, sig)
    rep = _import(db, si, gw)
    assert rep.received[0].status == "duplicate" and "内容相同" in rep.received[0].reason
    assert db.scalar(select(TaxReturn.id).where(TaxReturn.tax_reference == f"GX{p.code}01"))
    assert len(db.scalars(select(TaxReturn).where(TaxReturn.platform_id == p.id)).all()) == 1
    # a new file repeating an imported record with the same content: skipped, not doubled
    body2, sig2 = tax.returns_message(
        [
            {
                "platform_code": p.code,
                "month": "2025-07",
                "declared_fen": 700,
                "paid_fen": 700,
                "declared_on": "2025-08-10",
                "paid_on": "2025-08-10",
                "tax_reference": f"GX{p.code}01",
            }
        ]
    )
    _drop(gw, "RET-002.json", body2, sig2)
    rep = _import(db, si, gw)
    assert rep.received[0].status == "imported" and rep.received[0].details["duplicates"] == 1
    assert len(db.scalars(select(TaxReturn).where(TaxReturn.platform_id == p.id)).all()) == 1


def test_tampered_unsigned_and_invalid_files_are_rejected_with_the_reason(db, si, gw):
    p = make_platform(db)
    rec = {
        "uscc": p.uscc,
        "month": "2025-07",
        "declared_fen": 700,
        "paid_fen": 700,
        "declared_on": "2025-08-10",
        "paid_on": "2025-08-10",
        "tax_reference": f"GX{p.code}T",
    }
    body, sig = tax.returns_message([rec])
    _drop(gw, "a-tampered.json", body.replace(b'"paid_fen": 700', b'"paid_fen": 70000'), sig)
    _drop(gw, "b-unsigned.json", body, None)
    bad, bad_sig = tax.returns_message(
        [
            {**rec, "paid_fen": "七百", "month": "2025-7", "tax_reference": ""},
            {**rec, "uscc": "91450100MA5XXXXXX1", "tax_reference": "other"},
        ]
    )
    _drop(gw, "c-invalid.json", bad, bad_sig)
    csv_body = b"uscc,month,declared_fen,paid_fen\n" + p.uscc.encode() + b",2025-07,1,1\n"
    _drop(gw, "d-missing-column.csv", csv_body, tax.sign(csv_body))
    rep = _import(db, si, gw)
    got = {r.message.name: (r.status, r.reason) for r in rep.received}
    assert got["a-tampered.json"][0] == "rejected" and "签名校验失败" in got["a-tampered.json"][1]
    assert got["b-unsigned.json"][0] == "rejected" and "缺少签名" in got["b-unsigned.json"][1]
    reason = got["c-invalid.json"][1]
    assert "第 1 条记录" in reason and "paid_fen（实缴金额，单位分）应为整数" in reason
    assert "month（费款所属订单月份）" in reason and "tax_reference（税务凭证号）必填" in reason
    assert "第 2 条记录：统一社会信用代码 91450100MA5XXXXXX1 不是已登记的平台企业" in reason
    assert "缺少列：tax_reference" in got["d-missing-column.csv"][1]
    for name in got:
        assert (gw.rejected / name).exists()
        assert (gw.rejected / f"{name}.reason.txt").read_text(encoding="utf-8").strip() == got[name][1]
    assert db.scalar(select(TaxReturn).where(TaxReturn.platform_id == p.id)) is None
    logged = db.scalars(select(ExchangeMessage).where(ExchangeMessage.location.in_(list(got)))).all()
    assert {m.status for m in logged} == {"rejected"} and len(logged) == 4


def test_csv_returns_and_a_changed_record_under_a_known_reference(db, si, gw):
    p = make_platform(db)
    csv_body = (
        "\ufeffuscc,platform_code,month,declared_fen,paid_fen,declared_on,paid_on,tax_reference\r\n"
        f"{p.uscc},{p.code},202507,700,300,2025-08-12,2025-08-12,CSV{p.code}1\r\n"
        f",{p.code},2025-07,0,400,,2025-08-14,CSV{p.code}2\r\n"
    ).encode()
    _drop(gw, "returns.csv", csv_body, tax.sign(csv_body))
    rep = _import(db, si, gw)
    assert [(r.status, r.records) for r in rep.received] == [("imported", 2)]
    rows = db.scalars(select(TaxReturn).where(TaxReturn.platform_id == p.id).order_by(TaxReturn.tax_reference)).all()
    assert [(r.month, r.declared_fen, r.paid_fen, str(r.paid_on)) for r in rows] == [
        ("2025-07", 700, 300, "2025-08-12"),
        ("2025-07", 0, 400, "2025-08-14"),
    ]
    changed = csv_body.replace(b",700,300,", b",700,350,")
    _drop(gw, "returns-changed.csv", changed, tax.sign(changed))
    rep = _import(db, si, gw)
    assert rep.received[0].status == "rejected" and f"税务凭证号 CSV{p.code}1 已于" in rep.received[0].reason
