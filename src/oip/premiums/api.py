"""JSON routes of premiums (/api/v1/premiums): declarations, sending to the tax bureau, the tax
bureau's returns, reconciliation and arrears, the yearly float, and the parameters they use."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, Depends, File, Form, UploadFile
from pydantic import BaseModel
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.scope import out_of_scope
from oip.auth.service import Principal
from oip.core import clock
from oip.core.config import get_settings
from oip.core.errors import DomainError, TooLarge
from oip.core.web import DB, TransactionRoute
from oip.exchange.api import OutboxOut, outbox_out
from oip.exchange.models import OutboxItem
from oip.platforms import service as platforms
from oip.premiums import float_figures, floats, reconciliation, schemas as S, service
from oip.premiums.models import PlatformYearExperience
from oip.reference import parameters

api = APIRouter(prefix="/premiums", tags=["premiums"], route_class=TransactionRoute)
# Acting on the tax outbox is a premium action (it redelivers or withdraws declarations): its routes
# live here, under the exchange's path.
outbox_api = APIRouter(prefix="/exchange", tags=["exchange"], route_class=TransactionRoute)


# ---- declarations --------------------------------------------------------------------------------


@api.get(
    "/declarations", response_model=list[S.DeclarationOut], summary="月度保障费核定结果（平台企业只看本企业已推送的）"
)
def list_declarations(
    month: str | None = None,
    platform_code: str | None = None,
    p: Principal = Depends(Require(P.PREMIUM_READ)),
    db: Session = DB,
):
    return [S.declaration_out(d) for d in service.list_declarations(db, p, month, platform_code)]


@api.post("/declarations/compute", response_model=S.DeclareOut, summary="核定（重新计算）某订单月份的保障费")
def compute(body: S.MonthIn, p: Principal = Depends(Require(P.PREMIUM_DECLARE)), db: Session = DB):
    return S.declare_out(service.declare(db, p, body.month, engine=body.engine, platforms_=body.platforms))


@api.post("/declarations/send", response_model=S.SendOut, summary="核定并推送税务（经发件箱，可重发）")
def send(body: S.MonthIn, p: Principal = Depends(Require(P.PREMIUM_DECLARE)), db: Session = DB):
    res = service.send(db, p, body.month, platforms_=body.platforms, engine=body.engine)
    return S.SendOut(
        month=res.month,
        message_id=res.message_id,
        queued_platforms=res.queued,
        deliveries=[S.delivery_out(d) for d in res.deliveries],
        warnings=res.declare.warnings,
        declarations=[S.declaration_out(d) for d in res.declare.declarations],
    )


@api.get("/statement", response_model=S.StatementOut, summary="平台企业的缴费情况：各月应缴、已缴、欠费和差异")
def statement(platform_code: str | None = None, p: Principal = Depends(Require(P.PREMIUM_READ)), db: Session = DB):
    if p.role.scope == "platform":
        plat = platforms.own_platform(db, p)
    elif not platform_code:
        raise DomainError("请指定平台企业编码 platform_code", field="platform_code")
    else:
        plat = platforms.get_platform(db, p, platform_code)
    return S.statement_out(plat, reconciliation.statement(db, p, plat))


# ---- reconciliation ------------------------------------------------------------------------------


@api.get("/reconciliation", response_model=list[S.ReconciliationOut], summary="对账结果（按平台企业和订单月份）")
def reconciliation_rows(
    month: str | None = None,
    flag: str | None = None,
    platform_code: str | None = None,
    p: Principal = Depends(Require(P.PREMIUM_READ)),
    db: Session = DB,
):
    flags = defaultdict(list)
    for f in reconciliation.list_flags(db, p, month=month, platform_code=platform_code, kind=flag):
        flags[(f.platform_id, f.month)].append(f)
    rows = reconciliation.reconciliations(db, p, month, platform_code)
    if flag:
        rows = [r for r in rows if flags.get((r.platform_id, r.month))]
    return [S.reconciliation_out(r, flags.get((r.platform_id, r.month), [])) for r in rows]


@api.post("/reconciliation/run", response_model=list[S.ReconciliationOut], summary="对账（重新核对某订单月份）")
def run_reconciliation(body: S.MonthIn, p: Principal = Depends(Require(P.RECONCILE)), db: Session = DB):
    rows = reconciliation.reconcile(db, p, body.month, platforms_=body.platforms, engine=body.engine)
    flags = defaultdict(list)
    for f in reconciliation.list_flags(db, p, month=body.month):
        flags[f.platform_id].append(f)
    return [S.reconciliation_out(r, flags.get(r.platform_id, [])) for r in rows]


@api.get("/flags", response_model=list[S.FlagOut], summary="对账差异工作清单")
def list_flags(
    month: str | None = None,
    platform_code: str | None = None,
    flag: str | None = None,
    status: str | None = "unresolved",
    p: Principal = Depends(Require(P.PREMIUM_READ)),
    db: Session = DB,
):
    return [
        S.flag_out(f)
        for f in reconciliation.list_flags(db, p, month=month, platform_code=platform_code, kind=flag, status=status)
    ]


@api.post("/flags/{id}/handle", response_model=S.FlagOut, summary="登记差异的处理情况")
def handle_flag(
    id: int,
    body: S.HandleIn,
    p: Principal = Depends(Require(P.RECONCILE)),  # noqa: A002
    db: Session = DB,
):
    return S.flag_out(reconciliation.handle_flag(db, p, id, body.note))


# ---- the tax bureau's returns --------------------------------------------------------------------


@api.post("/returns", response_model=S.ImportOut, summary="上传税务回执文件（tax-v1 JSON 或 CSV，附签名）")
def upload_returns(
    file: UploadFile = File(description="回执文件 .json 或 .csv"),
    signature: str | None = Form(None, description="文件的 HMAC-SHA256 签名（十六进制），即 .sig 文件内容"),
    p: Principal = Depends(Require(P.RECONCILE)),
    db: Session = DB,
):
    limit = get_settings().upload_max_bytes
    body = file.file.read(limit + 1)
    if len(body) > limit:
        raise TooLarge("回执文件超过上传大小限制", field="file")
    rep = reconciliation.upload_returns(db, p, file.filename or "", body, signature)
    first = rep.received[0]
    if first.status != "imported":
        db.commit()  # the refused or duplicate file stays in the exchange log
        raise DomainError(f"回执文件未导入：{first.reason}", field="file")
    return S.ImportOut(**rep.as_dict())


@api.post("/returns/fetch", response_model=S.ImportOut, summary="从税务交换通道获取并导入回执")
def fetch_returns(p: Principal = Depends(Require(P.RECONCILE)), db: Session = DB):
    rep = reconciliation.fetch_returns(db, p)
    db.commit()
    rep.settle()
    return S.ImportOut(**rep.as_dict())


# ---- the yearly float ----------------------------------------------------------------------------


@api.get("/floats", response_model=list[S.ProposalOut], summary="年度费率浮动档次测算")
def list_floats(year: int | None = None, p: Principal = Depends(Require(P.FLOAT_DECIDE)), db: Session = DB):
    return [S.proposal_out(f) for f in floats.list_proposals(db, p, year or clock.today().year + 1)]


@api.post("/floats/propose", response_model=list[S.ProposalOut], summary="按上年度数据测算各平台企业的浮动档次")
def propose(body: S.ProposeIn, p: Principal = Depends(Require(P.FLOAT_DECIDE)), db: Session = DB):
    return [S.proposal_out(f) for f in floats.propose_floats(db, p, body.year)]


@api.post("/floats/{id}/approve", response_model=S.ProposalOut, summary="核定浮动档次（自当年 1 月 1 日起执行）")
def approve(
    id: int,
    body: S.ApproveIn,
    p: Principal = Depends(Require(P.FLOAT_DECIDE)),  # noqa: A002
    db: Session = DB,
):
    return S.proposal_out(floats.approve_float(db, p, id, body.k, body.reason))


@api.post("/floats/{id}/reject", response_model=S.ProposalOut, summary="退回浮动档次测算")
def reject(
    id: int,
    body: S.RejectIn,
    p: Principal = Depends(Require(P.FLOAT_DECIDE)),  # noqa: A002
    db: Session = DB,
):
    return S.proposal_out(floats.reject_float(db, p, id, body.reason))


def _figures_out(plat, fig) -> S.FiguresOut:
    d = fig.as_dict()
    return S.FiguresOut(platform_code=plat.code, platform_name=plat.display_name(clock.today()), **d)


@api.get(
    "/experience/{year}",
    response_model=list[S.FiguresOut],
    summary="各平台企业某年度的赔付、职业伤害人数和年平均参保人数（按业务数据计算，或人工录入及其理由）",
)
def list_figures(year: int, p: Principal = Depends(Require(P.FLOAT_DECIDE)), db: Session = DB):
    return [_figures_out(plat, fig) for plat, fig in floats.year_figures(db, p, year)]


@api.put(
    "/experience/{platform_code}/{year}",
    response_model=S.ExperienceOut,
    summary="人工录入平台企业某年度的赔付、伤害人数和平均参保人数（代替按业务数据计算的数字，须填写理由）",
)
def set_experience(
    platform_code: str,
    year: int,
    body: S.ExperienceIn,
    p: Principal = Depends(Require(P.FLOAT_DECIDE)),
    db: Session = DB,
):
    row: PlatformYearExperience = floats.set_experience(db, p, platform_code, year, **body.model_dump())
    return S.ExperienceOut(
        platform_code=platform_code,
        year=row.year,
        claims_fen=row.claims_fen,
        injuries=row.injuries,
        insured_avg=row.insured_avg,
        source=row.source,
        reason=row.reason,
        entered_at=row.entered_at,
    )


@api.post(
    "/experience/{platform_code}/{year}/clear",
    response_model=S.FiguresOut,
    summary="撤销人工录入，恢复按业务数据计算（须填写理由）",
)
def clear_experience(
    platform_code: str,
    year: int,
    body: S.ClearExperienceIn,
    p: Principal = Depends(Require(P.FLOAT_DECIDE)),
    db: Session = DB,
):
    floats.clear_experience(db, p, platform_code, year, reason=body.reason)
    plat = platforms.get_platform(db, p, platform_code)
    return _figures_out(plat, float_figures.figures(db, plat, year))


# ---- parameters ----------------------------------------------------------------------------------


@api.get("/parameters", response_model=list[S.ParameterOut], summary="保障费和税务交换的业务参数（含历史）")
def list_parameters(p: Principal = Depends(Require(P.PREMIUM_READ)), db: Session = DB):
    rows = parameters.history(db, list(parameters.DEFINITIONS))
    have = {r.key for r in rows}
    out = [
        S.ParameterOut(
            key=r.key,
            label=parameters.DEFINITIONS[r.key].label,
            value=r.value,
            valid_from=r.valid_from,
            valid_to=r.valid_to,
            note=r.note,
            changed_at=r.changed_at,
        )
        for r in rows
    ]
    out += [
        S.ParameterOut(
            key=k,
            label=d.label,
            value=d.default,
            valid_from=parameters.PILOT_START,
            valid_to=None,
            note=d.note + "（默认值，尚未入库）",
            changed_at=None,
        )
        for k, d in parameters.DEFINITIONS.items()
        if k not in have
    ]
    return out


class WithdrawIn(BaseModel):
    reason: str


@outbox_api.post(
    "/outbox/{id}/withdraw",
    response_model=OutboxOut,
    summary="撤回税务拒收的消息（其核定退回“核定中”，下次推送时重新生成）",
)
def withdraw(
    id: int,
    body: WithdrawIn,
    p: Principal = Depends(Require(P.PREMIUM_DECLARE)),  # noqa: A002
    db: Session = DB,
):
    item = db.get(OutboxItem, id)
    if item is None:
        raise out_of_scope("发件箱消息")
    return outbox_out(service.withdraw(db, p, item.message_id, body.reason))


@outbox_api.post("/outbox/deliver", response_model=list[OutboxOut], summary="重发发件箱中未送达的消息")
def deliver(p: Principal = Depends(Require(P.PREMIUM_DECLARE)), db: Session = DB):
    return [outbox_out(d.item) for d in service.deliver_pending(db, p)]
