"""The page layout every domain renders into: templates, the navigation, the console's figures.

This sits below the domains. Each domain registers what it adds — its navigation entries
(``register_nav``) and the figures it shows on the staff console (``register_stat``) — when its
``pages`` module is imported, so no module here knows any domain. ``render`` fills the layout for
the signed-in principal (anything with ``can(permission)`` and ``role.scope``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader

from oip.core import clock

_ROOT = Path(__file__).resolve().parent.parent
# core's own templates (the layout) first, then every domain's templates/ folder.
_DIRS = [_ROOT / "core" / "templates"] + sorted(p for p in _ROOT.glob("*/templates") if p.parent.name != "core")

templates = Jinja2Templates(directory=str(_DIRS[0]))
templates.env.loader = ChoiceLoader([FileSystemLoader(str(d)) for d in _DIRS])
templates.env.filters["dt"] = clock.fmt
templates.env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": True}


@dataclass(frozen=True)
class NavItem:
    """One entry of the side navigation. ``permission`` None: every signed-in principal whose data
    scope is in ``scopes`` (None: every scope). ``titles`` renames the entry for a data scope (a
    platform's users see "本企业从业人员" where officers see "从业人员")."""

    title: str
    url: str
    permission: str | None = None
    order: int = 100
    scopes: frozenset[str] | None = None
    titles: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Stat:
    """A figure on the staff console: ``count(db, principal)`` within the principal's data scope, for
    principals with ``permission`` (None: any) whose data scope is in ``scopes`` (None: any);
    ``titles`` relabels it for a data scope."""

    label: str
    permission: str | None
    count: Callable[[Any, Any], int | None]
    order: int = 100
    scopes: frozenset[str] | None = None
    titles: dict[str, str] = field(default_factory=dict)


_NAV: dict[str, NavItem] = {}
_STATS: dict[str, Stat] = {}


def register_nav(*items: NavItem) -> None:
    for item in items:
        _NAV[item.url] = item


def register_stat(*stats: Stat) -> None:
    for s in stats:
        _STATS[s.label] = s


def nav_for(principal) -> list[tuple[str, str]]:
    """The navigation a principal sees: the entries it may follow, in order, with its own titles."""
    if principal is None:
        return []
    scope = principal.role.scope
    items = sorted(_NAV.values(), key=lambda i: (i.order, i.url))
    return [
        (i.titles.get(scope, i.title), i.url)
        for i in items
        if (i.scopes is None or scope in i.scopes) and (i.permission is None or principal.can(i.permission))
    ]


def stats_for(db, principal) -> dict[str, int | None]:
    scope = principal.role.scope
    return {
        s.titles.get(scope, s.label): s.count(db, principal)
        for s in sorted(_STATS.values(), key=lambda s: (s.order, s.label))
        if (s.scopes is None or scope in s.scopes) and (s.permission is None or principal.can(s.permission))
    }


def render(request: Request, name: str, status_code: int = 200, **ctx):
    p = getattr(request.state, "principal", None)
    ctx.setdefault("principal", p)
    ctx.setdefault("nav", nav_for(p))
    # The entry of the current page: the longest navigation URL the path falls under (/me/orders, not /me).
    path = request.url.path
    under = [u for _, u in ctx["nav"] if path == u or path.startswith(u.rstrip("/") + "/")]
    ctx.setdefault("nav_on", max(under, key=len, default=None))
    ctx.setdefault("csrf", p.csrf_token if p is not None else "")
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
