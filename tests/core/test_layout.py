"""The navigation registry: each domain registers its entries; a principal sees those it may follow."""

from __future__ import annotations

from dataclasses import dataclass

from oip.auth.permissions import ROLES, Role
from oip.core import layout


@dataclass
class _Principal:
    role: Role

    def can(self, permission: str) -> bool:
        return permission in self.role.permissions


def _nav(role: str) -> list[tuple[str, str]]:
    import oip.web.app  # noqa: F401  (every domain's pages, hence every registration)

    return layout.nav_for(_Principal(ROLES[role]))


def test_a_platform_sees_its_own_titles_and_no_console():
    titles = [t for t, _ in _nav("platform")]
    assert titles[:2] == ["本企业登记信息", "接口凭证"]
    assert {"本企业从业人员", "订单报送", "保障费与欠费"} <= set(titles)
    assert "工作台" not in titles and "审计日志" not in titles


def test_an_officer_never_sees_a_page_without_its_permission():
    for code, role in ROLES.items():
        for _, url in _nav(code):
            item = layout._NAV[url]
            assert item.permission is None or item.permission in role.permissions, (code, url)
            assert item.scopes is None or role.scope in item.scopes, (code, url)


def test_the_console_comes_first_for_staff():
    assert _nav("si_region")[0] == ("工作台", "/console")
    assert ("用户", "/users") in _nav("si_region")
    assert "/console" not in dict(map(reversed, _nav("worker")))
