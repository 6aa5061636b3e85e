"""The data scope of order data: which batches and which rejected records a principal sees.

- platform scope: its own batches, with every rejected record;
- region scope: every platform's batches (a file holds the orders of the whole province; its counts
  are not personal), but of the rejected records — which carry where and when a worker was, with
  coordinates — only those whose ``county_code`` lies in the region. The province sees them all,
  also the records whose county code is missing or wrong (they belong to no city);
- other scopes: no batches.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from oip.auth.scope import province_wide
from oip.auth.service import Principal
from oip.orders.models import OrderBatch


def batch_condition(p: Principal) -> ColumnElement[bool]:
    match p.role.scope:
        case "platform":
            return OrderBatch.platform_id == p.platform_id if p.platform_id else false()
        case "region":
            return true()
    return false()


def sees_every_reject(p: Principal) -> bool:
    """The batch's platform and the province see a batch's rejected records unfiltered."""
    return p.role.scope == "platform" or province_wide(p)


def reject_in_scope(p: Principal, county_code: str | None) -> bool:
    """Whether a rejected record (by the county code it was sent with) is in ``p``'s scope."""
    if sees_every_reject(p):
        return True
    return p.role.scope == "region" and bool(county_code) and county_code.startswith(p.region_prefix)
