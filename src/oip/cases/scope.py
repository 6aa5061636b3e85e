"""The data scope of cases: which cases a principal sees.

- region scope: cases whose place of injury (county code) starts with the organisation's prefix — a
  county office its jurisdiction, a city its counties, the region all;
- platform scope: the cases of the platform's own workers (accounts of that platform);
- insurer scope: the cases behind the insurer's investigation tasks (not withdrawn);
- self scope: the worker's own cases.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, select

from oip.auth.service import Principal
from oip.cases.models import Case, InvestigationTask


def case_condition(p: Principal) -> ColumnElement[bool]:
    match p.role.scope:
        case "region":
            return code_prefix(Case.county_code, p.region_prefix)
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


def code_prefix(column, prefix: str) -> ColumnElement[bool]:
    """``column`` (a 6-digit region code) starts with ``prefix``, written as a range — ``= '450103'``,
    ``>= '4501' AND < '4502'`` — which a B-tree index on the column can seek (``ix_cases_worklist``:
    state, county_code, next_due). ``LIKE '4501%'`` cannot under a database collation other than
    C/POSIX (the embedded server's C.UTF-8 included): PostgreSQL then filters every row of the state
    instead (bench/case_worklist.py, bench/README.md)."""
    if not prefix.isdigit():
        return column.startswith(prefix, autoescape=True)
    if len(prefix) >= 6:
        return column == prefix
    upper = str(int(prefix) + 1).zfill(len(prefix))  # '4509' → '4510', '45' → '46'
    return and_(column >= prefix, column < upper)


def sees_full_name(p: Principal) -> bool:
    """Officers handling the case and the worker see the name; platforms and insurers a masked one."""
    return p.role.scope in ("region", "self")
