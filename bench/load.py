"""Load on a real server: p50 / p95 / p99, error rate and 503 share per endpoint and rate.

    .venv/bin/python bench/load.py                                # the issue's demo: 20,000 workers, ~4 M orders
    .venv/bin/python bench/load.py --workers 2000 --seconds 10    # a quick run

Loopback only and bounded: it generates a demo province once under its own var directory
(``var/bench-load``, embedded PostgreSQL; reused while ``--workers``/``--seed`` stay the same), starts
``oip serve`` in a subprocess on a free port of 127.0.0.1, and sends an open-loop load (requests
leave at fixed times whatever the answers do; asyncio + httpx) for ``--seconds`` per phase:

- ``list``: ``GET /api/v1/workers?size=20&page=N`` with a provincial officer's session cookie;
- ``coverage``: ``GET /api/v1/coverage?platform_code=…&account_id=…&at=…`` (same officer);
- ``check``: the public check page ``GET /check`` (its POST is throttled per client address by
  design, so one load client cannot measure it);
- ``upload``: a platform's order upload ``POST /api/v1/orders/batches`` (bearer token, CSV batches of
  ``--batch`` orders of yesterday), at its own, lower rates (``--upload-rates``): each batch is an
  import and a ledger file.

Each endpoint runs alone at each rate of ``--rates`` (50, 100, 200 req/s), then ``list`` runs at
``--overload-rate`` (300 req/s) and the recovery is measured: the time from the end of the overload
until five normal list requests in a row succeed. Prints one JSON line per phase (and a table on
stderr): requests, p50/p95/p99 ms of the answered ones, error rate (anything but 2xx, 503
included), 503 share, timeouts."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time

import _common

OFFICER = "gx_si"
PLATFORM = "meituan"


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))], 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(var, workers: int, seed: int) -> dict:
    """The demo province (once), and what the load needs from it."""
    from sqlalchemy import select, text

    from oip.auth import service as auth
    from oip.auth.models import User
    from oip.core import audit, clock
    from oip.core.db import get_engine, session_scope
    from oip.demo import generate

    marker = var / "demo.json"
    params = {"workers": workers, "seed": seed}
    fresh = not marker.exists() or json.loads(marker.read_text()) != params
    _common.upgrade(reset=fresh)
    with session_scope() as s:
        if fresh or not generate.already_generated(s):
            t0 = time.monotonic()
            summary = generate.generate(s, workers=workers, seed=seed)
            _common.emit({"step": "demo", "seconds": round(time.monotonic() - t0, 1), **summary})
    marker.write_text(json.dumps(params))
    with get_engine().connect() as c:
        n_workers = c.execute(text("SELECT count(*) FROM platform_accounts")).scalar_one()
        sample = c.execute(
            text("""SELECT p.code, a.account_id FROM platform_accounts a JOIN platforms p ON p.id = a.platform_id
                    WHERE a.status = 'active' ORDER BY a.id LIMIT 500""")
        ).all()
        mine = c.execute(
            text("""SELECT a.account_id, a.county_code FROM platform_accounts a JOIN platforms p ON p.id = a.platform_id
                    WHERE p.code = :p AND a.status = 'active' AND a.registered_on < :d ORDER BY a.id LIMIT 200"""),
            {"p": PLATFORM, "d": clock.today() - dt.timedelta(days=2)},
        ).all()
    with session_scope() as s:
        user = s.scalar(select(User).where(User.username == f"{PLATFORM}-api"))
        token, _ = auth.issue_token(s, user, audit.SystemActor(label="bench"), minutes=240)
    return {
        "accounts": n_workers,
        "sample": [tuple(r) for r in sample],
        "mine": [tuple(r) for r in mine],
        "token": token,
        "pages": max(1, min(n_workers // 20, 500)),
    }


def start_server(var, port: int, extra_env: dict[str, str], args: list[str]) -> subprocess.Popen:
    from oip.core.db import database_url

    env = dict(os.environ)
    env.update({"OIP_VAR_DIR": str(var), "OIP_DATABASE_URL": database_url(), **extra_env})
    log = open(var / "server.log", "w")  # noqa: SIM115  (kept open for the server's life)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "oip.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *args,
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=_common.ROOT,
    )


async def wait_healthy(base: str, server: subprocess.Popen) -> None:
    import httpx

    deadline = time.monotonic() + 120
    async with httpx.AsyncClient() as c:
        while True:
            try:
                if (await c.get(f"{base}/healthz", timeout=2)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                _common.fail("the server did not start: see server.log in the var directory")
            await asyncio.sleep(0.3)


async def sign_in(base: str) -> dict[str, str]:
    import httpx

    from oip.demo.generate import DEMO_PASSWORD

    async with httpx.AsyncClient(base_url=base) as c:
        page = await c.get("/login")
        form = {"username": OFFICER, "password": DEMO_PASSWORD}
        m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        if m:
            form["csrf_token"] = m.group(1)
        r = await c.post("/login", data=form)
        if r.status_code != 303:
            _common.fail(f"sign-in failed: {r.status_code} {r.text[:200]}")
        return dict(c.cookies)


class LeanClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams, for the load phases.

    The load client shares the machine with the server (the target is "client included"), so it must
    cost little: httpx's AsyncClient took ~0.7 of a core at 100 req/s here, this one a small fraction.
    It speaks just what the phases need: a request with a body or none, a response with a
    Content-Length or chunked body, keep-alive unless the server says ``Connection: close``."""

    def __init__(self, host: str, port: int, cookies: dict[str, str] | None = None, timeout: float = 10):
        self.host, self.port, self.timeout = host, port, timeout
        self.cookie = "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(self, method: str, url: str, params=None, content: bytes = b"", headers=None) -> int:
        """The status code (0: timeout or connection error)."""
        try:
            return await asyncio.wait_for(self._request(method, url, params, content, headers), self.timeout)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            return 0

    async def _request(self, method, url, params, content, headers) -> int:
        from urllib.parse import urlencode

        if params:
            url = f"{url}?{urlencode(params)}"
        head = [f"{method} {url} HTTP/1.1", f"Host: {self.host}:{self.port}", "Accept: application/json"]
        for k, v in (headers or {}).items():
            head = [h for h in head if not h.lower().startswith(k.lower() + ":")] + [f"{k}: {v}"]
        if self.cookie:
            head.append(f"Cookie: {self.cookie}")
        if content or method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(content)}")
        data = ("\r\n".join(head) + "\r\n\r\n").encode() + content
        while self.idle:  # a kept-alive connection the server may have closed meanwhile: then a new one
            reader, writer = self.idle.pop()
            try:
                writer.write(data)
                status_line = await reader.readline()
            except OSError:
                status_line = b""
            if status_line:
                break
            writer.close()
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            writer.write(data)
            status_line = await reader.readline()
        try:
            if not status_line:
                raise ConnectionResetError("closed")
            status = int(status_line.split()[1])
            length, chunked, close = 0, False, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                name, value = name.strip().lower(), value.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "transfer-encoding" and "chunked" in value:
                    chunked = True
                elif name == "connection" and value == "close":
                    close = True
            if chunked:
                while (size := int((await reader.readline()).split(b";")[0], 16)) > 0:
                    await reader.readexactly(size + 2)
                await reader.readline()
            elif length:
                await reader.readexactly(length)
        except BaseException:
            writer.close()
            raise
        if close:
            writer.close()
        else:
            self.idle.append((reader, writer))
        return status

    async def close(self) -> None:
        for _r, w in self.idle:
            w.close()
        self.idle.clear()


def requests_for(kind: str, ctx: dict, rng: random.Random):
    """A function giving the next request (method, url, kwargs) of ``kind``."""
    from oip.core import clock

    if kind == "list":
        return lambda: ("GET", "/api/v1/workers", {"params": {"size": 20, "page": rng.randint(1, ctx["pages"])}})
    if kind == "coverage":
        now = clock.now()

        def coverage():
            code, account = rng.choice(ctx["sample"])
            at = (now - dt.timedelta(days=rng.randint(1, 60), minutes=rng.randint(0, 1439))).isoformat()
            return "GET", "/api/v1/coverage", {"params": {"platform_code": code, "account_id": account, "at": at}}

        return coverage
    if kind == "check":
        return lambda: ("GET", "/check", {"headers": {"Accept": "text/html"}})
    if kind == "upload":
        day = clock.today() - dt.timedelta(days=1)
        seq = iter(range(10**9))

        def upload():
            lines = [
                "order_id,platform_code,worker_account_id,industry,county_code,accepted_at,picked_up_at,"
                "finished_at,status,start_lng,start_lat,end_lng,end_lat,distance_m,income_fen"
            ]
            for _ in range(ctx["batch"]):
                account, county = rng.choice(ctx["mine"])
                a = dt.datetime.combine(day, dt.time(8), clock.SHANGHAI) + dt.timedelta(minutes=rng.randint(0, 700))
                f = a + dt.timedelta(minutes=25)
                lines.append(
                    f"BL{ctx['run']}{next(seq):09d},{PLATFORM},{account},instant_delivery,{county},{a.isoformat()},"
                    f"{(a + dt.timedelta(minutes=5)).isoformat()},{f.isoformat()},completed,108.3669,22.8167,"
                    "108.3301,22.8070,3200,650"
                )
            body = ("\r\n".join(lines) + "\r\n").encode()
            return (
                "POST",
                "/api/v1/orders/batches",
                {
                    "params": {"format": "csv"},
                    "content": body,
                    "headers": {"Authorization": f"Bearer {ctx['token']}", "Content-Type": "text/csv"},
                },
            )

        return upload
    raise ValueError(kind)


async def phase(base: str, cookies: dict, kind: str, rate: float, seconds: float, ctx: dict, timeout: float) -> dict:
    """Open loop: request i leaves at t0 + i / rate, whether earlier ones were answered or not."""
    rng = random.Random(f"{kind}-{rate}")
    make = requests_for(kind, ctx, rng)
    results: list[tuple[int, float]] = []  # (status or 0 for a timeout/transport error, ms)
    client = LeanClient("127.0.0.1", int(base.rsplit(":", 1)[1]), cookies, timeout)

    async def one(method, url, kw):
        t = time.perf_counter()
        status = await client.request(method, url, **kw)
        results.append((status, (time.perf_counter() - t) * 1000))

    n = int(rate * seconds)
    t0 = time.perf_counter()
    tasks = []
    for i in range(n):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(*make())))
    sent_s = time.perf_counter() - t0
    await asyncio.gather(*tasks)
    await client.close()
    ok = [ms for st, ms in results if 200 <= st < 300]
    answered = [ms for st, ms in results if st]
    statuses: dict[str, int] = {}
    for st, _ in results:
        statuses[str(st)] = statuses.get(str(st), 0) + 1
    return {
        "step": "phase",
        "endpoint": kind,
        "rate": rate,
        "requests": n,
        "sent_rate": round(n / sent_s, 1) if sent_s else None,
        "p50_ms": pct(answered, 0.50),
        "p95_ms": pct(answered, 0.95),
        "p99_ms": pct(answered, 0.99),
        "p95_ok_ms": pct(ok, 0.95),
        "error_rate": round(1 - len(ok) / n, 4) if n else None,
        "share_503": round(statuses.get("503", 0) / n, 4) if n else None,
        "timeouts": statuses.get("0", 0),
        "statuses": statuses,
    }


async def recovery(base: str, cookies: dict, ctx: dict, limit_s: float = 60) -> float | None:
    """Seconds from now until five normal list requests in a row answer 200."""
    client = LeanClient("127.0.0.1", int(base.rsplit(":", 1)[1]), cookies, timeout=5)
    t0 = time.perf_counter()
    good = 0
    try:
        while time.perf_counter() - t0 < limit_s:
            status = await client.request("GET", "/api/v1/workers", params={"size": 20, "page": 1})
            good = good + 1 if status == 200 else 0
            if good >= 5:
                return round(time.perf_counter() - t0, 2)
            await asyncio.sleep(0.1)
    finally:
        await client.close()
    return None


async def run(a, var, ctx) -> list[dict]:
    port = a.port or free_port()
    base = f"http://127.0.0.1:{port}"
    env = {}
    if a.max_concurrency:
        env["OIP_MAX_CONCURRENCY"] = str(a.max_concurrency)
    server = start_server(var, port, env, ["--workers", str(a.serve_workers)])
    out = []
    try:
        await wait_healthy(base, server)
        cookies = await sign_in(base)
        plan = [(k, r) for k in a.endpoints if k != "upload" for r in a.rates]
        plan += [("upload", r) for r in a.upload_rates] if "upload" in a.endpoints else []
        for kind, rate in plan:
            res = await phase(base, cookies, kind, rate, a.seconds, ctx, a.timeout)
            out.append(res)
            _common.emit(res)
            await asyncio.sleep(a.pause)
        if a.overload_rate:
            res = await phase(base, cookies, "list", a.overload_rate, a.seconds, ctx, a.timeout)
            res["step"] = "overload"
            res["recovery_s"] = await recovery(base, cookies, ctx)
            out.append(res)
            _common.emit(res)
        t = time.monotonic()
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
        _common.emit({"step": "sigterm", "exit_code": code, "seconds": round(time.monotonic() - t, 2)})
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=20000, help="demo workers (the issue's probe: 20,000)")
    p.add_argument("--seed", type=int, default=2025)
    p.add_argument("--rates", default="50,100,200", help="req/s per endpoint, one phase each")
    p.add_argument("--upload-rates", default="2,5,10", help="req/s of the order upload (each is an import)")
    p.add_argument("--batch", type=int, default=20, help="orders per uploaded batch")
    p.add_argument("--overload-rate", type=float, default=300, help="list req/s of the overload phase (0: none)")
    p.add_argument("--endpoints", default="list,coverage,check,upload")
    p.add_argument("--seconds", type=float, default=30, help="length of each phase")
    p.add_argument("--pause", type=float, default=2, help="seconds between phases")
    p.add_argument("--timeout", type=float, default=10, help="client timeout per request")
    p.add_argument("--port", type=int, default=0)
    p.add_argument(
        "--serve-workers", type=int, default=os.cpu_count() or 1, help="oip serve --workers (default: one per core)"
    )
    p.add_argument("--max-concurrency", type=int, default=0, help="OIP_MAX_CONCURRENCY of the server (0: default)")
    _common.add_common(p)
    p.set_defaults(var_dir=str(_common.ROOT / "var" / "bench-load"))
    a = p.parse_args(argv)
    a.rates = [float(x) for x in a.rates.split(",") if x]
    a.upload_rates = [float(x) for x in a.upload_rates.split(",") if x]
    a.endpoints = [x for x in a.endpoints.split(",") if x]
    if a.seconds * max([*a.rates, a.overload_rate]) > 20000:
        _common.fail("bounded: at most 20,000 requests per phase")
    var = _common.setup_env(a)
    ctx = prepare(var, a.workers, a.seed)
    ctx.update({"batch": a.batch, "run": f"{int(time.time()) % 10**6:06d}"})
    _common.emit({"step": "ready", "accounts": ctx["accounts"], "cpus": os.cpu_count(), "load": os.getloadavg()})
    out = asyncio.run(run(a, var, ctx))
    print(f"{'endpoint':<10}{'rate':>6}{'n':>7}{'p50':>8}{'p95':>8}{'p99':>8}{'errors':>8}{'503':>7}", file=sys.stderr)
    for r in out:
        print(
            f"{r['endpoint']:<10}{r['rate']:>6.0f}{r['requests']:>7}{r['p50_ms'] or 0:>8}{r['p95_ms'] or 0:>8}"
            f"{r['p99_ms'] or 0:>8}{r['error_rate']:>8.2%}{r['share_503']:>7.1%}"
            + (f"  recovery {r['recovery_s']} s" if "recovery_s" in r else ""),
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
