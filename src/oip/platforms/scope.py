"""The data scope of the register: which platform enterprises a principal sees — a platform only
itself, insurers and workers the admitted pilot platforms, officers all."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from oip.auth.service import Principal
from oip.platforms.models import ADMITTED, Platform


def platform_condition(p: Principal) -> ColumnElement[bool]:
    if p.role.scope == "platform":
        return Platform.id == p.platform_id if p.platform_id else false()
    if p.role.scope in ("self", "insurer"):
        return admitted()
    return true()


def admitted() -> ColumnElement[bool]:
    """Platforms in the pilot (纳入试点的平台企业)."""
    return Platform.status == ADMITTED
