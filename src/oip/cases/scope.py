"""The data scope of cases: which cases a principal sees.

- region scope: cases whose place of injury (county code) starts with the organisation's prefix — a
  county office its jurisdiction, a city its counties, the region all;
- platform scope: the cases of the platform's own workers (accounts of that platform);
- insurer scope: the cases behind the insurer's investigation tasks (not withdrawn);
- self scope: the worker's own cases.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, select

from oip.auth.service import Principal
from oip.cases.models import Case, InvestigationTask


def case_condition(p: Principal) -> ColumnElement[bool]:
    match p.role.scope:
        case "region":
            return Case.county_code.startswith(p.region_prefix, autoescape=True)
        case "platform":
            return Case.platform_id == p.platform_id if p.platform_id else false()
        case "insurer":
            return exists(
                select(InvestigationTask.id).where(
                    InvestigationTask.case_id == Case.id,
                    InvestigationTask.organisation_id == p.organisation_id,
                    InvestigationTask.status != "withdrawn",
                )
            )
        case "self":
            return Case.person_id == p.person_id if p.person_id else false()
    return false()


def sees_full_name(p: Principal) -> bool:
    """Officers handling the case and the worker see the name; platforms and insurers a masked one."""
    return p.role.scope in ("region", "self")
