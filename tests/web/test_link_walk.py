"""Every demo role signs in, follows every link of its navigation and of the pages it reaches, and
meets no 403, 404 or 500: a role is never shown a link it may not follow, nor a page that is not there."""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest

from oip.auth import permissions as P
from oip.auth.permissions import ROLES
from oip.demo.generate import USERS
from tests.conftest import sign_in

HTML = {"accept": "text/html"}
MAX_PAGES = 80  # per role
MAX_PER_SHAPE = 3  # /workers/123 and /workers/456 are the same page: a few of each shape
MAX_DEPTH = 4
SKIP = re.compile(r"^/(logout|static/|vendor/)|\.(csv|json|parquet|jsonl|sig|zip)$|/rejects(\b|/)|/download")


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.nav: list[str] = []
        self._in_nav = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "nav":
            self._in_nav += 1
        if tag == "a" and a.get("href") and a.get("aria-disabled") != "true":
            self.links.append(a["href"])
            if self._in_nav:
                self.nav.append(a["href"])

    def handle_endtag(self, tag):
        if tag == "nav" and self._in_nav:
            self._in_nav -= 1


def _links(html: str) -> _Links:
    p = _Links()
    p.feed(html)
    return p


def _shape(url: str) -> str:
    path = urlsplit(url).path
    return re.sub(r"/\d+", "/N", path) + ("?" if urlsplit(url).query else "")


def walk(client, start: str) -> tuple[list[str], list[str]]:
    """Breadth-first over same-origin GET links from ``start``: (pages visited, problems found)."""
    seen, shapes, problems, visited = {start}, {}, [], []
    queue = deque([(start, 0, "(start)")])
    while queue and len(visited) < MAX_PAGES:
        url, depth, source = queue.popleft()
        r = client.get(url, headers=HTML)
        visited.append(url)
        if r.status_code in (403, 404) or r.status_code >= 500:
            problems.append(f"{url} (linked from {source}) answered {r.status_code}")
            continue
        if "text/html" not in r.headers.get("content-type", "") or depth >= MAX_DEPTH:
            continue
        here = str(r.url)
        for href in _links(r.text).links:
            target, _ = urldefrag(urljoin(here, href))
            parts = urlsplit(target)
            if parts.netloc != urlsplit(here).netloc or SKIP.search(parts.path):
                continue
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            shape = _shape(local)
            if local in seen or shapes.get(shape, 0) >= MAX_PER_SHAPE:
                continue
            seen.add(local)
            shapes[shape] = shapes.get(shape, 0) + 1
            queue.append((local, depth + 1, urlsplit(here).path))
    return visited, problems


ROLES_TO_WALK = [u for u, *_ in USERS] + ["worker_demo"]

# The page where each permission is used: a role holding it must find the page in its navigation.
LANDING = {
    P.PLATFORM_READ: "/platforms",
    P.ADMISSION_READ: "/admissions",
    P.WORKER_READ: "/workers",
    P.PORTAL: "/portal",
    P.ORDER_READ: "/orders",
    P.COVERAGE_READ: "/coverage",
    P.PREMIUM_READ: "/premiums",
    P.RECONCILE_READ: "/reconciliation",
    P.SELF_READ: "/me/orders",
    P.AUDIT_READ: "/audit",
    P.USER_READ: "/users",
    P.CREDENTIALS_SELF: "/portal/credentials",
    P.INSURER_CONTRACT_READ: "/insurers/contracts",
    P.CASE_INVESTIGATE: "/insurer/tasks",
    P.FUND_SUPERVISE: "/fund/supervision",
    P.FUND_RESPOND: "/fund/supervision",
}


@pytest.mark.parametrize("username", ROLES_TO_WALK)
def test_every_link_a_role_is_shown_can_be_followed(app, username):
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        sign_in(client, username)
        home = client.get("/", headers=HTML)
        assert home.status_code == 200
        nav = _links(home.text).nav
        assert nav, f"{username} has no navigation"
        visited, problems = walk(client, urlsplit(str(home.url)).path)
        role = ROLES[client.get("/api/v1/me").json()["role"]]
    assert problems == []
    assert len(visited) >= len(nav)
    missing = [
        f"{LANDING[x]} ({P.PERMISSION_NAMES[x]})"
        for x in sorted(role.permissions)
        if x in LANDING and LANDING[x] not in nav
    ]
    assert missing == [], f"{username} may use these pages but finds no link to them"
