"""JSON routes of the register of insurer contracts (/api/v1/insurers/contracts)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.core.web import DB, TransactionRoute
from oip.insurers import schemas as S, service

api = APIRouter(route_class=TransactionRoute, tags=["insurers"])


@api.get("/insurers/contracts", response_model=S.ContractPage, summary="受托保险机构协议列表")
def list_contracts(
    insurer_code: str | None = Query(None, description="受托保险机构的机构编码"),
    city_code: str | None = Query(None, description="服务城市的区划代码，如 450100"),
    service_code: str | None = Query(None, alias="service", description="受托服务事项，如 investigation"),
    status: str | None = Query(None, description="active 履行中 / terminated 已终止"),
    on: dt.date | None = Query(None, description="只列出该日履行中的协议"),
    page: int = Query(1, ge=1, le=1_000_000),
    size: int = Query(50, ge=1, le=200),
    p: Principal = Depends(Require(P.INSURER_CONTRACT_READ)),
    db: Session = DB,
):
    """Contracts in your data scope: the region all, a city or county office those covering its city,
    an insurer its own."""
    res = service.list_contracts(
        db,
        p,
        insurer_code=insurer_code,
        city_code=city_code,
        service=service_code,
        status=status,
        on=on,
        page=page,
        size=size,
    )
    cities = service.city_names(db)
    return S.ContractPage(
        total=res.total, page=res.page, size=res.size, items=[S.contract_out(c, cities) for c in res.items]
    )


@api.post("/insurers/contracts", response_model=S.ContractOut, status_code=201, summary="登记受托保险机构协议")
def create_contract(
    body: S.ContractCreate, p: Principal = Depends(Require(P.INSURER_CONTRACT_MANAGE)), db: Session = DB
):
    c = service.create(db, p, **body.model_dump())
    return S.contract_out(c, service.city_names(db))


@api.get("/insurers/contracts/{contract_id}", response_model=S.ContractOut, summary="受托保险机构协议详情")
def get_contract(contract_id: int, p: Principal = Depends(Require(P.INSURER_CONTRACT_READ)), db: Session = DB):
    return S.contract_out(service.get_contract(db, p, contract_id), service.city_names(db))


@api.patch("/insurers/contracts/{contract_id}", response_model=S.ContractOut, summary="变更受托保险机构协议")
def amend_contract(
    body: S.ContractAmend,
    contract_id: int,
    p: Principal = Depends(Require(P.INSURER_CONTRACT_MANAGE)),
    db: Session = DB,
):
    changes = {
        k: v for k, v in body.model_dump(exclude_unset=True, exclude={"reason", "version"}).items() if v is not None
    }
    c = service.amend(db, p, contract_id, changes, reason=body.reason, version=body.version)
    return S.contract_out(c, service.city_names(db))


@api.post("/insurers/contracts/{contract_id}/terminate", response_model=S.ContractOut, summary="终止受托保险机构协议")
def terminate_contract(
    body: S.ContractTerminate,
    contract_id: int,
    p: Principal = Depends(Require(P.INSURER_CONTRACT_MANAGE)),
    db: Session = DB,
):
    c = service.terminate(
        db, p, contract_id, terminated_on=body.terminated_on, reason=body.reason, version=body.version
    )
    return S.contract_out(c, service.city_names(db))
