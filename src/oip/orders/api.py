"""JSON API of the order ledger (mounted under /api/v1): upload of order files, batches and their
rejects, coverage at a moment, insured counts. The interface is docs/interfaces/orders-v1.md.

An upload is streamed to a file under ``var/ingest/uploads`` in chunks — the request body is never
held in memory — and imported from there; the response comes when the batch is published."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.core.config import get_settings
from oip.core.errors import DomainError, TooLarge
from oip.core.web import DB, TransactionRoute, in_transaction
from oip.orders import coverage, ingest, schemas as S, scope, service
from oip.workers.service import find_person

api = APIRouter(tags=["orders"], route_class=TransactionRoute)

_CHUNK = 1 << 20
_ENVELOPE = 1 << 20  # multipart boundaries and the small form fields around the file
_CONTENT_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
    "application/jsonlines": "jsonl",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    "application/parquet": "parquet",
}


class UnsupportedMediaType(DomainError):
    status_code = 415
    code = "unsupported_media_type"


def _too_large() -> TooLarge:
    limit = get_settings().order_upload_max_bytes
    return TooLarge(
        f"文件超过上限（{limit / 1024**3:g} GiB），未作任何处理：请拆分后分批上传，或使用 oip orders import 导入",
        field="file",
    )


def _spool_path(suffix: str) -> Path:
    d = get_settings().var_dir / "ingest" / "uploads"
    d.mkdir(parents=True, exist_ok=True)
    return d / f"upload-{secrets.token_hex(8)}{suffix}"


def sniff_format(path: Path) -> str:
    """csv, jsonl or parquet from the first bytes of a file (when neither the request nor the file
    name says)."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "jsonl"
    return "csv"


async def _spool(chunks, suffix: str, limit: int) -> tuple[Path, int]:
    """Write an async stream of bytes to a new spool file, refusing more than ``limit`` bytes;
    nothing is left behind on any error."""
    path = _spool_path(suffix)
    size = 0
    try:
        with open(path, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise _too_large()
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, size


async def receive_file(request: Request) -> tuple[Path, str | None, str | None, dict[str, str]]:
    """Stream the uploaded file to disk. Returns (path, file name, format from the request, form
    fields). The raw request body is the file, or a multipart form with the field ``file``."""
    limit = get_settings().order_upload_max_bytes
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=10)
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise DomainError("请选择要上传的订单文件（表单字段 file）", field="file")
            name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1][:200] or None

            async def parts():
                while chunk := await upload.read(_CHUNK):
                    yield chunk

            path, _ = await _spool(parts(), Path(name or "").suffix[:16], limit)
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            return path, name, _CONTENT_TYPES.get((upload.content_type or "").lower()), fields
        finally:
            await form.close()
    if ctype in ("application/json", "application/x-www-form-urlencoded"):
        raise UnsupportedMediaType(
            f"请求体应为订单文件本身（Content-Type: text/csv、application/x-ndjson 或 application/vnd.apache.parquet），"
            f"而不是 {ctype}；JSON Lines 文件请用 application/x-ndjson 或加参数 format=jsonl",
            field="body",
        )
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _too_large()
    path, size = await _spool(request.stream(), "", limit)
    if size == 0:
        path.unlink(missing_ok=True)
        raise DomainError("请求体为空：请把订单文件作为请求体上传", field="body")
    return path, None, _CONTENT_TYPES.get(ctype), {}


def _import(
    db: Session, p: Principal, path: Path, platform_code: str | None, fmt: str | None, filename: str | None, source: str
) -> dict:
    return service.result_dict(
        service.import_upload(db, p, path, platform_code=platform_code, fmt=fmt, filename=filename, source=source)
    )


async def upload_and_import(
    request: Request, db: Session, p: Principal, platform_code: str | None, fmt: str | None, source: str
) -> dict:
    if fmt is not None and fmt not in ingest.FORMATS:
        raise DomainError(f"format 应为 csv、jsonl 或 parquet，而不是 {fmt[:20]}", field="format")
    # Refuse a platform the caller may not report for before receiving the file (an agency may also
    # name the platform in the multipart form: checked after).
    if platform_code is not None or p.role.scope == "platform":
        await in_transaction(service.import_platform, db, p, platform_code)  # ends before the upload streams in
    path, name, declared, fields = await receive_file(request)
    try:
        platform_code = platform_code or fields.get("platform_code") or None
        fmt = fmt or (fields.get("format") or None) or ingest.guess_format(name) or declared or sniff_format(path)
        if fmt not in ingest.FORMATS:
            raise DomainError(f"format 应为 csv、jsonl 或 parquet，而不是 {fmt[:20]}", field="format")
        return await run_in_threadpool(_import, db, p, path, platform_code, fmt, name or f"upload.{fmt}", source)
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


_UPLOAD_LIMIT = get_settings().order_upload_max_bytes + _ENVELOPE


@api.post(
    "/orders/batches",
    status_code=201,
    response_model=S.ImportOut,
    summary="上传订单数据文件（一个文件为一个批次）",
    max_body_size=_UPLOAD_LIMIT,
    responses={
        400: {"description": "文件无法读取（格式、编码、表头），未导入任何数据"},
        403: {"description": "不能为其他平台报送"},
        413: {"description": "文件超过上限"},
        415: {"description": "请求体类型不是订单文件"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string", "format": "binary"}},
                "application/x-ndjson": {"schema": {"type": "string", "format": "binary"}},
                "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "format": {"type": "string", "enum": list(ingest.FORMATS)},
                        },
                    }
                },
            },
        }
    },
)
async def upload(
    request: Request,
    platform_code: str | None = Query(None, description="平台企业编码（平台用户可省略：只能报送本企业）"),
    format: str | None = Query(None, description="csv | jsonl | parquet（省略时按文件名、Content-Type 或内容判断）"),
    p: Principal = Depends(Require(P.ORDER_IMPORT)),
    db: Session = DB,
):
    """The file is the raw request body (or the field ``file`` of a multipart form). Every row is
    validated; rejected rows are listed with their row number and reason in the rejects file; exact
    repeats are duplicates; a changed order is stored as a new version. The batch is published
    atomically when the response is sent: ``received = accepted + rejected + duplicates``."""
    res = await upload_and_import(request, db, p, platform_code, format, "api")
    return JSONResponse(res, status_code=201)


@api.get("/orders/batches", response_model=list[S.BatchOut], summary="订单数据批次")
def list_batches(
    platform_code: str | None = None,
    status: str | None = Query(None, description="staging | published | failed"),
    limit: int = Query(50, ge=1, le=500),
    p: Principal = Depends(Require(P.ORDER_READ)),
    db: Session = DB,
):
    """Newest first. A platform sees its own batches."""
    return [
        service.batch_dict(b)
        for b in service.list_batches(db, p, platform_code=platform_code, status=status, limit=limit)
    ]


@api.get("/orders/batches/{batch_id}", response_model=S.BatchOut, summary="订单数据批次详情")
def get_batch(batch_id: int, p: Principal = Depends(Require(P.ORDER_READ)), db: Session = DB):
    return service.batch_dict(service.get_batch(db, p, batch_id))


@api.get(
    "/orders/batches/{batch_id}/rejects.csv",
    summary="被拒绝记录清单（CSV，UTF-8 带 BOM）",
    response_class=FileResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def batch_rejects(batch_id: int, p: Principal = Depends(Require(P.ORDER_READ)), db: Session = DB):
    """Columns: row, reason, the 15 fields of the record as received, raw (a line that could not be
    parsed at all). The batch's platform and the province get the whole file; a city or county only
    the records whose county code lies in its region (the records carry places and coordinates)."""
    b = service.get_batch(db, p, batch_id)
    name = f"rejects-batch-{batch_id}.csv"
    if scope.sees_every_reject(p):
        return FileResponse(service.rejects_path(b), media_type="text/csv; charset=utf-8", filename=name)
    return StreamingResponse(
        service.rejects_csv(b, p),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _coverage(
    db: Session,
    p: Principal,
    at: str,
    person_id: int | None,
    platform_code: str | None,
    account_id: str | None,
    *,
    id_number: str | None = None,
    name: str | None = None,
    phone: str | None = None,
    purpose: str | None = None,
) -> dict:
    when = coverage.parse_at(at)
    if id_number or name or phone:
        person_id = find_person(db, p, id_number=id_number, name=name, phone=phone, purpose="查询某时点的保障状态")
    return coverage.covered_at(
        db, at=when, person_id=person_id, platform_code=platform_code, account_id=account_id, actor=p, purpose=purpose
    ).as_dict()


@api.get("/coverage", response_model=S.CoverageOut, summary="某时点是否在保、由哪一单保障")
def get_coverage(
    at: str = Query(..., description="时点，带时区的 ISO 8601，如 2026-08-01T12:30:00+08:00"),
    person_id: int | None = Query(None, description="人员 ID（跨该人员的所有平台账号）"),
    platform_code: str | None = Query(None, description="平台企业编码（与 account_id 同用）"),
    account_id: str | None = Query(None, description="平台账号"),
    purpose: str | None = Query(None, description="查询事由（留痕）"),
    p: Principal = Depends(Require(P.COVERAGE_READ)),
    db: Session = DB,
):
    """Covered when the moment lies in an order's window (accepted_at … finished_at, cancelled orders
    included) on a platform covered on that date. Also the nearest orders before and after. Only the
    platform accounts in your data scope are asked about; every look-up is audited
    (``coverage.lookup``) with the person as its subject."""
    return _coverage(db, p, at, person_id, platform_code, account_id, purpose=purpose)


@api.post("/coverage", response_model=S.CoverageOut, summary="某时点是否在保（按身份证号码或姓名、手机号码查询）")
def post_coverage(body: S.CoverageQuery, p: Principal = Depends(Require(P.COVERAGE_READ)), db: Session = DB):
    """The same answer as GET /coverage, asked in the body so that an ID or mobile number never
    appears in a URL: by ``id_number``, or ``name`` + ``phone`` (found through the blind index among
    the people in your scope, audited as a read of personal data), or as in GET."""
    return _coverage(
        db,
        p,
        body.at,
        body.person_id,
        body.platform_code,
        body.account_id,
        id_number=body.id_number,
        name=body.name,
        phone=body.phone,
        purpose=body.purpose,
    )


@api.get("/orders/insured", response_model=S.InsuredOut, summary="参保人数（有订单的人员数）与订单数")
def insured(
    month: str = Query(..., description="YYYY-MM"),
    day: dt.date | None = Query(None, description="该月中的某日（省略为全月）"),
    p: Principal = Depends(Require(P.ORDER_READ)),
    db: Session = DB,
):
    """Distinct persons with at least one order, per platform and per city (prefecture), in your
    data scope (a city its city, a platform itself)."""
    return service.insured_counts(db, p, month=month, day=day).as_dict()
