"""Data scope: which rows a principal may see. Used by every service query that returns rows.

- region scope: rows whose region code starts with the organisation's prefix
  (region "45", city "4501", county "450102");
- platform scope: the platform's own rows only;
- insurer scope: the people assigned to the insurer (open assignments);
- self scope: the worker's own rows.

Each domain owns the condition for its own tables (oip.platforms.scope, oip.workers.scope, …) and
builds it from the principal's scope; what is shared lives here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from oip.core.errors import NotFound

if TYPE_CHECKING:
    from oip.auth.service import Principal


def out_of_scope(what: str = "记录") -> NotFound:
    """Out-of-scope rows answer exactly like missing ones: their existence is not disclosed."""
    return NotFound(f"{what}不存在或不在您的数据范围内")


def province_wide(p: Principal) -> bool:
    """An officer whose region is the whole province (prefix "45"): sees what belongs to no city
    (a platform's batch report, a rejected record with a wrong county code)."""
    return p.role.scope == "region" and len(p.region_prefix) <= 2
