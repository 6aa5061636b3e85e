"""JSON routes of the register of platform enterprises and of the admission workflow (/api/v1)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Response
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.core import clock
from oip.core.web import DB, TransactionRoute
from oip.platforms import admission, schemas as S, service
from oip.platforms.models import Platform

api = APIRouter(route_class=TransactionRoute)

CODE = Path(description="平台企业编码")


def _detail(db: Session, plat: Platform) -> S.PlatformDetail:
    industry = service.industries(db)[plat.industry_code]
    return S.platform_detail(plat, industry, service.regions_of(db, plat), clock.today())


# ---- register ------------------------------------------------------------------------------------


@api.get("/platforms", response_model=list[S.PlatformOut], tags=["platforms"], summary="平台企业名录")
def list_platforms(status: str | None = None, p: Principal = Depends(Require(P.PLATFORM_READ)), db: Session = DB):
    industries, today = service.industries(db), clock.today()
    return [S.platform_out(x, industries[x.industry_code], today) for x in service.list_platforms(db, p, status)]


@api.post(
    "/platforms",
    response_model=S.PlatformDetail,
    status_code=201,
    tags=["platforms"],
    summary="登记国家确定的试点平台企业",
)
def create_platform(body: S.PlatformCreate, p: Principal = Depends(Require(P.PLATFORM_WRITE)), db: Session = DB):
    return _detail(db, service.create_platform(db, p, **body.model_dump()))


@api.get("/platforms/{code}", response_model=S.PlatformDetail, tags=["platforms"], summary="平台企业详情")
def get_platform(code: str = CODE, p: Principal = Depends(Require(P.PLATFORM_READ)), db: Session = DB):
    return _detail(db, service.get_platform(db, p, code))


@api.patch("/platforms/{code}", response_model=S.PlatformDetail, tags=["platforms"], summary="修改平台企业信息")
def update_platform(
    body: S.PlatformUpdate, code: str = CODE, p: Principal = Depends(Require(P.PLATFORM_WRITE)), db: Session = DB
):
    return _detail(db, service.update_platform(db, p, code, body.model_dump(exclude_unset=True)))


@api.post(
    "/platforms/{code}/names",
    response_model=S.PlatformDetail,
    status_code=201,
    tags=["platforms"],
    summary="登记名称变更",
)
def add_name(body: S.NameIn, code: str = CODE, p: Principal = Depends(Require(P.PLATFORM_WRITE)), db: Session = DB):
    return _detail(db, service.add_name(db, p, code, **body.model_dump()))


@api.post(
    "/platforms/{code}/rates",
    response_model=S.PlatformDetail,
    status_code=201,
    tags=["platforms"],
    summary="调整缴费基准额",
)
def add_rate(body: S.RateIn, code: str = CODE, p: Principal = Depends(Require(P.PLATFORM_WRITE)), db: Session = DB):
    return _detail(db, service.add_rate(db, p, code, **body.model_dump()))


@api.put("/platforms/{code}/regions", response_model=S.PlatformDetail, tags=["platforms"], summary="设定经营地区")
def set_regions(
    body: S.RegionsIn, code: str = CODE, p: Principal = Depends(Require(P.PLATFORM_WRITE)), db: Session = DB
):
    return _detail(db, service.set_regions(db, p, code, body.region_codes))


# ---- API credentials -----------------------------------------------------------------------------

CREDENTIALS = Require(P.CREDENTIALS_MANAGE, P.CREDENTIALS_SELF)


def _credential_out(c) -> S.CredentialOut:
    return S.CredentialOut(
        client_id=c.client_id,
        label=c.label,
        created_at=c.created_at,
        last_used_at=c.last_used_at,
        revoked_at=c.revoked_at,
    )


@api.get(
    "/platforms/{code}/credentials",
    response_model=list[S.CredentialOut],
    tags=["credentials"],
    summary="接口凭证列表（不含密钥）",
)
def list_credentials(code: str = CODE, p: Principal = Depends(CREDENTIALS), db: Session = DB):
    return [_credential_out(c) for c in service.list_credentials(db, p, code)]


@api.post(
    "/platforms/{code}/credentials",
    response_model=S.CredentialSecretOut,
    status_code=201,
    tags=["credentials"],
    summary="签发接口凭证（密钥只显示一次）",
)
def create_credential(
    response: Response,
    body: S.CredentialIn | None = None,
    code: str = CODE,
    p: Principal = Depends(CREDENTIALS),
    db: Session = DB,
):
    client_id, secret = service.issue_credential(db, p, code, body.label if body else "")
    response.headers["Cache-Control"] = "no-store"
    return S.CredentialSecretOut(client_id=client_id, client_secret=secret)


@api.post(
    "/platforms/{code}/credentials/{client_id}/revoke",
    response_model=S.CredentialOut,
    tags=["credentials"],
    summary="吊销接口凭证",
)
def revoke_credential(client_id: str, code: str = CODE, p: Principal = Depends(CREDENTIALS), db: Session = DB):
    return _credential_out(service.revoke_credential(db, p, code, client_id))


# ---- admissions ----------------------------------------------------------------------------------


def _admission(db: Session, p: Principal, admission_id: int) -> S.AdmissionDetail:
    return S.admission_detail(admission.get_admission(db, p, admission_id), clock.today())


@api.get("/admissions", response_model=list[S.AdmissionOut], tags=["admissions"], summary="试点纳入申请列表")
def list_admissions(state: str | None = None, p: Principal = Depends(Require(P.ADMISSION_READ)), db: Session = DB):
    today = clock.today()
    return [S.admission_out(a, today) for a in admission.list_admissions(db, p, state)]


@api.post(
    "/admissions",
    response_model=S.AdmissionDetail,
    status_code=201,
    tags=["admissions"],
    summary="受理平台企业的书面申请",
)
def apply(body: S.ApplicationIn, p: Principal = Depends(Require(P.ADMISSION_DECIDE)), db: Session = DB):
    data = body.model_dump(exclude={"attachments"})
    adm = admission.apply(db, p, **data, attachments=S.uploads(body.attachments))
    return _admission(db, p, adm.id)


@api.get(
    "/admissions/{admission_id}",
    response_model=S.AdmissionDetail,
    tags=["admissions"],
    summary="纳入申请详情（办理过程、附件、异议）",
)
def get_admission(admission_id: int, p: Principal = Depends(Require(P.ADMISSION_READ)), db: Session = DB):
    return _admission(db, p, admission_id)


@api.post(
    "/admissions/{admission_id}/actions/{action}",
    response_model=S.AdmissionDetail,
    tags=["admissions"],
    summary="办理一个步骤：assess、report、consent、publish、conclude、reject、withdraw",
)
def act(
    admission_id: int,
    action: str,
    body: S.ActionIn,
    p: Principal = Depends(Require(P.ADMISSION_DECIDE)),
    db: Session = DB,
):
    admission.act(db, p, admission_id, action, body.step(), S.uploads(body.attachments))
    return _admission(db, p, admission_id)


@api.post(
    "/admissions/{admission_id}/objections",
    response_model=S.AdmissionDetail,
    status_code=201,
    tags=["admissions"],
    summary="登记公示期异议",
)
def record_objection(
    admission_id: int, body: S.ObjectionIn, p: Principal = Depends(Require(P.ADMISSION_DECIDE)), db: Session = DB
):
    admission.record_objection(
        db, p, admission_id, **body.model_dump(exclude={"attachments"}), attachments=S.uploads(body.attachments)
    )
    return _admission(db, p, admission_id)


@api.post(
    "/admissions/{admission_id}/objections/{objection_id}/resolve",
    response_model=S.AdmissionDetail,
    tags=["admissions"],
    summary="处理公示期异议",
)
def resolve_objection(
    admission_id: int,
    objection_id: int,
    body: S.ResolutionIn,
    p: Principal = Depends(Require(P.ADMISSION_DECIDE)),
    db: Session = DB,
):
    admission.resolve_objection(
        db,
        p,
        admission_id,
        objection_id,
        **body.model_dump(exclude={"attachments"}),
        attachments=S.uploads(body.attachments),
    )
    return _admission(db, p, admission_id)


@api.get("/attachments/{attachment_id}", tags=["admissions"], summary="下载附件", response_class=Response)
def download(attachment_id: int, p: Principal = Depends(Require(P.ADMISSION_READ)), db: Session = DB):
    att = admission.get_attachment(db, p, attachment_id)
    return Response(
        att.content,
        media_type=att.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(att.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
