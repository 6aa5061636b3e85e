"""The HTTP bank adapter against a real in-process HTTP server playing the bank: it pays by
idempotency key, answers one send too late (the bank has the file; we record a failure), and
serves signed result files; the re-send and the replayed result pay nothing twice."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from oip.core import clock
from oip.core.db import session_scope
from oip.payments import bank, service
from oip.payments.models import PaymentBatch
from tests.payments.conftest import owed_case, principal, statuses


class Bank:
    def __init__(self):
        self.batches: dict[str, list[dict]] = {}
        self.paid: dict[str, int] = {}
        self.posts = 0
        self.slow_next = False
        self.bad_signatures = 0


def _handler(state: Bank):
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):  # quiet
            pass

        def _send(self, code: int, body: bytes, headers: dict | None = None):
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if not bank.verify(body, self.headers.get(bank.SIGNATURE_HEADER)):
                state.bad_signatures += 1
                return self._send(401, b'{"error": "bad signature"}')
            state.posts += 1
            doc = json.loads(body)
            number = doc["header"]["batch_number"]
            state.batches[number] = doc["lines"]
            for x in doc["lines"]:
                state.paid.setdefault(x["idempotency_key"], x["amount_fen"])  # each key paid once
            if state.slow_next:
                state.slow_next = False
                time.sleep(1.5)  # the client has given up: it will not hear that we have it
            self._send(200, json.dumps({"status": "accepted", "batch_number": number}).encode())

        def do_GET(self):
            q = parse_qs(urlparse(self.path).query)
            number = (q.get("batch") or [""])[0]
            if number not in state.batches:
                return self._send(404, b"{}")
            rows = [
                {
                    "idempotency_key": x["idempotency_key"],
                    "status": "paid",
                    "bank_ref": "H1",
                    "paid_on": clock.today().isoformat(),
                }
                for x in state.batches[number]
            ]
            body, sig = bank.result_file(number, rows)
            self._send(200, body, {bank.SIGNATURE_HEADER: sig, "Content-Type": "application/json"})

    return H


@pytest.fixture
def http_bank():
    state = Bank()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    gw = bank.HttpBank(f"http://127.0.0.1:{server.server_address[1]}", timeout=0.5)
    yield state, gw
    gw.close()
    server.shutdown()
    server.server_close()


def test_http_bank_timeout_resend_and_replayed_results(http_bank):
    state, gw = http_bank
    ids = owed_case((9_900, 8_800), county="450126")
    with session_scope() as s:
        bid = service.make_batch(s, principal(s, "nn_si"), "450126").id
    with session_scope() as s:
        service.approve(s, principal(s, "nn_si_check"), bid)
    state.slow_next = True
    with session_scope() as s:
        out = service.send(s, principal(s, "nn_si"), bid, gw)
        assert not out.ok and "连接银行失败" in out.error
        number = out.batch.number
    assert state.posts == 1 and number in state.batches  # the bank has it all the same
    with session_scope() as s:
        out = service.send(s, principal(s, "nn_si"), bid, gw)
        assert out.ok
    assert state.posts == 2 and sum(state.paid.values()) >= 9_900 + 8_800
    for _ in range(2):  # the result fetched twice: applied once
        with session_scope() as s:
            got = service.import_from_bank(s, principal(s, "nn_si"), gw, number)
            assert len(got) == 1 and got[0][2] is None
    assert statuses(ids["payables"]) == ["paid", "paid"]
    with session_scope() as s:
        assert s.get(PaymentBatch, bid).status == "settled"
    keys = [x["idempotency_key"] for x in state.batches[number]]
    assert all(state.paid[k] in (9_900, 8_800) for k in keys) and len(set(keys)) == 2
    assert state.bad_signatures == 0
