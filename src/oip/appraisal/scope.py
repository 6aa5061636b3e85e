"""The data scope of the expert pools: which committees' experts a principal sees and manages.

A city's appraisal committee (市劳动能力鉴定委员会) has the city's region code; the regional committee
(自治区劳动能力鉴定委员会) ``450000``. An officer of the region sees every pool and manages the
regional one; a city officer sees and manages its city's pool; a county officer sees the pool of its
city. Everyone else sees none."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from oip.appraisal.models import Expert
from oip.auth import permissions as P
from oip.auth.scope import province_wide
from oip.auth.service import Principal

REGIONAL_COMMITTEE = "450000"


def committee_of(p: Principal) -> str | None:
    """The committee of a principal's region: the regional one for the province, else its city's."""
    if p.role.scope != "region":
        return None
    if province_wide(p):
        return REGIONAL_COMMITTEE
    return p.region_prefix[:4] + "00"


def expert_condition(p: Principal) -> ColumnElement[bool]:
    if p.role.scope != "region":
        return false()
    if province_wide(p):
        return true()
    return Expert.committee_code == committee_of(p)


def sees_committee(p: Principal, committee_code: str) -> bool:
    return p.role.scope == "region" and (province_wide(p) or committee_code == committee_of(p))


def manages_committee(p: Principal, committee_code: str) -> bool:
    """May ``p`` change this committee's pool (its own committee only)?"""
    return p.can(P.APPRAISAL_MANAGE) and committee_code == committee_of(p)
