"""Admission control: overload is shed, not queued for ever.

A pure ASGI middleware in front of the application (``install``). At most ``max_concurrency``
requests of a process are in flight; the next ones wait up to ``queue_wait_seconds`` in a queue of
at most ``queue_max``, then get **503** with ``Retry-After`` and the usual error body (code
``overloaded``; a Chinese page for browsers). ``/healthz`` and static files bypass it.

Why this bound holds the server up: a request in flight holds at most one thread and one pooled
connection at a time, and ends its transaction in the thread that ran it (``oip.core.web``). With
fewer requests in flight than threads (anyio's limiter, raised here to ``max_concurrency + 8`` if
needed) and than pooled connections (``max_concurrency + 4``, ``oip.core.db``), nobody waits for a
thread while holding a connection, and nobody waits long for a connection.

Abandoned requests: while a request waits for its slot the middleware listens for the client
going away (``http.disconnect``) and drops the request unprocessed. While it runs, a disconnect
cancels the rest of it (a step already in a thread finishes — with the statement and lock
timeouts of the web profile — and nothing after it runs). A request body being uploaded is read
as the route reads it, so for uploads the disconnect is noticed when the route reads on.

On shutdown (SIGTERM) uvicorn waits ``shutdown_grace_seconds`` for running requests, then cancels
them. Threads stuck in a database call cannot be cancelled; when ``exit_backstop_seconds`` is set
(``oip serve`` sets it) a watchdog started at the application's shutdown stops the embedded
database and ends the process if it is still there that long after."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections import deque
from contextlib import suppress

import anyio
import anyio.to_thread
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oip.core import db
from oip.core.config import get_settings

log = logging.getLogger(__name__)

BYPASS = ("/healthz", "/static/", "/vendor/")
REASON = "系统繁忙，请稍后重试"

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>系统繁忙</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/oip.css"></head>
<body><main class="message"><h1>系统繁忙</h1>
<p>当前访问量较大，系统暂时无法处理您的请求。请约 {seconds} 秒后刷新页面重试；您的数据没有丢失。</p>
</main></body></html>
"""


def wants_html(path: str, accept: str) -> bool:
    """A browser asking for a page (error pages are HTML for it, JSON for the API)."""
    return not path.startswith("/api/") and "text/html" in accept


class _Waiter:
    __slots__ = ("event", "granted")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.granted = False


class Gate:
    """``limit`` requests in flight; up to ``queue_max`` wait for a slot, first come first served."""

    def __init__(self, limit: int, queue_max: int) -> None:
        self.limit = limit
        self.queue_max = queue_max
        self.in_flight = 0
        self.waiters: deque[_Waiter] = deque()

    async def enter(self, wait: float, request: _Request) -> bool:
        """True with a slot; False when none came in time, the queue is full or the client left."""
        if self.in_flight < self.limit and not self.waiters:
            self.in_flight += 1
            return True
        if len(self.waiters) >= self.queue_max or wait <= 0:
            return False
        w = request.waiter = _Waiter()
        self.waiters.append(w)
        try:
            with anyio.move_on_after(wait):
                await w.event.wait()
        finally:
            request.waiter = None
            if not w.granted:
                self.waiters.remove(w)
            elif request.gone:
                self.leave()  # the slot came, but the client had left: pass it on
        return w.granted and not request.gone

    def leave(self) -> None:
        if self.waiters:
            w = self.waiters.popleft()  # hand the slot over: in_flight stays
            w.granted = True
            w.event.set()
        else:
            self.in_flight -= 1


class _Request:
    """One request's receive channel: a pump reads the client's messages ahead (a few at most) so
    that a disconnect is seen while the request waits or runs."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._tx, self._rx = anyio.create_memory_object_stream[Message](4)
        self.gone = False
        self.waiter: _Waiter | None = None
        self.scope: anyio.CancelScope | None = None
        self.response_done = False
        self.error: Exception | None = None

    async def pump(self) -> None:
        async with self._tx:
            while True:
                try:
                    message = await self._receive()
                except Exception as e:  # e.g. the body-size limit: raised where the app reads, as without us
                    self.error = e
                    return
                if message["type"] == "http.disconnect":
                    self.gone = True
                    if self.waiter is not None:
                        self.waiter.event.set()
                    if self.scope is not None and not self.response_done:
                        log.info("client went away: request cancelled")
                        self.scope.cancel()
                    with suppress(anyio.WouldBlock):
                        self._tx.send_nowait(message)
                    return
                await self._tx.send(message)

    async def receive(self) -> Message:
        try:
            return await self._rx.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            if self.error is not None:
                raise self.error from None
            return {"type": "http.disconnect"}

    def sender(self, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.response_done = True
            await send(message)

        return wrapped


class AdmissionLimit:
    def __init__(self, app: ASGIApp) -> None:
        s = get_settings()
        self.app = app
        self.gate = Gate(s.max_concurrency, s.queue_max)
        self.wait = s.queue_wait_seconds
        self.retry_after = s.retry_after_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return await self.app(scope, _lifespan(receive), send)
        if scope["type"] != "http" or scope["path"].startswith(BYPASS):
            return await self.app(scope, receive, send)
        request = _Request(receive)
        error: Exception | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(request.pump)
            try:
                if await self.gate.enter(self.wait, request):
                    try:
                        with anyio.CancelScope() as request.scope:
                            await self.app(scope, request.receive, request.sender(send))
                    finally:
                        self.gate.leave()
                elif request.gone:
                    log.info("client went away while queued: request dropped")
                else:
                    await self._refuse(scope, send)
            except Exception as e:  # raised below, outside the task group (not as an ExceptionGroup)
                error = e
            finally:
                tg.cancel_scope.cancel()
        if error is not None:
            raise error

    async def _refuse(self, scope: Scope, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if wants_html(scope["path"], headers.get("accept", "")):
            body = _PAGE.format(seconds=self.retry_after).encode()
            ctype = b"text/html; charset=utf-8"
        else:
            error = {"error": {"code": "overloaded", "field": None, "reason": REASON}}
            body = json.dumps(error, ensure_ascii=False).encode()
            ctype = b"application/json"
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", ctype),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(self.retry_after).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _lifespan(receive: Receive) -> Receive:
    async def wrapped() -> Message:
        message = await receive()
        s = get_settings()
        if message["type"] == "lifespan.startup":
            limiter = anyio.to_thread.current_default_thread_limiter()
            limiter.total_tokens = max(limiter.total_tokens, s.max_concurrency + 8)
        elif message["type"] == "lifespan.shutdown" and s.exit_backstop_seconds > 0:
            exit_backstop(s.exit_backstop_seconds)
        return message

    return wrapped


def exit_backstop(seconds: float, code: int = 128 + signal.SIGTERM) -> None:
    """End the process ``seconds`` from now if it has not ended by itself (threads stuck in the
    database keep a Python process alive). The embedded database is stopped first."""

    def run() -> None:
        time.sleep(seconds)
        log.error("still running %.0f s after shutdown (threads stuck): exiting now", seconds)
        with suppress(Exception):
            db.stop_embedded()
        os._exit(code)

    threading.Thread(target=run, name="oip-exit-backstop", daemon=True).start()


def install(app: FastAPI) -> None:
    """The web profile of the database engine and the admission limit, for ``create_app``."""
    db.use_web_profile()
    app.add_middleware(AdmissionLimit)
