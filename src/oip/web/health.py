"""``/healthz``: answers even when the application is saturated, and says 503 when the database is down.

It bypasses the admission limit (``oip.web.limits``) and uses none of the application's pooled
connections or threads: its own engine without a pool (a fresh connection per check, 2 s to connect,
a 2 s statement timeout), run in a thread of its own under a 3 s deadline. A database that does not
answer in time is "down" for the health check."""

from __future__ import annotations

import logging
from functools import lru_cache

import anyio
import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from oip import __version__
from oip.core.db import database_url

log = logging.getLogger(__name__)

DEADLINE_SECONDS = 3.0
router = APIRouter(tags=["system"])


def health_url() -> str:
    return database_url()


@lru_cache
def _engine() -> Engine:
    return create_engine(
        health_url(),
        poolclass=NullPool,
        connect_args={"connect_timeout": 2, "options": "-c statement_timeout=2000", "application_name": "oip-health"},
    )


def _check() -> None:
    with _engine().connect() as c:
        c.execute(text("SELECT 1"))


@router.get("/healthz", summary="健康检查（数据库不可用时返回 503）")
async def healthz():
    try:
        with anyio.fail_after(DEADLINE_SECONDS):
            await anyio.to_thread.run_sync(_check, abandon_on_cancel=True, limiter=anyio.CapacityLimiter(1))
    except Exception as e:  # noqa: BLE001  (any failure to answer is "down")
        log.warning("health check: database unavailable (%s)", type(e).__name__)
        return JSONResponse(
            {
                "status": "unavailable",
                "version": __version__,
                "error": {"code": "database_unavailable", "field": None, "reason": "数据库暂时无法连接，请稍后重试"},
            },
            status_code=503,
            headers={"Retry-After": "5", "Cache-Control": "no-store"},
        )
    return {"status": "ok", "version": __version__}
