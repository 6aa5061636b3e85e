"""The application factory: routers of every domain, error rendering, static files, health."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

import oip.models  # noqa: F401  (every table's mapper, before the first request)
from oip import __version__
from oip.appraisal import api as appraisal_api, pages as appraisal_pages
from oip.auth import api as auth_api, audit_web, pages as auth_pages
from oip.auth.deps import CHANGE_PASSWORD_URL, authenticate
from oip.benefits import (
    claims_api,
    claims_pages,
    determination_api,
    determination_pages,
    monthly_api,
    monthly_pages,
    quote_api as benefits_quote_api,
    quote_pages as benefits_quote_pages,
)
from oip.cases import (
    api as cases_api,
    decision_api,
    decision_pages,
    intake_api,
    intake_pages,
    investigation_api,
    investigation_pages,
    letters_api,
    letters_pages,
    pages as cases_pages,
)
from oip.core import audit
from oip.core.config import get_settings
from oip.core.db import get_sessionmaker
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.validation import translate
from oip.exchange import api as exchange_api, notify, pages as exchange_pages
from oip.fund import (
    api as fund_api,
    budget_api as fund_budget_api,
    budget_pages as fund_budget_pages,
    cashplan_api,
    cashplan_pages,
    disclosure_api,
    disclosure_pages,
    pages as fund_pages,
    posting as fund_posting,
    subject_pages as fund_subject_pages,
    supervision_api,
    supervision_pages,
)
from oip.insurers import api as insurers_api, pages as insurers_pages
from oip.orders import api as orders_api, pages as orders_pages
from oip.payments import api as payments_api, pages as payments_pages, portal_pages as payments_portal_pages
from oip.platforms import api as platforms_api, pages as platforms_pages
from oip.premiums import api as premiums_api, pages as premiums_pages
from oip.web import hardening, health, limits, pages as web_pages
from oip.workers import api as workers_api, pages as workers_pages

log = logging.getLogger(__name__)


def _wants_html(request: Request) -> bool:
    return limits.wants_html(request.url.path, request.headers.get("accept", ""))


def _mount_api_docs(app: FastAPI) -> None:
    """Swagger UI 5 at /docs (it reads the OpenAPI 3.1 that FastAPI emits), served from the files that the
    fastapi-offline package ships (installed by pip; no CDN: works offline)."""
    import fastapi_offline
    from fastapi.openapi.docs import get_swagger_ui_html

    static = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/vendor/swagger", StaticFiles(directory=str(static)), name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs():
        page = get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="oip API",
            swagger_js_url="/vendor/swagger/swagger-ui-bundle.js",
            swagger_css_url="/vendor/swagger/swagger-ui.css",
            swagger_favicon_url="/vendor/swagger/favicon.png",
        )
        page.headers["Content-Security-Policy"] = hardening.docs_csp(page.body.decode())
        return page


# Chinese reasons for the errors Starlette raises itself (unknown URL, wrong method, ...).
_HTTP_REASONS = {
    404: ("not_found", "页面或接口不存在，请检查地址"),
    405: ("method_not_allowed", "该地址不支持此请求方法"),
    413: ("too_large", "请求体超过上限，未作任何处理：请拆分后分批上传"),
}


def _principal_of(request: Request):
    """Who is signed in, for error pages that did not pass through ``Require`` (unknown URLs)."""
    p = getattr(request.state, "principal", None)
    if p is not None:
        return p
    with get_sessionmaker()() as db:
        try:
            p = authenticate(db, request)
        except DomainError:
            p = None
    if p is not None:
        request.state.principal = p
    return p


@asynccontextmanager
async def _background(app: FastAPI):
    """Threads beside the server: the audit chainer (oip.core.audit: links queued events, checkpoints),
    the notification sender (oip.exchange.notify: sends the due text messages) and the fund's poster
    (oip.fund.posting: books new business events). Stopped on shutdown."""
    chainer = audit.start_background_chainer()
    sender = notify.start_background_sender()
    poster = fund_posting.start_background_poster()
    try:
        yield
    finally:
        if poster is not None:
            await run_in_threadpool(poster.stop)
        if sender is not None:
            await run_in_threadpool(sender.stop)
        if chainer is not None:
            await run_in_threadpool(chainer.stop)


def create_app() -> FastAPI:
    app = FastAPI(
        lifespan=_background,
        title="广西新就业形态人员职业伤害保障信息平台 API",
        version=__version__,
        description="oip — JSON API under /api/v1. Staff use session cookies (with X-CSRF-Token on "
        "writes); platform systems exchange client credentials for bearer tokens at "
        "POST /api/v1/auth/token.",
        docs_url=None,
        redoc_url=None,
        # A backstop; uploads are also checked against the limit while they stream in.
        max_body_size=get_settings().upload_max_bytes + 1024 * 1024,
    )
    hardening.install(app)  # input checks, security headers, 4xx for what the database refuses
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    _mount_api_docs(app)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError):
        if _wants_html(request):
            if exc.status_code == 401:
                return RedirectResponse(f"/login?next={quote(str(request.url.path))}", status_code=303)
            if exc.code == "password_change_required":
                return RedirectResponse(CHANGE_PASSWORD_URL, status_code=303)
            return render(
                request,
                "message.html",
                status_code=exc.status_code,
                title="无法完成操作",
                message=exc.reason,
                kind="error",
                back=request.headers.get("referer"),
            )
        return JSONResponse(
            {"error": exc.as_dict()}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        code, reason = _HTTP_REASONS.get(exc.status_code, ("http_error", "请求无法处理"))
        if _wants_html(request):
            await run_in_threadpool(_principal_of, request)
            title = "页面不存在" if exc.status_code == 404 else "无法完成操作"
            return render(
                request,
                "message.html",
                status_code=exc.status_code,
                title=title,
                message=reason,
                kind="error",
                back=request.headers.get("referer"),
                home=True,
            )
        return JSONResponse(
            {"error": {"code": code, "field": None, "reason": reason}},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        errors = [
            {
                "field": ".".join(str(x) for x in e.get("loc", ()) if x != "body") or None,
                "reason": e.get("msg"),
                "type": e.get("type"),
            }
            for e in translate(list(exc.errors()))
        ]
        if _wants_html(request):
            return render(
                request,
                "message.html",
                status_code=422,
                title="输入有误",
                kind="error",
                message="；".join(f"{e['field']}：{e['reason']}" for e in errors),
                back=request.headers.get("referer"),
            )
        return JSONResponse(
            {
                "error": {
                    "code": "invalid",
                    "field": errors[0]["field"] if errors else None,
                    "reason": errors[0]["reason"] if errors else "invalid request",
                },
                "errors": errors,
            },
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        reason = "系统内部错误，操作未完成且未保存任何数据；请稍后重试或联系运维人员"
        if _wants_html(request):
            return render(request, "message.html", status_code=500, title="系统错误", message=reason, kind="error")
        return JSONResponse({"error": {"code": "internal", "field": None, "reason": reason}}, status_code=500)

    app.include_router(health.router)
    limits.install(app)  # the admission limit (503 when saturated) and the web profile of the engine
    # decision_api before cases_api: its /cases/codes and /cases/worklist must not be read as a case id.
    for module in (
        auth_api,
        platforms_api,
        workers_api,
        orders_api,
        premiums_api,
        insurers_api,
        exchange_api,
        audit_web,
        decision_api,
        cases_api,
        intake_api,
        investigation_api,
        appraisal_api,
        benefits_quote_api,
        letters_api,
        determination_api,
        claims_api,
        monthly_api,
        payments_api,
        disclosure_api,
        cashplan_api,
        fund_budget_api,
        fund_api,
        supervision_api,
    ):
        app.include_router(module.api, prefix="/api/v1")
    app.include_router(premiums_api.outbox_api, prefix="/api/v1")
    for module in (
        auth_pages,
        platforms_pages,
        workers_pages,
        orders_pages,
        premiums_pages,
        insurers_pages,
        exchange_pages,
        intake_pages,  # before cases_pages: /cases/new must not be taken for /cases/{case_id}
        cases_pages,
        investigation_pages,
        appraisal_pages,
        benefits_quote_pages,
        payments_pages,
        letters_pages,
        decision_pages,
        determination_pages,
        claims_pages,
        monthly_pages,
        payments_portal_pages,
        fund_subject_pages,
        disclosure_pages,
        cashplan_pages,
        fund_budget_pages,
        fund_pages,
        supervision_pages,
        audit_web,
        web_pages,
    ):
        app.include_router(module.pages)
    return app
