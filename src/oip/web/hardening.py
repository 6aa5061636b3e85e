"""Input and browser hardening for every route of the app (issue 10 §6, §7).

- ``InputGuard`` (ASGI middleware): a C0 control character (NUL …; TAB, LF and CR are allowed) in the
  path, in a query parameter, in a URL-encoded form field or in a JSON string is refused with 422 naming
  the field; JSON nested deeper than the parser can take is refused with 400. PostgreSQL cannot store NUL
  in text, and no field of the platform takes control characters.
- ``check_integer_ranges`` (an app-wide dependency): an integer path or query parameter outside
  PostgreSQL's bigint range is refused with 422 naming it.
- Backstops: a ``DataError`` of the database (a value out of a column's range, a NUL in a multipart text
  field …) is a 422, ``RecursionError`` a 400 — logged, never a 500.
- ``Shell`` (around the whole ASGI stack, so it also sees the responses Starlette makes itself): the
  security headers on every response, and the body-size limit's plain-text 413 rewritten into the
  usual error (JSON, or the Chinese page for a browser).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import typing
from urllib.parse import parse_qsl

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.validation import FIELD_LABELS

log = logging.getLogger(__name__)

# C0 controls and DEL, except TAB, LF, CR (multi-line text fields keep their line breaks).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1

# --- the security headers -------------------------------------------------------------------------------

# No inline script or style anywhere (the templates use classes of /static/oip.css), no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Same-origin: links to other sites carry no Referer at all (URLs hold person ids and search terms);
    # our own pages still get the full Referer (the error pages' "back" link uses it).
    "Referrer-Policy": "same-origin",
}


def docs_csp(html: str) -> str:
    """The policy of Swagger UI's page: its one inline script allowed by hash, inline styles (Swagger UI
    sets them), data: images (its icons)."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    )


def _wants_html(scope: Scope) -> bool:
    return not scope["path"].startswith("/api/") and "text/html" in Headers(scope=scope).get("accept", "")


def error_response(scope: Scope, status: int, code: str, field: str | None, reason: str):
    """The app's error as JSON (``{"error": {code, field, reason}}``) or, for a browser, the Chinese page."""
    if _wants_html(scope):
        title = "输入有误" if status in (400, 422) else "无法完成操作"
        return render(Request(scope), "message.html", status_code=status, title=title, message=reason, kind="error")
    return JSONResponse({"error": {"code": code, "field": field, "reason": reason}}, status_code=status)


class Shell:
    """Outermost layer: security headers on every response; Starlette's plain-text 413 → our error."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replaced = False

        async def send_wrapped(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return  # the body of the response that was replaced
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if message["status"] == 413 and headers.get("content-type", "").startswith("text/plain"):
                    replaced = True
                    limit = scope.get("starlette.max_body_size")  # the limit that refused it (app or route)
                    size = f"（{limit / 1024 / 1024:.0f} MB）" if isinstance(limit, int) else ""
                    reason = f"请求体超过上限{size}，未作任何处理：请拆分后分批上传"
                    response = error_response(scope, 413, "too_large", "body", reason)
                    await response(scope, receive, _with_headers(send))
                    return
                _add_headers(headers)
            await send(message)

        await self.app(scope, receive, send_wrapped)


def _add_headers(headers: MutableHeaders) -> None:
    if "content-security-policy" not in headers:
        headers["Content-Security-Policy"] = CSP
    for k, v in SECURITY_HEADERS.items():
        headers.setdefault(k, v)


def _with_headers(send: Send) -> Send:
    async def inner(message: Message) -> None:
        if message["type"] == "http.response.start":
            _add_headers(MutableHeaders(scope=message))
        await send(message)

    return inner


# --- bad input ------------------------------------------------------------------------------------------


def _label(name: str) -> str:
    return FIELD_LABELS.get(name, name)


def _control_reason(name: str) -> str:
    return f"{_label(name)}：含有不允许的控制字符（如 NUL），请删除后重试"


def _find_control(value, path: tuple = ()) -> tuple | None:
    """The path (keys and indexes) of the first string in a JSON value with a control character."""
    if isinstance(value, str):
        return path if CONTROL.search(value) else None
    if isinstance(value, dict):
        for k, v in value.items():
            if CONTROL.search(k):
                return (*path, k)
            found = _find_control(v, (*path, k))
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = _find_control(v, (*path, i))
            if found is not None:
                return found
    return None


# An escaped control character in JSON text: \u0000–\u001f except \t \n \r, and \u007f.
_JSON_CONTROL = re.compile(rb"\\u00(?:[01][0-8bBcCeEfF]|1[0-9a-fA-F]|7[fF])")


class InputGuard:
    """Refuses control characters in the path, the query, URL-encoded forms and JSON bodies, and JSON
    nested too deep to parse, before any route (or the database) sees them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._check_url(scope)
        if problem is None:
            ctype = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()
            is_json = ctype == "application/json" or ctype.endswith("+json")
            is_form = ctype == "application/x-www-form-urlencoded"
            if (is_json or is_form or not ctype) and scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
                body, receive = await _buffer(receive)
                problem = self._check_body(body, is_form)
        if problem is not None:
            await error_response(scope, *problem)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _check_url(scope: Scope):
        if CONTROL.search(scope["path"]):
            return 422, "invalid", "path", "地址中含有不允许的控制字符（如 NUL）"
        query = scope.get("query_string", b"").decode("latin-1")
        if "%" in query or CONTROL.search(query):
            for name, value in parse_qsl(query, keep_blank_values=True, encoding="utf-8", errors="replace"):
                if CONTROL.search(name) or CONTROL.search(value):
                    return 422, "invalid", CONTROL.sub("", name), _control_reason(CONTROL.sub("", name))
        return None

    @staticmethod
    def _check_body(body: bytes, is_form: bool):
        if not body:
            return None
        if is_form:
            for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True, errors="replace"):
                if CONTROL.search(name) or CONTROL.search(value):
                    return 422, "invalid", CONTROL.sub("", name), _control_reason(CONTROL.sub("", name))
            return None
        try:
            data = json.loads(body)
        except RecursionError:
            return 400, "too_deep", "body", "请求体（JSON）嵌套层数过多，未作任何处理"
        except ValueError:
            return None  # not JSON (or not UTF-8): the route says what it expects
        if _JSON_CONTROL.search(body):
            found = _find_control(data)
            if found is not None:
                names = [x for x in found if isinstance(x, str)]
                field = ".".join(str(x) for x in found) or "body"
                return 422, "invalid", field, _control_reason(names[-1] if names else "请求体")
        return None


async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole body (the app's body-size limit applies to ``receive``) and replay it."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


class OutOfRange(DomainError):
    status_code = 422
    code = "invalid"


def _is_int(annotation) -> bool:
    if annotation is int:
        return True
    return int in typing.get_args(annotation) or any(_is_int(a) for a in typing.get_args(annotation))


def _int_params(dependant):
    for src, fields in (("path", dependant.path_params), ("query", dependant.query_params)):
        for f in fields:
            if _is_int(f.field_info.annotation):
                yield f.alias, src
    for sub in dependant.dependencies:
        yield from _int_params(sub)


def check_integer_ranges(request: Request) -> None:
    """Integer path and query parameters within PostgreSQL's bigint (a request-level check: the route's
    own declaration says which parameters are integers)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    flat = getattr(route, "_oip_int_params", None)
    if flat is None:
        flat = sorted(set(_int_params(dependant)))
        route._oip_int_params = flat
    for name, src in flat:
        values = [request.path_params.get(name)] if src == "path" else request.query_params.getlist(name)
        for v in values:
            try:
                n = int(str(v).strip())
            except (TypeError, ValueError):
                continue  # not an integer: the route's validation says so
            if not BIGINT_MIN <= n <= BIGINT_MAX:
                raise OutOfRange(f"{_label(name)}：超出允许的范围", field=name)


def install(app: FastAPI) -> None:
    """Hook everything into the app; call before the routers are included (the dependency applies to
    routes added afterwards)."""
    app.router.dependencies.append(Depends(check_integer_ranges))
    app.add_middleware(InputGuard)

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError):
        log.warning("refused by the database on %s %s: %s", request.method, request.url.path, exc.orig)
        return error_response(
            request.scope, 422, "invalid", None, "输入的值超出允许的范围或含有不允许的字符，未作任何处理"
        )

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, exc: RecursionError):
        log.warning("recursion limit on %s %s", request.method, request.url.path)
        return error_response(request.scope, 400, "too_deep", "body", "请求内容嵌套层数过多，未作任何处理")

    build = app.build_middleware_stack
    app.build_middleware_stack = lambda: Shell(build())  # type: ignore[method-assign]
