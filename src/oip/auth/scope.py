"""Data scope: which rows a principal may see. Used by every service query that returns rows.

- region scope: rows whose region code starts with the organisation's prefix
  (region "45", city "4501", county "450102");
- platform scope: the platform's own rows only;
- insurer scope: the people assigned to the insurer (open assignments);
- self scope: the worker's own rows.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, select, true

from oip.auth.models import InsurerAssignment
from oip.auth.service import Principal
from oip.core.errors import NotFound


def region_visible(p: Principal, region_code: str | None) -> bool:
    return p.role.scope == "region" and region_code is not None and region_code.startswith(p.region_prefix)


def account_condition(p: Principal) -> ColumnElement[bool]:
    """Which platform accounts (registrations) the principal sees."""
    from oip.workers.models import PlatformAccount as A

    match p.role.scope:
        case "region":
            return A.county_code.startswith(p.region_prefix, autoescape=True)
        case "platform":
            return A.platform_id == p.platform_id if p.platform_id else false()
        case "insurer":
            return exists(select(InsurerAssignment.id).where(
                InsurerAssignment.organisation_id == p.organisation_id,
                InsurerAssignment.person_id == A.person_id, InsurerAssignment.closed_at.is_(None)))
        case "self":
            return A.person_id == p.person_id if p.person_id else false()
    return false()


def platform_condition(p: Principal) -> ColumnElement[bool]:
    """Which register entries the principal sees: a platform only itself, everyone else all."""
    from oip.platforms.models import Platform

    if p.role.scope == "platform":
        return Platform.id == p.platform_id if p.platform_id else false()
    if p.role.scope in ("self", "insurer"):
        return and_(Platform.status == "admitted")
    return true()


def out_of_scope(what: str = "记录") -> NotFound:
    """Out-of-scope rows answer exactly like missing ones: their existence is not disclosed."""
    return NotFound(f"{what}不存在或不在您的数据范围内")
