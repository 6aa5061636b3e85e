"""The data scope of the workers domain: which platform accounts (registrations) a principal sees.

- region scope: accounts whose county code starts with the organisation's region prefix;
- platform scope: the platform's own accounts;
- insurer scope: the people assigned to the insurer (open assignments);
- self scope: the worker's own accounts.

Registration batch reports (``batch_condition``): a platform its own; the province every one; a
city or county agency those its own agencies (in its region) uploaded on a platform's behalf — a
report lists records of the whole province, with no region per record to filter by.

Person ids (``sees_person_ids``) are not shown to platforms: they are sequential, so a platform that
registered an ID number and got back an old, low id would learn that someone registered that number
before it — exactly what the answer to a registration must not tell (issue 10 §4). Platforms name
their workers by platform account; routes that take a person id answer them 404.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, select, true

from oip.auth.models import InsurerAssignment, Organisation, User
from oip.auth.scope import province_wide
from oip.auth.service import Principal
from oip.workers.models import PlatformAccount as A, RegistrationBatch as B


def account_condition(p: Principal) -> ColumnElement[bool]:
    match p.role.scope:
        case "region":
            return A.county_code.startswith(p.region_prefix, autoescape=True)
        case "platform":
            return A.platform_id == p.platform_id if p.platform_id else false()
        case "insurer":
            return exists(
                select(InsurerAssignment.id).where(
                    InsurerAssignment.organisation_id == p.organisation_id,
                    InsurerAssignment.person_id == A.person_id,
                    InsurerAssignment.closed_at.is_(None),
                )
            )
        case "self":
            return A.person_id == p.person_id if p.person_id else false()
    return false()


def batch_condition(p: Principal) -> ColumnElement[bool]:
    match p.role.scope:
        case "platform":
            return B.platform_id == p.platform_id if p.platform_id else false()
        case "region":
            if province_wide(p):
                return true()
            return exists(
                select(User.id)
                .join(Organisation, Organisation.id == User.organisation_id)
                .where(
                    User.id == B.submitted_by,
                    Organisation.platform_id.is_(None),
                    Organisation.region_code.startswith(p.region_prefix, autoescape=True),
                )
            )
    return false()


def sees_person_ids(p: Principal) -> bool:
    """Whether person ids may be shown to (and asked for by) ``p``: everyone but a platform."""
    return p.role.scope != "platform"
