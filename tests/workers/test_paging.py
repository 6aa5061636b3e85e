"""Long lists of the workers pages: the roster's page numbers and jump box, a batch report's
rejected and warned records paged on their own, and codes only in a muted second line."""

from __future__ import annotations

import re

import pytest

from oip.core.pagination import page_window
from oip.workers.pages import REPORT_PAGE
from tests.conftest import bearer
from tests.workers.conftest import record


@pytest.mark.parametrize(
    "page,pages,expected",
    [
        (1, 1, [1]),
        (1, 5, [1, 2, 3, 4, 5]),
        (1, 10, [1, 2, 3, None, 10]),
        (5, 10, [1, 2, 3, 4, 5, 6, 7, None, 10]),
        (6, 12, [1, None, 4, 5, 6, 7, 8, None, 12]),
        (12, 12, [1, None, 10, 11, 12]),
        (400, 412, [1, None, 398, 399, 400, 401, 402, None, 412]),
    ],
)
def test_page_window(page, pages, expected):
    assert page_window(page, pages) == expected


def _cells(html: str, testid: str) -> list[str]:
    table = html.split(f'data-testid="{testid}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr><td class="num">(\d+)</td>', table)


def test_roster_has_page_numbers_and_a_jump_box(client, as_user):
    as_user("gx_si")
    first = client.get("/workers", params={"status": "active"})
    assert first.status_code == 200
    pages = int(re.search(r"第 1 / (\d+) 页", first.text).group(1))
    assert pages >= 5  # the test province has hundreds of registrations
    pager = first.text.split('data-testid="pager"', 1)[1].split("</nav>", 1)[0]
    assert '<strong aria-current="page">1</strong>' in pager
    assert 'href="/workers?status=active&amp;page=2"' in pager and 'href="/workers?status=active&amp;page=3"' in pager
    assert f'href="/workers?status=active&amp;page={pages}"' in pager  # the last page by number
    assert '<span class="muted" aria-disabled="true">‹ 上一页</span>' in pager
    # the jump box: a GET form to the roster keeping the filters
    assert 'action="/workers"' in pager and '<input type="hidden" name="status" value="active">' in pager
    assert f'name="page" type="number" min="1" max="{pages}"' in pager and "跳转" in pager

    middle = client.get("/workers", params={"status": "active", "page": 3}).text
    pager = middle.split('data-testid="pager"', 1)[1].split("</nav>", 1)[0]
    assert '<strong aria-current="page">3</strong>' in pager
    for n in (1, 2, 4, 5):
        assert f'href="/workers?status=active&amp;page={n}"' in pager
    assert 'rel="prev"' in pager and 'rel="next"' in pager

    past = client.get("/workers", params={"status": "active", "page": pages + 50}, follow_redirects=False)
    assert past.status_code == 303 and past.headers["location"] == f"/workers?status=active&page={pages}"


def test_roster_shows_county_codes_only_in_a_muted_second_line(client, as_user):
    as_user("nn_si")
    html = client.get("/workers").text
    assert re.search(r'<br><span class="muted">4501\d\d</span></td>', html)
    assert not re.search(r"（4501\d\d）", html)  # neither in the rows nor in the region filter


@pytest.fixture(scope="module")
def long_batch(app):
    """A batch of 250 accepted records with a warning each and 120 rejected ones."""
    from fastapi.testclient import TestClient

    rows = [record(extra="x") for _ in range(250)] + [record(phone="12345") for _ in range(120)]
    with TestClient(app) as c:
        body = c.post("/api/v1/workers/batch", json=rows, headers=bearer("meituan-api")).json()
    assert (body["accepted"], body["rejected"]) == (250, 120)
    return body["batch_id"]


def test_batch_report_pages_its_warnings_and_rejects(client, as_user, long_batch):
    as_user("meituan_admin")
    url = f"/portal/batches/{long_batch}"
    html = client.get(url).text
    assert REPORT_PAGE == 100
    assert _cells(html, "warnings") == [str(n) for n in range(1, 101)]
    assert _cells(html, "rejects") == [str(n) for n in range(251, 351)]
    assert "第 1–100 条，共 250 条" in html and "第 1–100 条，共 120 条" in html
    warn_pager = html.split('data-testid="warnings-pager"', 1)[1].split("</nav>", 1)[0]
    assert f'href="{url}?rp=1&amp;wp=2#warnings"' in warn_pager and f'href="{url}?rp=1&amp;wp=3#warnings"' in warn_pager
    assert 'name="wp" type="number" min="1" max="3"' in warn_pager
    assert '<input type="hidden" name="rp" value="1">' in warn_pager and f'action="{url}#warnings"' in warn_pager
    rej_pager = html.split('data-testid="rejects-pager"', 1)[1].split("</nav>", 1)[0]
    assert f'href="{url}?rp=2&amp;wp=1#rejected"' in rej_pager and 'max="2"' in rej_pager

    later = client.get(url, params={"rp": 2, "wp": 3}).text
    assert _cells(later, "warnings") == [str(n) for n in range(201, 251)]
    assert _cells(later, "rejects") == [str(n) for n in range(351, 371)]
    assert "第 201–250 条，共 250 条" in later and "第 101–120 条，共 120 条" in later
    # past the end: the last page
    assert _cells(client.get(url, params={"wp": 99}).text, "warnings") == [str(n) for n in range(201, 251)]
    assert client.get(url, params={"wp": 0}, headers={"Accept": "text/html"}).status_code in (400, 422)


def test_batch_report_speaks_chinese(client, as_user, long_batch):
    as_user("meituan_admin")
    html = client.get(f"/portal/batches/{long_batch}").text
    assert re.search(r'<dd>[^<]+<br><span class="muted">meituan</span></dd>', html)
    assert "（meituan）" not in html
    for code in ("created", "updated", "unchanged", "rejected", "phone", "platform_account_id"):
        assert not re.search(rf">\s*{code}\s*<", html), code
    assert "<td>新增</td>" in html and "<td>手机号码</td>" in html


def test_upload_and_portal_pages_keep_codes_and_paths_muted(client, as_user):
    as_user("nn_si")
    upload = client.get("/workers/upload").text
    assert not re.search(r"<option[^>]*>[^<]*（[a-z]+）</option>", upload)
    as_user("meituan_admin")
    portal = client.get("/portal").text
    assert '<span class="muted">POST /api/v1/workers/batch · POST /api/v1/workers/upload</span>' in portal
    assert "未满 16 周岁" in portal
