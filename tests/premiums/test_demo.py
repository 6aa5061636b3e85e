"""The demo's premiums: declarations, two months sent, returns with one late and one underpaid."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from oip.core.db import session_scope
from oip.platforms.models import Platform
from oip.premiums.models import Declaration, ReconciliationFlag
from tests.premiums.conftest import orders, publish

MONTHS = ["2026-04", "2026-05", "2026-06"]


@pytest.mark.slow
def test_demo_premiums(database, tmp_path):
    from oip.demo import premiums as demo

    with session_scope() as s:
        plats = {
            p.code: p for p in s.scalars(select(Platform).where(Platform.code.in_(["meituan", "didi", "huolala"])))
        }
        for m in MONTHS:
            for code, n in (("meituan", 500), ("didi", 800), ("huolala", 40)):
                publish(s, plats[code], m, orders(f"demo-{code}-{m}", n))
    with session_scope() as s:
        summary = demo.generate(s, MONTHS, tax_dir=tmp_path)
    assert set(summary["sent"]) == {"2026-04", "2026-05"} and summary["returns_imported"] > 0
    assert summary["declared"]["2026-06"]["orders"] >= 500 + 800 + 40
    with session_scope() as s:

        def flags(code, month):
            return {
                f.kind: f
                for f in s.scalars(
                    select(ReconciliationFlag)
                    .join(Platform)
                    .where(
                        Platform.code == code,
                        ReconciliationFlag.month == month,
                        ReconciliationFlag.status != "resolved",
                    )
                )
            }

        assert set(flags("meituan", "2026-04")) == {"late"}
        didi = flags("didi", "2026-05")
        assert set(didi) == {"arrears"} and didi["arrears"].amount_fen == 800 - 800 * 80 // 100  # 8.00 × 20 %
        assert flags("huolala", "2026-04") == {} and flags("huolala", "2026-05") == {}
        june = s.scalars(select(Declaration).where(Declaration.month == "2026-06")).all()
        assert june and {d.status for d in june} == {"draft"}
    assert list((tmp_path / "outbox").glob("DECL-202604-*.json")) and list((tmp_path / "inbox" / "done").glob("*.json"))
