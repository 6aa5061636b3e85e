"""Helpers for the payment tests: payables on hand-made determinations, principals of the demo
users, and a fake bank that pays by idempotency key (the file adapter driven by a test double)."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from oip.core import clock

_seq = itertools.count()
VALID_CARD = "6222020200112345679"  # 19 digits, Luhn-valid
OTHER_CARD = "6217003810026898"  # 16 digits, Luhn-valid


@pytest.fixture(autouse=True)
def _database(database):
    """Every payment test runs against the test database (the session's embedded server)."""


def principal(s, username: str):
    from oip.auth.models import User
    from oip.auth.service import principal_for

    return principal_for(s, s.scalar(select(User).where(User.username == username)), via="cli")


def owed_case(
    amounts=(120_000,),
    *,
    county: str = "450107",
    account: bool = True,
    dependant: bool = False,
    officer: str = "nn_si",
) -> dict:
    """A case injured in ``county`` with an approved hand-made determination whose once lines owe
    ``amounts`` (fen) to the worker (and one more to a dependant when ``dependant``); with the
    worker's account registered when ``account`` (by ``officer``, who must see the county). Returns ids."""
    from oip.benefits import payables
    from oip.benefits.models import Dependant, Determination, DeterminationLine
    from oip.cases.models import Case
    from oip.core.db import session_scope
    from oip.payments import payees
    from tests.cases.conftest import make_case

    case_id = make_case(county=county, to="accepted")
    n = next(_seq)
    with session_scope() as s:
        case = s.get(Case, case_id)
        det = Determination(
            case_id=case_id,
            status="approved",
            event_date=clock.today(),
            region_code=county,
            kind="injury",
            inputs={},
            total_once_fen=sum(amounts),
            made_at=clock.now(),
        )
        s.add(det)
        s.flush()
        items = ["medical", "meal_subsidy", "disability_once", "funeral", "death_once"]
        ids, lines = [], []
        for i, amt in enumerate(amounts):
            line = DeterminationLine(
                determination_id=det.id, position=i, item=items[i], proposed_fen=amt, amount_fen=amt, formula="测试"
            )
            s.add(line)
            s.flush()
            lines.append(line.id)
            p = payables.add(
                s,
                line=line,
                case_id=case_id,
                amount_fen=amt,
                key=f"t{n}:line:{line.id}",
                due_on=clock.today(),
                region_code=county,
                person_id=case.person_id,
            )
            ids.append(p.id)
        dep_id = None
        if dependant:
            d = Dependant(
                case_id=case_id,
                name="测试亲属",
                relation="spouse",
                birth_date=clock.today().replace(year=1990),
                created_at=clock.now(),
            )
            s.add(d)
            s.flush()
            dep_id = d.id
            line = DeterminationLine(
                determination_id=det.id,
                position=9,
                item="dependants",
                proposed_fen=5000,
                amount_fen=5000,
                formula="测试",
                dependant_id=d.id,
            )
            s.add(line)
            s.flush()
            p = payables.add(
                s,
                line=line,
                case_id=case_id,
                amount_fen=5000,
                key=f"t{n}:dep:{line.id}",
                due_on=clock.today(),
                region_code=county,
                dependant_id=d.id,
            )
            ids.append(p.id)
        if account:
            payees.register(
                s,
                principal(s, officer),
                case_id,
                holder_name="测试人",
                bank_name="中国工商银行南宁分行",
                card_number=VALID_CARD,
            )
        return {"case_id": case_id, "payables": ids, "determination_id": det.id, "lines": lines, "dependant_id": dep_id}


@dataclass
class FakeBank:
    """The bank, as a test double behind the file adapter: it reads what the outbox received,
    pays each idempotency key at most once (money out recorded in ``paid``), fails the keys it is
    told to, can 'time out' (raise after it received the file), and writes signed result files to
    the inbox."""

    root: Path
    fail: set[str] = field(default_factory=set)
    timeout_next: bool = False
    received: list[dict] = field(default_factory=list)  # every batch file as received
    paid: dict[str, int] = field(default_factory=dict)  # key → fen the bank paid out (net of reversals)
    results: dict[str, dict] = field(default_factory=dict)  # key → its result line
    name: str = "file"

    def __post_init__(self):
        from oip.payments.bank import FileBank

        self.files = FileBank(self.root)

    def send(self, f):
        from oip.payments import bank

        location = self.files.send(f)
        assert bank.verify(f.body, Path(location + ".sig").read_text().strip())
        doc = bank.read_batch_file(f.body)
        self.received.append(doc)
        for line in doc["lines"]:
            key = line["idempotency_key"]
            if key in self.results:
                continue  # the bank's own idempotency: a key is paid once
            if key in self.fail:
                self.results[key] = {
                    "idempotency_key": key,
                    "status": "failed",
                    "failure_code": "E05",
                    "failure_reason": "户名与卡号不符",
                }
            else:
                self.paid[key] = self.paid.get(key, 0) + line["amount_fen"]
                self.results[key] = {
                    "idempotency_key": key,
                    "status": "paid",
                    "bank_ref": f"B{len(self.paid):06d}",
                    "paid_on": clock.today().isoformat(),
                }
        if self.timeout_next:
            self.timeout_next = False
            raise bank.DeliveryFailed("连接银行超时（银行已收到文件）")
        return location

    def reverse(self, key: str, reason: str = "账户已销户") -> None:
        self.paid[key] = 0  # the money came back
        self.results[key] = {
            "idempotency_key": key,
            "status": "reversed",
            "reversed_on": clock.today().isoformat(),
            "reversal_reason": reason,
        }

    def result_file(self, keys=None, name: str | None = None) -> tuple[bytes, str, str]:
        """Write a signed result file of ``keys`` (default: every result) to the inbox."""
        from oip.payments import bank

        rows = [self.results[k] for k in (keys if keys is not None else list(self.results))]
        body, sig = bank.result_file(None, rows)
        name = name or f"RES-{next(_seq):05d}.json"
        inbox = self.root / "inbox"
        inbox.mkdir(parents=True, exist_ok=True)
        (inbox / name).write_bytes(body)
        (inbox / (name + ".sig")).write_text(sig + "\n")
        return body, sig, name

    def fetch_results(self, batch_number=None):
        return self.files.fetch_results(batch_number)

    def settle(self, f, ok, reason=None):
        self.files.settle(f, ok, reason)


def statuses(payable_ids) -> list[str]:
    from oip.benefits.models import Payable
    from oip.core.db import session_scope

    with session_scope() as s:
        return [s.get(Payable, i).status for i in payable_ids]


def dump(o) -> str:
    return json.dumps(o, ensure_ascii=False, default=str)
