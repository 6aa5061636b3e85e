"""Reports (报案) through the API as a platform, staff and a worker: the answer at once (coverage,
jurisdiction, possible duplicates), every bad input refused with nothing stored, and merging two
reports of one event (and undoing it)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from oip.core.db import session_scope
from tests.cases._intake_support import body, case_json, counts, fresh_worker, new_case, report, worker_demo_accounts
from tests.conftest import bearer
from tests.orders.conftest import import_rows, order


def test_a_platform_reports_through_the_api_and_learns_coverage_at_once(client, tmp_path):
    account, _ = fresh_worker("meituan")
    o = order(account, day="2026-08-03", start="12:00", minutes=40)
    import_rows(tmp_path, [o])
    r = report(
        client, "meituan_admin", body(account, "2026-08-03T12:20:00+08:00", order_id=o["order_id"]), at="2026-08-04"
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["case_number"].startswith("ZS2026450103") and out["state"] == "reported"
    assert out["coverage"]["covered"] is True and out["coverage"]["order_id"] == o["order_id"]
    assert out["jurisdiction"] == {"region_code": "450103", "name": "南宁市青秀区人力资源和社会保障局"}
    assert out["possible_duplicates"] == [] and out["channel"] == "platform_api" and out["reported_on"] == "2026-08-04"
    c = case_json(client, out["case_id"], "meituan_admin")
    assert c["coverage"]["covered"] is True and c["lat"] == "22.816700"
    assert [e["action"] for e in c["timeline"]] == ["report"]

    # Eight hours later, no order was running: not covered, with the nearest order before.
    r = report(client, "meituan_admin", body(account, "2026-08-03T20:30:00+08:00"), at="2026-08-04")
    assert r.status_code == 201, r.text
    later = r.json()
    assert later["coverage"]["covered"] is False
    assert later["coverage"]["nearest_before"]["order_id"] == o["order_id"]
    # ... and the first report is a possible duplicate (same person within 24 h).
    assert [(d["case_id"], d["channel"], d["state"]) for d in later["possible_duplicates"]] == [
        (out["case_id"], "platform_api", "reported")
    ]


def test_a_report_of_a_worker_without_orders_is_not_covered(client):
    out = new_case(client)
    assert out["coverage"]["covered"] is False and out["coverage"]["reason"]


def _refused(client, user, data, field, status=400, at="2025-09-30T15:00"):
    before = counts()
    r = report(client, user, data, at=at)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["field"] == field, err
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err["reason"]), err  # a Chinese reason
    assert counts() == before  # nothing stored
    return err["reason"]


@pytest.fixture(scope="module")
def meituan_account(database):
    return fresh_worker("meituan")[0]


@pytest.fixture(scope="module")
def didi_account(database):
    return fresh_worker("didi")[0]


def test_unknown_account(client, meituan_account):
    assert "NOPE-0000" in _refused(client, "meituan_admin", body("NOPE-0000"), "platform_account_id")


def test_another_platforms_account(client, didi_account):
    _refused(client, "meituan_admin", body(didi_account), "platform_account_id")
    _refused(client, "meituan_admin", body(didi_account, platform_code="didi"), "platform_code")


def test_a_time_in_the_future_or_without_offset_or_before_the_pilot(client, meituan_account):
    assert "晚于当前时间" in _refused(
        client, "meituan_admin", body(meituan_account, "2025-09-30T18:00:00+08:00"), "occurred_at"
    )
    assert "时区" in _refused(client, "meituan_admin", body(meituan_account, "2025-09-30T10:00:00"), "occurred_at")
    assert "试点" in _refused(
        client, "meituan_admin", body(meituan_account, "2025-06-30T10:00:00+08:00"), "occurred_at"
    )
    _refused(client, "meituan_admin", body(meituan_account, "yesterday"), "occurred_at")


@pytest.mark.parametrize("county", ["440103", "450100", "459999", "45010", "abc"])
def test_a_county_that_is_not_a_county_of_guangxi(client, meituan_account, county):
    assert "广西的县级行政区划" in _refused(
        client, "meituan_admin", body(meituan_account, county_code=county), "county_code"
    )


@pytest.mark.parametrize(
    "change, field",
    [
        ({"lat": "60.5"}, "lat"),
        ({"lon": "150"}, "lon"),
        ({"lon": None}, "lon"),
        ({"kind": "accident"}, "kind"),
        ({"description": "  "}, "description"),
        ({"address": ""}, "address"),
        ({"channel": "paper"}, "channel"),  # only staff register phone, desk and paper reports
        ({"reported_on": "2025-09-01"}, "reported_on"),
    ],
)
def test_other_bad_input(client, meituan_account, change, field):
    _refused(client, "meituan_admin", body(meituan_account, **change), field)


def test_type_errors_are_422_naming_the_field(client, meituan_account):
    before = counts()
    r = report(client, "meituan_admin", body(meituan_account, lat="north"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "lat"
    assert counts() == before


def test_staff_register_a_paper_report_with_its_real_date(client):
    account, _ = fresh_worker("didi")
    data = body(account, platform_code="didi", channel="paper", reported_on="2025-10-02")
    r = report(client, "qx_si", data, at="2025-10-10")
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["channel"], out["reported_on"]) == ("paper", "2025-10-02")
    c = case_json(client, out["case_id"], "qx_hrss")
    assert c["reported_on"] == "2025-10-02" and c["platform_code"] == "didi"
    # the real date is in the past, but never in the future nor before the injury
    _refused(client, "qx_si", {**data, "reported_on": "2025-10-11"}, "reported_on", at="2025-10-10")
    _refused(client, "qx_si", {**data, "reported_on": "2025-09-29"}, "reported_on", at="2025-10-10")
    _refused(client, "qx_si", {**data, "channel": "fax"}, "channel", at="2025-10-10")
    # staff must name the platform; and register reports of their own area
    _refused(client, "qx_si", {**data, "platform_code": None}, "platform_code", at="2025-10-10")
    _refused(client, "qx_si", {**data, "county_code": "450202"}, "county_code", at="2025-10-10")


def test_a_worker_reports_for_their_own_account_only(client, didi_account):
    code, account = worker_demo_accounts()[0]
    r = report(client, "worker_demo", body(account, platform_code=code, kind="injury"))
    assert r.status_code == 201, r.text
    assert r.json()["channel"] == "worker_portal"
    assert case_json(client, r.json()["case_id"], "worker_demo")["account_id"] == account
    assert "只能为本人" in _refused(
        client, "worker_demo", body(didi_account, platform_code="didi"), "platform_account_id"
    )


def test_roles_without_the_permission_cannot_report(client, meituan_account):
    for user in ("insurer_a", "gx_union", "gx_finance"):
        r = report(client, user, body(meituan_account, platform_code="meituan"))
        assert r.status_code == 403, (user, r.text)


# ---- merge ----------------------------------------------------------------------------------------


def test_two_reports_of_one_event_merged_and_unmerged(client):
    account, _ = fresh_worker("meituan")
    first = new_case(client, account=account)
    second = report(
        client, "qx_si", body(account, "2025-09-30T10:20:00+08:00", platform_code="meituan", channel="phone")
    ).json()
    assert [d["case_id"] for d in second["possible_duplicates"]] == [first["case_id"]]
    h = bearer("qx_hrss")
    before = case_json(client, first["case_id"])["version"]

    r = client.post(f"/api/v1/cases/{second['case_id']}/merge", json={"into_case_id": first["case_id"]}, headers=h)
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["merged_into"]) == ("merged", first["case_id"])
    target = case_json(client, first["case_id"])
    assert target["version"] == before + 1
    assert [e["action"] for e in target["timeline"]] == ["report", "merge_in"]
    # a merged case is no longer a possible duplicate
    third = report(client, "meituan_admin", body(account, "2025-09-30T11:00:00+08:00")).json()
    assert [d["case_id"] for d in third["possible_duplicates"]] == [first["case_id"]]
    with session_scope() as s:
        from oip.cases.models import CaseReport

        on_first = s.scalars(select(CaseReport).where(CaseReport.case_id == first["case_id"])).all()
        assert sorted(x.first_case_id for x in on_first) == sorted([first["case_id"], second["case_id"]])

    r = client.post(f"/api/v1/cases/{second['case_id']}/unmerge", json={}, headers=h)
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["merged_into"]) == ("reported", None)
    assert [e["action"] for e in case_json(client, first["case_id"])["timeline"]] == ["report", "merge_in", "merge_out"]
    assert [e["action"] for e in case_json(client, second["case_id"])["timeline"]] == ["report", "merge", "unmerge"]
    with session_scope() as s:
        from oip.cases.models import CaseReport

        assert [
            x.case_id for x in s.scalars(select(CaseReport).where(CaseReport.first_case_id == second["case_id"]))
        ] == [second["case_id"]]


def test_merge_refuses_another_person_itself_and_stale_versions(client):
    a = new_case(client)
    b = new_case(client)
    h = bearer("qx_hrss")
    r = client.post(f"/api/v1/cases/{a['case_id']}/merge", json={"into_case_id": b["case_id"]}, headers=h)
    assert r.status_code == 400 and r.json()["error"]["field"] == "into_case_id"
    r = client.post(f"/api/v1/cases/{a['case_id']}/merge", json={"into_case_id": a["case_id"]}, headers=h)
    assert r.status_code == 400
    r = client.post(f"/api/v1/cases/{a['case_id']}/unmerge", json={}, headers=h)
    assert r.status_code == 409
    account, _ = fresh_worker("meituan")
    c1 = new_case(client, account=account)
    c2 = new_case(client, account=account)
    r = client.post(
        f"/api/v1/cases/{c2['case_id']}/merge", json={"into_case_id": c1["case_id"], "version": 99}, headers=h
    )
    assert r.status_code == 409 and r.json()["error"]["field"] == "version"
    # merging is an officer's step; another county's officer does not see the case
    r = client.post(
        f"/api/v1/cases/{c2['case_id']}/merge", json={"into_case_id": c1["case_id"]}, headers=bearer("qx_si")
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/cases/{c2['case_id']}/merge", json={"into_case_id": c1["case_id"]}, headers=bearer("lz_hrss")
    )
    assert r.status_code == 404
