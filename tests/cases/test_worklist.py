"""The worklists per office: the three sections (due soon, overdue, suspended or waiting for materials)
with working days left, the counts per county and per city, the data scope (a county its
jurisdiction, a city its counties, the region everything) and who may open them.

Other tests share the database, so the checks look for this test's cases (going through every page)
rather than counting the whole list. The clock is frozen on Monday 2025-10-20."""

from __future__ import annotations

import datetime as dt

import pytest

from oip.core import clock
from tests.cases.conftest import make_case
from tests.conftest import bearer

D = dt.date
TODAY = D(2025, 10, 20)


def _accepted(county: str, accepted_on: dt.date, simple: bool = True) -> int:
    with clock.frozen(accepted_on):
        return make_case(
            county=county,
            to="accepted",
            accepted_on=accepted_on,
            simple=simple,
            occurred_at=dt.datetime.combine(accepted_on, dt.time(8), tzinfo=clock.SHANGHAI) - dt.timedelta(days=1),
        )


@pytest.fixture(scope="module")
def cases(database):
    """overdue: 青秀区, accepted 09-30, simple → due 10-16; due soon: 江南区, accepted 10-15 → due 10-24;
    suspended: 柳州市城中区, waiting for the traffic police; later: 青秀区, due in December."""
    from oip.cases import decision
    from oip.core import audit
    from oip.core.db import session_scope

    out = {
        "overdue": _accepted("450103", D(2025, 9, 30)),
        "due_soon": _accepted("450105", D(2025, 10, 15)),
        "suspended": _accepted("450202", D(2025, 10, 15)),
        "later": _accepted("450103", D(2025, 10, 17), simple=False),
    }
    with clock.frozen(D(2025, 10, 16)), session_scope() as s:
        decision.suspend(
            s,
            audit.SystemActor(label="test"),
            out["suspended"],
            reason="等待交通事故认定",
            authority="公安机关交通管理部门",
            expected_until=D(2025, 11, 14),
        )
    return out


def every(client, user: str, bucket: str, **params) -> list[dict]:
    """Every item of a section, page after page."""
    items, page = [], 1
    while True:
        r = client.get(
            "/api/v1/cases/worklist",
            params={"bucket": bucket, "page": page, "size": 100, **params},
            headers=bearer(user),
        )
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        if page >= body["pages"]:
            return items
        page += 1


def ids(client, user, bucket, **params) -> set[int]:
    return {c["id"] for c in every(client, user, bucket, **params)}


def test_sections_hold_the_right_cases_with_working_days_left(client, cases):
    with clock.frozen(TODAY):
        overdue = {c["id"]: c for c in every(client, "gx_hrss", "overdue")}
        soon = {c["id"]: c for c in every(client, "gx_hrss", "due_soon")}
        standing = {c["id"]: c for c in every(client, "gx_hrss", "suspended")}
    assert cases["overdue"] in overdue and cases["overdue"] not in soon
    assert cases["due_soon"] in soon and cases["due_soon"] not in overdue
    assert cases["suspended"] in standing and cases["suspended"] not in soon
    assert not {cases["later"]} & (set(overdue) | set(soon) | set(standing))
    o = overdue[cases["overdue"]]
    assert (o["next_due"], o["waiting_on_name"], o["working_days_left"], o["days_text"]) == (
        "2025-10-16",
        "确认结论期限",
        -2,  # Friday 10-17 and Monday 10-20 gone
        "超期 2 个工作日",
    )
    s = soon[cases["due_soon"]]
    assert (s["next_due"], s["working_days_left"], s["days_text"]) == ("2025-10-24", 4, "剩 4 个工作日")
    w = standing[cases["suspended"]]
    assert (w["state_name"], w["waiting_on_name"], w["next_due"]) == (
        "中止（等待其他机关结论）",
        "预计恢复日期",
        "2025-11-14",
    )
    assert o["place"] == "南宁市青秀区" and o["worker_name"] and "*" not in o["worker_name"]


def test_a_county_sees_its_jurisdiction_a_city_its_counties_the_region_all(client, cases):
    with clock.frozen(TODAY):
        for user, prefix, seen, unseen in [
            ("qx_hrss", "450103", {"overdue"}, {"due_soon", "suspended"}),
            ("nn_hrss", "4501", {"overdue", "due_soon"}, {"suspended"}),
            ("lz_hrss", "4502", {"suspended"}, {"overdue", "due_soon"}),
            ("gx_hrss", "45", {"overdue", "due_soon", "suspended"}, set()),
        ]:
            for bucket in ("overdue", "due_soon", "suspended"):
                items = every(client, user, bucket)
                assert all(c["county_code"].startswith(prefix) for c in items), (user, bucket)
                got = {c["id"] for c in items}
                if bucket in seen:
                    assert cases[bucket] in got, (user, bucket)
                if bucket in unseen:
                    assert cases[bucket] not in got, (user, bucket)


def test_a_city_narrows_to_one_county(client, cases):
    with clock.frozen(TODAY):
        items = every(client, "nn_hrss", "due_soon", area="450105")
        assert cases["due_soon"] in {c["id"] for c in items}
        assert all(c["county_code"] == "450105" for c in items)
        # Another city's county: the scope still applies, nothing from Liuzhou.
        assert ids(client, "nn_hrss", "suspended", area="450202") == set()


def test_summary_counts_per_county_and_per_city(client, cases):
    with clock.frozen(TODAY):
        for user, level in [("qx_hrss", "county"), ("nn_hrss", "city"), ("gx_hrss", "region")]:
            r = client.get("/api/v1/cases/worklist/summary", headers=bearer(user))
            assert r.status_code == 200, r.text
            s = r.json()
            assert s["level"] == level and s["due_soon_until"] == "2025-10-27"
            for bucket in ("overdue", "due_soon", "suspended"):
                assert s["totals"][bucket] == sum(row[bucket] for row in s["rows"])
                total = client.get(
                    "/api/v1/cases/worklist", params={"bucket": bucket, "size": 1}, headers=bearer(user)
                ).json()["total"]
                assert s["totals"][bucket] == total, (user, bucket)
            rows = {row["code"]: row for row in s["rows"]}
            if level == "county":
                assert list(rows) == ["450103"] and rows["450103"]["overdue"] >= 1
            elif level == "city":
                assert set(rows) >= {"450102", "450103", "450105"} and all(c.startswith("4501") for c in rows)
                assert rows["450103"]["name"] == "青秀区" and rows["450105"]["due_soon"] >= 1
            else:
                assert len(rows) == 14 and rows["450100"]["name"] == "南宁市"
                assert rows["450200"]["suspended"] >= 1 and rows["450100"]["overdue"] >= 1
                assert max(row["overdue_pct"] for row in s["rows"]) == 100


def test_unknown_bucket_is_refused(client, cases):
    r = client.get("/api/v1/cases/worklist", params={"bucket": "someday"}, headers=bearer("qx_hrss"))
    assert r.status_code == 400 and r.json()["error"]["field"] == "bucket"


@pytest.mark.parametrize("user", ["insurer_a", "meituan_admin", "worker_demo", "qx_si"])
def test_only_officers_who_handle_cases_get_the_worklist(client, as_user, user):
    assert client.get("/api/v1/cases/worklist", headers=bearer(user)).status_code == 403
    assert client.get("/api/v1/cases/worklist/summary", headers=bearer(user)).status_code == 403
    as_user(user)
    r = client.get("/worklist")
    assert r.status_code == 403 and "无权执行此操作" in r.text
    assert 'href="/worklist"' not in client.get("/").text


def test_worklist_pages_render(client, as_user, cases):
    with clock.frozen(TODAY):
        as_user("qx_hrss")
        r = client.get("/worklist")
        assert r.status_code == 200, r.text
        for text in ("待办工作台", "即将到期", "已超期", "中止或待补正", "超期 2 个工作日", "确认结论期限"):
            assert text in r.text, text
        assert f'data-case="{cases["overdue"]}"' in r.text and 'data-testid="worklist-summary"' not in r.text
        assert 'href="/worklist"' in r.text  # in the navigation

        as_user("nn_hrss")
        r = client.get("/worklist")
        assert r.status_code == 200 and 'data-testid="worklist-summary"' in r.text and "青秀区" in r.text
        r = client.get("/worklist", params={"area": "450105"})
        assert r.status_code == 200 and f'data-case="{cases["due_soon"]}"' in r.text and "当前只看：江南区" in r.text

        as_user("gx_hrss")
        r = client.get("/worklist", params={"overdue_page": 2})
        assert r.status_code == 200 and "柳州市" in r.text and 'class="bar pw-' in r.text


def test_the_scope_range_means_starts_with(db):
    """``code_prefix`` (a range the index can seek) selects exactly the codes ``startswith`` does."""
    from sqlalchemy import select

    from oip.cases.scope import code_prefix
    from oip.reference.models import Region

    codes = list(db.scalars(select(Region.code)))
    for prefix in ("45", "4501", "4509", "4514", "450103", "450199", "46", "4"):
        got = set(db.scalars(select(Region.code).where(code_prefix(Region.code, prefix))))
        assert got == {c for c in codes if c.startswith(prefix)}, prefix
    assert str(code_prefix(Region.code, "4509").compile(compile_kwargs={"literal_binds": True})) == (
        "regions.code >= '4509' AND regions.code < '4510'"
    )


def test_the_number_of_queries_does_not_grow_with_the_page(cases):
    """A section costs the same statements for 1 case as for 50 (no query per case)."""
    from sqlalchemy import event, select

    from oip.auth.models import User
    from oip.auth.service import principal_for
    from oip.cases import worklist
    from oip.core.db import get_engine, get_sessionmaker

    for county in ("450202", "450305"):  # more overdue cases, of other people and places
        _accepted(county, D(2025, 9, 30))
    engine = get_engine()
    with get_sessionmaker()() as s:
        gx = principal_for(s, s.scalar(select(User).where(User.username == "gx_hrss")), via="token")
    counts = []
    with clock.frozen(TODAY):
        for size in (1, 50):
            seen: list[str] = []
            s = get_sessionmaker()()
            mine = s.connection()  # only this session's statements: a live server's background
            # threads (the audit chain, the text-message sender) share the engine in a full run

            def count(conn, cursor, statement, *args, _seen=seen, _mine=mine):
                if conn is _mine:
                    _seen.append(statement)

            event.listen(engine, "before_cursor_execute", count)
            try:
                out = worklist.bucket(s, gx, "overdue", size=size)
                assert len(out["items"]) == min(size, out["total"]) and out["total"] > 1
            finally:
                event.remove(engine, "before_cursor_execute", count)
                s.rollback()
                s.close()
            counts.append(len(seen))
    assert 0 < counts[0] == counts[1] <= 10, counts
