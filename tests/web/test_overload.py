"""Overload is shed, not queued for ever (issue 10, §1): the wedge scenario against a real server.

Before: at a few dozen concurrent requests to the worker list every thread waited for a connection
while every connection sat "idle in transaction" waiting for a thread; no request was refused, and
the server stayed wedged after the load. Now requests beyond the admission limit get 503 with
Retry-After, /healthz answers throughout, normal requests succeed right after, no connection is
left idle in a transaction, and SIGTERM ends the server within seconds."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import anyio
import httpx
import psycopg
import pytest

from tests.conftest import _libpq, bearer

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()
        time.sleep(0.3)


def _idle_in_transaction(database: str) -> int:
    with psycopg.connect(_libpq(database), autocommit=True) as c:
        return c.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'oip-web' "
            "AND state LIKE 'idle in transaction%'"
        ).fetchone()[0]


def test_saturation_is_shed_and_the_server_recovers(database):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ)  # the test database, var dir and keys of this run
    env.update(
        {
            "OIP_MAX_CONCURRENCY": "2",
            "OIP_QUEUE_MAX": "4",
            "OIP_QUEUE_WAIT_SECONDS": "0.2",
            "OIP_SHUTDOWN_GRACE_SECONDS": "1",
        }
    )
    headers = bearer("gx_si")
    server = subprocess.Popen(
        [sys.executable, "-m", "oip.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_healthy(base, server)
        statuses: list[int] = []
        retry_after: list[str | None] = []
        health: list[int] = []
        stop = threading.Event()

        def hammer(n: int) -> None:
            with httpx.Client(timeout=30) as c:
                for i in range(25):
                    if stop.is_set():
                        return
                    r = c.get(f"{base}/api/v1/workers", params={"size": 20, "page": 1 + (n + i) % 15}, headers=headers)
                    statuses.append(r.status_code)
                    if r.status_code == 503:
                        retry_after.append(r.headers.get("retry-after"))
                        assert r.json()["error"]["code"] == "overloaded"

        threads = [threading.Thread(target=hammer, args=(n,)) for n in range(24)]
        for t in threads:
            t.start()
        try:
            time.sleep(1.0)
            for _ in range(3):  # the health check answers while the app is saturated
                health.append(httpx.get(f"{base}/healthz", timeout=10).status_code)
        finally:
            for t in threads:
                t.join(timeout=120)
            stop.set()

        assert 500 not in statuses and set(statuses) <= {200, 503}, sorted(set(statuses))
        assert statuses.count(503) > 0, "nothing was refused: the server queued every request"
        assert statuses.count(200) > 0
        assert retry_after and all(v and v.isdigit() for v in retry_after)
        assert health == [200, 200, 200]

        # After the load: normal requests are served again at once, and nothing is left in a transaction.
        deadline = time.monotonic() + 10
        while True:
            r = httpx.get(f"{base}/api/v1/workers", params={"size": 20}, headers=headers, timeout=10)
            if r.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert r.status_code == 200 and r.json()["items"]
        assert _idle_in_transaction(database) == 0

        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
            pytest.fail("the server did not stop on SIGTERM")


def test_healthz_says_503_when_the_database_is_unreachable(app, monkeypatch):
    from fastapi.testclient import TestClient

    from oip.web import health

    monkeypatch.setattr(health, "health_url", lambda: f"postgresql+psycopg://oip@127.0.0.1:{_free_port()}/oip")
    health._engine.cache_clear()
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            r = c.get("/healthz")
    finally:
        health._engine.cache_clear()
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "database_unavailable" and r.headers["retry-after"]


def test_a_browser_gets_a_chinese_page_and_a_client_that_left_while_queued_is_dropped(monkeypatch):
    from oip.core import config
    from oip.web.limits import AdmissionLimit

    monkeypatch.setenv("OIP_MAX_CONCURRENCY", "1")
    monkeypatch.setenv("OIP_QUEUE_WAIT_SECONDS", "5")
    config.get_settings.cache_clear()
    try:
        release = anyio.Event()
        served: list[str] = []

        async def inner(scope, receive, send):
            served.append(scope["path"])
            if scope["path"] == "/slow":
                await release.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

        limit = AdmissionLimit(inner)

        def scope(path, accept="application/json"):
            return {"type": "http", "method": "GET", "path": path, "headers": [(b"accept", accept.encode())]}

        async def run(path, gone: anyio.Event, out: list, accept="application/json"):
            sent = iter([{"type": "http.request", "body": b"", "more_body": False}])

            async def receive():
                try:
                    return next(sent)
                except StopIteration:
                    await gone.wait()
                    return {"type": "http.disconnect"}

            async def send(message):
                out.append(message)

            await limit(scope(path, accept), receive, send)

        async def main():
            slow_out, left_out, page_out = [], [], []
            slow_gone, left_gone, page_gone = anyio.Event(), anyio.Event(), anyio.Event()
            async with anyio.create_task_group() as tg:
                tg.start_soon(run, "/slow", slow_gone, slow_out)
                await anyio.sleep(0.05)
                tg.start_soon(run, "/left", left_gone, left_out)
                await anyio.sleep(0.05)
                left_gone.set()  # the queued client goes away
                await anyio.sleep(0.05)
                limit.wait = 0  # no waiting: the next request is refused at once
                await run("/page", page_gone, page_out, accept="text/html,*/*")
                release.set()
            return slow_out, left_out, page_out

        # In a thread of its own: the browser tests' Playwright keeps an event loop in the main thread.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            slow_out, left_out, page_out = pool.submit(anyio.run, main).result()
    finally:
        config.get_settings.cache_clear()
    assert served == ["/slow"]  # "/left" was never processed
    assert left_out == []
    assert slow_out[0]["status"] == 200
    start, body = page_out
    assert start["status"] == 503 and (b"retry-after", b"2") in start["headers"]
    assert "系统繁忙" in body["body"].decode()
