"""Does the answer's time tell who exists? Median time of a failed sign-in and a failed token request,
for a real name and an unknown one, through the app (in-process, real argon2 parameters).

    .venv/bin/python bench/signin_timing.py            # 8 tries per case
    .venv/bin/python bench/signin_timing.py --tries 20

Runs in its own var directory (default var/bench-signin; embedded PostgreSQL, migrated on first
use) with one staff user and one platform credential of its own. Each try comes from a fresh client
address, so the sign-in back-off never answers instead of the password check. Prints one JSON line
per case and a summary on stderr; before issue 10 a real user's wrong password took ~10× as long
as an unknown name's (426 vs 44 ms; token 366 vs 47 ms)."""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

USERNAME = "bench_timing"
PASSWORD = "Bench-timing-2026-pw"


def _prepare() -> tuple[str, str]:
    """The bench's user and credential (created once); returns (client_id, secret)."""
    from sqlalchemy import delete, select

    from oip.auth import service
    from oip.auth.models import ApiCredential, Organisation, User
    from oip.core import audit
    from oip.core.db import session_scope
    from oip.platforms.models import Platform

    with session_scope() as s:
        org = s.scalar(select(Organisation).where(Organisation.code == "bench-si"))
        if org is None:
            org = Organisation(code="bench-si", name="基准测试经办机构", kind="si_agency", region_code="450100")
            s.add(org)
            s.flush()
        if s.scalar(select(User).where(User.username == USERNAME)) is None:
            s.add(
                User(
                    username=USERNAME,
                    display_name="基准",
                    role="si_city",
                    organisation_id=org.id,
                    password_hash=service.hash_secret(PASSWORD),
                )
            )
        platform = s.scalar(select(Platform).order_by(Platform.id).limit(1))
        porg = s.scalar(select(Organisation).where(Organisation.platform_id == platform.id))
        if porg is None:
            porg = Organisation(
                code=f"bench-{platform.code}",
                name=f"基准平台 {platform.code}",
                kind="platform",
                region_code="450000",
                platform_id=platform.id,
            )
            s.add(porg)
            s.flush()
        s.execute(delete(ApiCredential).where(ApiCredential.label == "bench"))
        client_id, secret = service.create_credential(s, audit.SystemActor(label="bench"), platform.id, "bench")
    return client_id, secret


def _time_ms(app, k: int, send) -> float:
    """One try from its own client address ``k``: milliseconds."""
    from fastapi.testclient import TestClient

    with TestClient(app, client=(f"198.18.{k // 250}.{k % 250 + 1}", 40000)) as c:
        prep = c.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', prep.text).group(1)
        t0 = time.perf_counter()
        r = send(c, csrf)
        ms = (time.perf_counter() - t0) * 1000
    assert r.status_code == 401, r.text
    return ms


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common.add_common(p)
    p.set_defaults(var_dir=str(_common.ROOT / "var" / "bench-signin"))
    p.add_argument("--tries", type=int, default=8, help="tries per case (median reported)")
    a = p.parse_args()
    _common.setup_env(a)
    _common.upgrade()
    from oip.auth import throttle
    from oip.core.db import session_scope
    from oip.web.app import create_app

    client_id, _ = _prepare()
    with session_scope() as s:
        throttle.reset_all(s)
    app = create_app()

    def login(name):
        return lambda c, csrf: c.post(
            "/login",
            data={"username": name, "password": "wrong-password-1", "csrf_token": csrf},
            follow_redirects=False,
        )

    def token(cid):
        return lambda c, csrf: c.post("/api/v1/auth/token", data={"client_id": cid, "client_secret": "wrong-secret"})

    cases = {
        "login_wrong_password": login(USERNAME),
        "login_unknown_user": login("no_such_user_here"),
        "token_wrong_secret": token(client_id),
        "token_unknown_client": token("no-such-client-id"),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    k = 0
    for round_ in range(a.tries + 1):  # the cases take turns, so a busy moment of the machine hits all alike
        for name, send in cases.items():
            k += 1
            ms = _time_ms(app, k, send)
            if round_:  # the first round warms up
                times[name].append(ms)
    out = {}
    for name, ms in times.items():
        out[name] = round(statistics.median(ms), 1)
        _common.emit({"case": name, "median_ms": out[name], "min_ms": round(min(ms), 1), "tries": a.tries})
    with session_scope() as s:
        throttle.reset_all(s)
    print(
        f"login: wrong password {out['login_wrong_password']} ms, unknown user {out['login_unknown_user']} ms; "
        f"token: wrong secret {out['token_wrong_secret']} ms, unknown client {out['token_unknown_client']} ms",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
