"""The data scope of premiums: which declarations a principal sees.

The platforms in their scope (``oip.platforms.scope``); and a draft or queued declaration is the
agency's work in progress: the platform and the tax bureau (its receiver) see a declaration only
once it was sent to the tax bureau."""

from __future__ import annotations

from sqlalchemy import ColumnElement

from oip.auth.service import Principal
from oip.platforms.scope import platform_condition
from oip.premiums.models import Declaration

SENT = ("sent", "acknowledged")
# Roles that see declarations only once sent: the receiver (tax) besides the platforms themselves.
SENT_ONLY_ROLES = frozenset({"tax"})


def sent_only(p: Principal) -> bool:
    return p.role.scope == "platform" or p.role.code in SENT_ONLY_ROLES


def declaration_condition(p: Principal) -> ColumnElement[bool]:
    """Rows of ``Declaration`` joined with ``Platform``."""
    cond = platform_condition(p)
    if sent_only(p):
        cond = cond & Declaration.status.in_(SENT)
    return cond
