"""The data scope of insurer contracts: which contracts a principal sees.

- region scope: the whole province sees every contract; a city (or a county inside it) the
  contracts that cover its city;
- insurer scope: the insurer's own contracts;
- anyone else: none."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, select, true

from oip.auth.service import Principal
from oip.insurers.models import InsurerContract, InsurerContractCity


def city_of(prefix: str) -> str | None:
    """The city code a region prefix falls in ("4501" or "450103" → "450100"); None for the province."""
    if len(prefix) <= 2:
        return None
    return prefix[:4] + "00"


def contract_condition(p: Principal) -> ColumnElement[bool]:
    if p.role.scope == "insurer":
        return InsurerContract.organisation_id == p.organisation_id
    if p.role.scope == "region":
        city = city_of(p.region_prefix)
        if city is None:
            return true()
        return InsurerContract.id.in_(
            select(InsurerContractCity.contract_id).where(InsurerContractCity.city_code == city)
        )
    return false()
