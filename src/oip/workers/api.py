"""JSON API of the register of workers (mounted under /api/v1).

Platforms' systems register their workers one by one, in JSON batches or as a CSV file, and
report when a worker leaves; agencies may do the same on behalf of a named platform. Reads are
scoped and masked; the full view needs a permission and a stated purpose.

Routes that take a body parse it themselves so that every mistake is answered in Chinese, naming
the field (and the row in a batch); the OpenAPI document still describes the bodies."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.core.config import get_settings
from oip.core.errors import DomainError, TooLarge
from oip.core.web import DB, TransactionRoute
from oip.platforms.models import Platform
from oip.reference.service import region_names
from oip.workers import csvio, rules, schemas as S, service
from oip.workers.scope import sees_person_ids

api = APIRouter(tags=["workers"], route_class=TransactionRoute)


class Unprocessable(DomainError):
    status_code = 422
    code = "invalid"


_REJECTED = {422: {"description": "记录被拒绝：error 为第一条原因，errors 列出全部原因（字段 + 原因）"}}


async def _json_body(request: Request) -> Any:
    ctype = request.headers.get("content-type", "")
    if ctype and "json" not in ctype:
        raise DomainError(
            f"请求体应为 JSON（Content-Type: application/json），而不是 {ctype.split(';')[0]}", field="body"
        )
    raw = await csvio.read_body(request)
    if not raw.strip():
        raise DomainError("请求体为空", field="body")
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise DomainError("请求体应为 UTF-8 编码的 JSON", field="body") from None
    except json.JSONDecodeError as e:
        raise DomainError(
            f"请求体不是合法的 JSON：第 {e.lineno} 行第 {e.colno} 列附近（{e.msg}）", field="body"
        ) from None


def _platforms(db: Session, ids: set[int]) -> dict[int, Platform]:
    return {p.id: p for p in db.scalars(select(Platform).where(Platform.id.in_(ids)))} if ids else {}


# ---- writes ----------------------------------------------------------------------------------------


def _register_one(db: Session, p: Principal, body: dict) -> JSONResponse:
    plat = service.resolve_platform(db, p, body.get("platform_code"))
    o = service.register(db, p, plat, [body], source="api", keep_batch=False).outcomes[0]
    if o.status == "rejected":
        first = o.reasons[0]
        return JSONResponse(
            {
                "error": {"code": "invalid", "field": first["field"], "reason": first["reason"]},
                "errors": o.reasons,
                "warnings": o.warnings,
            },
            status_code=422,
        )
    return JSONResponse(
        S.RegistrationOut(
            person_id=o.person_id if sees_person_ids(p) else None, status=o.status, warnings=o.warnings
        ).model_dump(),
        status_code=201,
    )


@api.post(
    "/workers",
    status_code=201,
    response_model=S.RegistrationOut,
    summary="报送一名从业人员",
    responses=_REJECTED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": S.inline_schema(S.RegistrationIn)}},
        }
    },
)
async def register_one(
    request: Request,
    _limit: None = Depends(csvio.limit_body),
    p: Principal = Depends(Require(P.WORKER_REGISTER)),
    db: Session = DB,
):
    """Creates the person (or finds them by ID number) and the platform account, or updates the
    account's phone, county and registration date. ``status``: created | updated | unchanged."""
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise Unprocessable("请求体应为一条记录（JSON 对象）；批量报送请用 POST /api/v1/workers/batch", field="body")
    return await run_in_threadpool(_register_one, db, p, body)


def _register_batch(db: Session, p: Principal, records: list, platform_code: Any) -> dict:
    plat = service.resolve_platform(db, p, platform_code)
    return service.register(db, p, plat, records, source="json").as_dict()


@api.post(
    "/workers/batch",
    response_model=S.BatchOut,
    summary="批量报送从业人员",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": S.batch_request_schema()}}}
    },
)
async def register_batch(
    request: Request,
    _limit: None = Depends(csvio.limit_body),
    p: Principal = Depends(Require(P.WORKER_REGISTER)),
    db: Session = DB,
):
    """A JSON array of records, or ``{"platform_code": ..., "records": [...]}``. One transaction:
    the accepted records are stored, every rejected one is reported with its row (1-based), field
    and reason; ``received = accepted + rejected``."""
    body = await _json_body(request)
    if isinstance(body, list):
        records, platform_code = body, None
    elif isinstance(body, dict) and "records" in body:
        records, platform_code = body["records"], body.get("platform_code")
        if not isinstance(records, list):
            raise Unprocessable("records 应为记录数组", field="records")
    else:
        raise Unprocessable(
            '请求体应为记录数组，或 {"platform_code": "...", "records": [...]} 对象；单条报送请用 POST /api/v1/workers',
            field="body",
        )
    if not records:
        raise Unprocessable("批次中没有记录", field="records")
    limit = get_settings().batch_max_records
    if len(records) > limit:
        raise TooLarge(f"单批最多 {limit} 条记录，本批 {len(records)} 条：请拆分后分批报送", field="records")
    return JSONResponse(await run_in_threadpool(_register_batch, db, p, records, platform_code))


def _import(db: Session, p: Principal, upload: csvio.Upload) -> dict:
    result, parsed = csvio.import_upload(db, p, upload)
    return {
        **result.as_dict(),
        "filename": upload.filename,
        "encoding": parsed.encoding,
        "ignored_columns": parsed.ignored_columns,
    }


@api.post(
    "/workers/upload",
    response_model=S.UploadOut,
    summary="上传 CSV 文件报送从业人员",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {
                                "type": "string",
                                "format": "binary",
                                "description": "CSV（UTF-8 或 GBK），表头 platform_account_id,name,id_number,phone,"
                                "county_code,registered_on 或 平台账号,姓名,身份证号码,手机号码,接单地区划代码,注册日期",
                            },
                            "platform_code": {
                                "type": "string",
                                "description": "平台企业编码（社保经办机构代报时必填）",
                            },
                        },
                    }
                }
            },
        }
    },
)
async def upload(
    request: Request,
    _limit: None = Depends(csvio.limit_body),
    p: Principal = Depends(Require(P.WORKER_REGISTER)),
    db: Session = DB,
):
    """The same upload as the platform portal. Row numbers in the result are the file's line
    numbers (the header is line 1). A file that cannot be read as a whole (encoding, header, size)
    is refused with 400/413 and nothing is stored."""
    up = await csvio.read_upload(request)
    return JSONResponse(await run_in_threadpool(_import, db, p, up))


def _set_status(db: Session, p: Principal, body: dict) -> S.StatusOut:
    plat = service.resolve_platform(db, p, body.get("platform_code"))
    status = body.get("status")
    if status not in service.STATUSES:
        raise Unprocessable("status 应为 active（在册）或 left（已退出）", field="status")
    on = None
    if body.get("effective_on") not in (None, ""):
        if not isinstance(body["effective_on"], str):
            raise Unprocessable("effective_on 应为日期字符串 YYYY-MM-DD", field="effective_on")
        try:
            on = rules.parse_day(body["effective_on"], "生效日期")
        except DomainError as e:
            raise Unprocessable(e.reason, field="effective_on") from None
    account_id = body.get("platform_account_id")
    if not isinstance(account_id, (str, int)) or isinstance(account_id, bool) or not str(account_id).strip():
        raise Unprocessable("平台账号必填", field="platform_account_id")
    acc, changed = service.set_status(db, p, plat, str(account_id), status, on)
    return S.StatusOut(
        platform_code=plat.code,
        platform_account_id=acc.account_id,
        status=acc.status,
        status_on=acc.status_on,
        changed=changed,
    )


@api.post(
    "/workers/status",
    response_model=S.StatusOut,
    summary="报送人员状态变更（退出或恢复）",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": S.inline_schema(S.StatusIn)}}}
    },
)
async def set_status(
    request: Request,
    _limit: None = Depends(csvio.limit_body),
    p: Principal = Depends(Require(P.WORKER_REGISTER)),
    db: Session = DB,
):
    """``{"platform_account_id", "status": "active"|"left", "effective_on", "platform_code"?}``.
    Reporting the same status and date again changes nothing (``changed: false``)."""
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise Unprocessable("请求体应为 JSON 对象", field="body")
    return await run_in_threadpool(_set_status, db, p, body)


# ---- reads -----------------------------------------------------------------------------------------


def _search(db: Session, p: Principal, **kw) -> S.WorkerPage:
    res = service.search(db, p, **kw)
    counties = region_names(db)
    return S.WorkerPage(
        total=res.total,
        page=res.page,
        size=res.size,
        items=[S.worker_item(a, counties, not sees_person_ids(p)) for a in res.items],
    )


@api.get("/workers", response_model=S.WorkerPage, summary="查询从业人员名册（脱敏）")
def list_workers(
    q: str | None = Query(None, description="姓名前缀、平台账号，或完整的身份证号码/手机号码"),
    platform_code: str | None = None,
    region: str | None = Query(None, description="接单地区划代码前缀，如 4501（南宁市）"),
    status: str | None = Query(None, description="active 在册 / left 已退出"),
    page: int = Query(1, ge=1),
    size: int = Query(50, ge=1, le=200),
    p: Principal = Depends(Require(P.WORKER_READ)),
    db: Session = DB,
):
    """Registrations in your data scope, one item per platform account, ID and phone masked.
    To look a person up by ID or mobile number without the number appearing in URLs and access
    logs, prefer POST /api/v1/workers/search."""
    return _search(db, p, q=q, platform_code=platform_code, region=region, status=status, page=page, size=size)


_SEARCH_KEYS = {"q": str, "platform_code": str, "region": str, "status": str, "page": int, "size": int}


def _search_body(db: Session, p: Principal, body: dict) -> S.WorkerPage:
    kw: dict[str, Any] = {}
    for key, kind in _SEARCH_KEYS.items():
        v = body.get(key)
        if v is None:
            continue
        if kind is int and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
            raise Unprocessable(f"{key} 应为正整数", field=key)
        if kind is str and not isinstance(v, str):
            raise Unprocessable(f"{key} 应为字符串", field=key)
        kw[key] = v
    if kw.get("size", 50) > 200:
        raise Unprocessable("size 不能超过 200", field="size")
    return _search(db, p, **kw)


@api.post(
    "/workers/search",
    response_model=S.WorkerPage,
    summary="查询从业人员名册（条件放在请求体中）",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "q": {"type": "string", "description": "姓名前缀、平台账号，或完整的身份证号码/手机号码"},
                            "platform_code": {"type": "string"},
                            "region": {"type": "string"},
                            "status": {"type": "string", "enum": ["active", "left"]},
                            "page": {"type": "integer", "minimum": 1},
                            "size": {"type": "integer", "minimum": 1, "maximum": 200},
                        },
                    }
                }
            },
        }
    },
)
async def search_workers(
    request: Request,
    _limit: None = Depends(csvio.limit_body),
    p: Principal = Depends(Require(P.WORKER_READ)),
    db: Session = DB,
):
    """The same search as GET /api/v1/workers, with the conditions in the body, so that an ID or
    mobile number looked up never appears in a URL."""
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise Unprocessable("请求体应为 JSON 对象", field="body")
    return await run_in_threadpool(_search_body, db, p, body)


@api.get("/workers/batches", response_model=list[S.BatchSummary], summary="报送批次")
def list_batches(
    platform_code: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    p: Principal = Depends(Require(P.WORKER_REGISTER)),
    db: Session = DB,
):
    """A platform sees its own batches; social insurance agencies see every platform's."""
    platform_id = None
    if platform_code:
        platform_id = db.scalar(select(Platform.id).where(Platform.code == platform_code))
        if platform_id is None:
            return []
    rows = service.batches(db, p, platform_id=platform_id, limit=limit)
    plats = _platforms(db, {b.platform_id for b in rows})
    return [S.batch_summary(b, plats) for b in rows]


@api.get("/workers/batches/{batch_id}", response_model=S.BatchDetail, summary="报送批次结果")
def get_batch(batch_id: int, p: Principal = Depends(Require(P.WORKER_REGISTER)), db: Session = DB):
    b = service.get_batch(db, p, batch_id)
    summary = S.batch_summary(b, _platforms(db, {b.platform_id})).model_dump(mode="json")
    return JSONResponse({**summary, "results": b.results or []})


@api.get(
    "/workers/batches/{batch_id}/rejects.csv",
    summary="被拒绝记录清单（CSV，UTF-8 带 BOM）",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def batch_rejects(batch_id: int, p: Principal = Depends(Require(P.WORKER_REGISTER)), db: Session = DB):
    b = service.get_batch(db, p, batch_id)
    return Response(
        csvio.rejects_csv(b.results or []),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="rejects-batch-{b.id}.csv"'},
    )


class MethodNotAllowed(DomainError):
    status_code = 405
    code = "method_not_allowed"


@api.get("/workers/{person_id}", response_model=S.PersonOut, summary="从业人员详情")
def get_person(
    person_id: int,
    full: str | None = Query(
        None, include_in_schema=False, description="已停用：完整查看请用 POST /api/v1/workers/{person_id}/full"
    ),
    purpose: str | None = Query(None, description="查询事由（留痕）"),
    p: Principal = Depends(Require(P.WORKER_READ)),
    db: Session = DB,
):
    """Masked, with the platform accounts in your data scope. The clear numbers are a POST
    (``/workers/{person_id}/full``), never a GET: a link cannot trigger an audited full view."""
    if full is not None and full.strip().lower() not in ("", "false", "0"):
        raise MethodNotAllowed(
            '查看完整证件号码和手机号请用 POST /api/v1/workers/{person_id}/full，请求体 {"purpose": "查询事由"}'
            "（GET 不再提供完整查看）",
            field="full",
        )
    person, accounts, _clear = service.get_person(db, p, person_id, purpose=purpose)
    return S.person_out(person, accounts, None, region_names(db), p.role.scope == "platform")


def _full(db: Session, p: Principal, person_id: int, purpose: Any) -> JSONResponse:
    if purpose is not None and not isinstance(purpose, str):
        raise Unprocessable("查询事由应为文本", field="purpose")
    person, accounts, clear = service.get_person(db, p, person_id, full=True, purpose=purpose)
    resp = S.person_out(person, accounts, clear, region_names(db), p.role.scope == "platform")
    return JSONResponse(resp.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


@api.post(
    "/workers/{person_id}/full",
    response_model=S.PersonOut,
    summary="查看完整证件号码和手机号（须填写事由，留痕）",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["purpose"],
                        "properties": {"purpose": {"type": "string", "description": "查询事由"}},
                    }
                }
            },
        }
    },
)
async def get_person_full(
    person_id: int,
    request: Request,
    p: Principal = Depends(Require(P.WORKER_READ_FULL)),
    db: Session = DB,
):
    """The clear ID and phone numbers for agencies holding worker.read_full, with a stated
    ``purpose`` (``{"purpose": "…"}``), audited as ``worker.view_full``. A POST, so that a browser
    session needs its CSRF token (header ``X-CSRF-Token``) and a cross-site link cannot trigger it."""
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise Unprocessable('请求体应为 JSON 对象，如 {"purpose": "查询事由"}', field="body")
    return await run_in_threadpool(_full, db, p, person_id, body.get("purpose"))
