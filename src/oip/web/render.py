"""Jinja2 templates from every domain's ``templates/`` folder, and the navigation by role."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader

from oip.auth import permissions as P
from oip.core import clock

_ROOT = Path(__file__).resolve().parent.parent
_DIRS = [_ROOT / "web" / "templates"] + sorted(p for p in _ROOT.glob("*/templates") if p.parent.name != "web")

templates = Jinja2Templates(directory=str(_DIRS[0]))
templates.env.loader = ChoiceLoader([FileSystemLoader(str(d)) for d in _DIRS])
templates.env.filters["dt"] = clock.fmt
templates.env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": True}

# (title, url, permission)
NAV = [
    ("工作台", "/console", None),
    ("平台企业名录", "/platforms", P.PLATFORM_READ),
    ("试点纳入申请", "/admissions", P.ADMISSION_READ),
    ("从业人员", "/workers", P.WORKER_READ),
    ("企业门户", "/portal", P.PORTAL),
    ("订单数据", "/orders", P.ORDER_READ),
    ("保障费申报", "/premiums", P.PREMIUM_READ),
    ("对账与欠费", "/reconciliation", P.RECONCILE_READ),
    ("保障状态查询", "/coverage", P.COVERAGE_READ),
    ("我的信息", "/me", P.SELF_READ),
    ("我的订单与保障", "/me/orders", P.SELF_READ),
    ("审计日志", "/audit", P.AUDIT_READ),
    ("用户", "/users", P.USER_READ),
]


# What a platform's users call the same pages: their data scope is their own enterprise.
_PLATFORM_TITLES = {"/workers": "本企业从业人员", "/platforms": "本企业登记信息", "/orders": "订单报送",
                    "/premiums": "保障费与欠费"}


def nav_for(principal) -> list[tuple[str, str]]:
    if principal is None:
        return []
    items = [(t, u) for t, u, perm in NAV if perm is None or principal.can(perm)]
    if principal.role.scope == "platform":
        items = [(_PLATFORM_TITLES.get(u, t), u) for t, u in items if u != "/console"]
        items.insert(1, ("接口凭证", "/portal/credentials"))
    elif principal.role.scope == "self":
        items = [(t, u) for t, u in items if u != "/console"]
    return items


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
