"""A small real tax bureau exchange service (tax-v1 over HTTP), served from a thread on 127.0.0.1.

It implements the documented protocol: POST /declarations (signature checked, duplicates by
message id answered 409 "duplicate"), GET /returns?since= (signed JSON, cursor ``as_of``). Tests
make it fail on purpose (``fail_next``: answer 500 to the next N requests)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from tests.premiums.conftest import si  # noqa: F401  (the officer fixture)


class TaxBureau:
    def __init__(self):
        self.received: dict[str, dict] = {}  # message id → document
        self.bodies: list[bytes] = []
        self.returns: list[dict] = []  # records; the cursor is how many were served
        self.fail_next = 0
        self.refuse: str | None = None  # answer 422 with this reason to every declarations message
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        from oip.core.config import get_keys

        self.key = get_keys().tax_signing_key  # the key shared with us, as configured at the bureau


def _handler(bureau: TaxBureau):
    from oip.exchange import tax

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _send(self, status: int, body: bytes, headers: dict | None = None):
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, doc: dict):
            self._send(status, json.dumps(doc, ensure_ascii=False).encode())

        def _failing(self) -> bool:
            with bureau.lock:
                bureau.requests.append((self.command, self.path))
                if bureau.fail_next > 0:
                    bureau.fail_next -= 1
                    return True
            return False

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self._failing():
                return self._json(500, {"error": "temporarily unavailable"})
            if urlparse(self.path).path != "/declarations":
                return self._json(404, {"error": "not found"})
            if not tax.verify(body, self.headers.get(tax.SIGNATURE_HEADER), bureau.key):
                return self._json(401, {"error": "bad signature"})
            doc = json.loads(body)
            mid = doc["header"]["message_id"]
            if bureau.refuse:
                return self._json(422, {"error": bureau.refuse, "message_id": mid})
            with bureau.lock:
                if mid in bureau.received:
                    return self._json(409, {"status": "duplicate", "message_id": mid})
                bureau.received[mid] = doc
                bureau.bodies.append(body)
                receipt = f"RCPT-{len(bureau.received):05d}"
            return self._json(201, {"status": "accepted", "message_id": mid, "receipt": receipt})

        def do_GET(self):
            if self._failing():
                return self._json(500, {"error": "temporarily unavailable"})
            url = urlparse(self.path)
            if url.path != "/returns":
                return self._json(404, {"error": "not found"})
            since = int(parse_qs(url.query).get("since", ["0"])[0] or 0)
            with bureau.lock:
                records, as_of = bureau.returns[since:], str(len(bureau.returns))
            body, _ = tax.returns_message(records, message_id=f"RET-HTTP-{since}-{as_of}", as_of=as_of)
            sig = tax.sign(body, bureau.key)
            self._send(200, body, {tax.SIGNATURE_HEADER: sig})

    return Handler


@pytest.fixture
def tax_bureau(database):
    bureau = TaxBureau()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(bureau))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    bureau.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield bureau
    server.shutdown()
    server.server_close()
