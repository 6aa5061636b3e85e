"""Every validation rule with a worked example: the row is rejected with its row number and a
reason naming the field; the valid row next to it is accepted; received = accepted + rejected +
duplicates (checked by import_rows for every import)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.orders.conftest import import_rows, order, register_workers, rejects


@pytest.fixture(scope="module")
def acct(database):
    return register_workers("meituan", 1)[0][0]


def one_bad(tmp_path, acct, fmt="csv", **overrides):
    """Import a valid row then a bad one; returns the reasons of the bad one (row 3 of the CSV)."""
    res = import_rows(tmp_path, [order(acct), order(acct, **overrides)], fmt=fmt)
    assert (res.received, res.accepted, res.rejected, res.duplicates) == (2, 1, 1, 0)
    rows = rejects(res)
    assert [r["row"] for r in rows] == [3 if fmt == "csv" else 2]
    return rows[0]["reason"]


@pytest.mark.parametrize(
    "field",
    [
        "order_id",
        "platform_code",
        "worker_account_id",
        "industry",
        "county_code",
        "accepted_at",
        "finished_at",
        "status",
    ],
)
def test_required_fields(tmp_path, acct, field):
    assert f"{field}：必填" in one_bad(tmp_path, acct, **{field: ""})


def test_optional_fields_may_be_empty(tmp_path, acct):
    res = import_rows(
        tmp_path,
        [
            order(
                acct, picked_up_at="", start_lng="", start_lat="", end_lng="", end_lat="", distance_m="", income_fen=""
            )
        ],
    )
    assert (res.accepted, res.rejected) == (1, 0)


def test_timestamp_without_offset(tmp_path, acct):
    assert "accepted_at：缺少时区偏移" in one_bad(tmp_path, acct, accepted_at="2025-09-10T12:00:00")


@pytest.mark.parametrize(
    "value",
    [
        "2025-09-10",
        "10/09/2025 12:00+08:00",
        "2025-09-10T25:00:00+08:00",
        "yesterday",
        "2025-09-10T12:00:00 Asia/Shanghai",
    ],
)
def test_malformed_timestamp(tmp_path, acct, value):
    reason = one_bad(tmp_path, acct, finished_at=value)
    assert "finished_at：" in reason and ("格式错误" in reason or "缺少时区偏移" in reason)


@pytest.mark.parametrize(
    "value",
    [
        "2025-09-10T04:00:00Z",
        "2025-09-10T12:00:00.250+08:00",
        "2025-09-10 12:00:00+0800",
        "2025-09-10T05:00:00+01:00",
        "2025-09-10T12:00+08:00",
    ],
)
def test_iso_8601_variants_accepted(tmp_path, acct, value):
    res = import_rows(
        tmp_path, [order(acct, accepted_at=value, picked_up_at="", finished_at="2025-09-10T12:40:00+08:00")]
    )
    assert (res.accepted, res.rejected) == (1, 0), rejects(res)


def test_finished_before_accepted(tmp_path, acct):
    reason = one_bad(
        tmp_path,
        acct,
        accepted_at="2025-09-10T12:00:00+08:00",
        picked_up_at="",
        finished_at="2025-09-10T11:59:59+08:00",
    )
    assert "finished_at：早于 accepted_at" in reason


def test_finished_at_equal_to_accepted_is_fine(tmp_path, acct):
    res = import_rows(
        tmp_path,
        [
            order(
                acct,
                accepted_at="2025-09-10T12:00:00+08:00",
                picked_up_at="",
                finished_at="2025-09-10T12:00:00+08:00",
                status="cancelled",
            )
        ],
    )
    assert res.accepted == 1


def test_pickup_outside_the_window(tmp_path, acct):
    reason = one_bad(tmp_path, acct, picked_up_at="2025-09-10T11:00:00+08:00")
    assert "picked_up_at：应在 accepted_at 与 finished_at 之间" in reason


def test_longer_than_a_day(tmp_path, acct):
    reason = one_bad(tmp_path, acct, picked_up_at="", finished_at="2025-09-11T12:00:01+08:00")
    assert "finished_at：订单时长超过 24 小时" in reason


def test_in_the_future(tmp_path, acct):
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    reason = one_bad(
        tmp_path,
        acct,
        accepted_at=future.isoformat(timespec="seconds"),
        picked_up_at="",
        finished_at=(future + dt.timedelta(minutes=30)).isoformat(timespec="seconds"),
    )
    assert "accepted_at：晚于当前时间" in reason and "finished_at：晚于当前时间" in reason


def test_status(tmp_path, acct):
    assert "status：应为 completed 或 cancelled" in one_bad(tmp_path, acct, status="done")


def test_status_is_case_insensitive(tmp_path, acct):
    assert import_rows(tmp_path, [order(acct, status="Cancelled")]).accepted == 1


def test_platform_code_of_another_platform(tmp_path, acct):
    assert "platform_code：应为本批的平台编码 meituan（实为 didi）" in one_bad(tmp_path, acct, platform_code="didi")


def test_industry_not_the_platforms(tmp_path, acct):
    reason = one_bad(tmp_path, acct, industry="ride_hailing")
    assert "industry：应为该平台的行业 instant_delivery" in reason


@pytest.mark.parametrize("county", ["440103", "450100", "999999", "4501"])
def test_county_outside_guangxi_or_not_a_county(tmp_path, acct, county):
    assert "county_code：不是广西的县级行政区划代码" in one_bad(tmp_path, acct, county_code=county)


def test_unknown_worker_account(tmp_path, acct):
    reason = one_bad(tmp_path, acct, worker_account_id="NOBODY-123")
    assert "worker_account_id：人员名册中该平台没有此账号" in reason


def test_account_of_another_platform(tmp_path, acct):
    didi_account = register_workers("didi", 1)[0][0]
    assert "worker_account_id：人员名册中该平台没有此账号" in one_bad(tmp_path, acct, worker_account_id=didi_account)


def test_before_the_account_was_registered(tmp_path):
    late = register_workers("meituan", 1, registered_on="2025-10-01")[0][0]
    res = import_rows(tmp_path, [order(late, day="2025-09-30"), order(late, day="2025-10-01")])
    assert (res.accepted, res.rejected) == (1, 1)
    assert "accepted_at：早于该账号的平台注册日期 2025-10-01" in rejects(res)[0]["reason"]


def test_after_the_account_left(tmp_path):
    from sqlalchemy import select

    from oip.auth.models import User
    from oip.auth.service import principal_for
    from oip.core.db import session_scope
    from oip.platforms.models import Platform
    from oip.workers import service

    leaver = register_workers("meituan", 1)[0][0]
    with session_scope() as s:
        actor = principal_for(s, s.scalar(select(User).where(User.username == "meituan-api")))
        plat = s.scalar(select(Platform).where(Platform.code == "meituan"))
        service.set_status(s, actor, plat, leaver, "left", dt.date(2025, 9, 15))
    res = import_rows(tmp_path, [order(leaver, day="2025-09-15"), order(leaver, day="2025-09-16")])
    assert (res.accepted, res.rejected) == (1, 1)
    assert "worker_account_id：该账号已于 2025-09-15 退出平台" in rejects(res)[0]["reason"]


def test_before_the_platforms_coverage_started(tmp_path):
    # caocao: the premiums tests count the orders of meituan and didi in 2025-07
    early = register_workers("caocao", 1, registered_on="2025-06-01")[0][0]
    res = import_rows(
        tmp_path,
        [order(early, "caocao", day="2025-06-30", start="23:00"), order(early, "caocao", day="2025-07-01")],
        platform="caocao",
    )
    assert (res.accepted, res.rejected) == (1, 1)
    assert "订单日期早于该平台纳入职业伤害保障之日 2025-07-01" in rejects(res)[0]["reason"]


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"start_lng": "22.8167", "start_lat": "108.3669"}, "start_lng：超出中国境内的经度范围"),
        ({"end_lat": "95"}, "end_lat：超出中国境内的纬度范围"),
        ({"end_lat": ""}, "end_lng/end_lat：经度和纬度应同时填写或同时留空"),
        ({"start_lng": "东经108度"}, "start_lng：应为十进制度数"),
        ({"distance_m": "-5"}, "distance_m：不能为负数"),
        ({"distance_m": "3.5km"}, "distance_m：应为整数"),
        ({"income_fen": "6.5"}, "income_fen：应为整数"),
        ({"income_fen": "-100"}, "income_fen：不能为负数"),
        ({"income_fen": "20000000"}, "income_fen：超过 100,000 元"),
        ({"order_id": "X" * 65}, "order_id：超过 64 个字符"),
    ],
)
def test_values(tmp_path, acct, overrides, reason):
    assert reason in one_bad(tmp_path, acct, **overrides)


def test_integers_written_as_decimals_are_accepted(tmp_path, acct):
    res = import_rows(tmp_path, [order(acct, income_fen="650.0", distance_m="3.2e3")])
    assert res.accepted == 1


def test_several_reasons_are_joined(tmp_path, acct):
    reason = one_bad(tmp_path, acct, status="done", county_code="440103", income_fen="-1")
    assert reason.count("；") == 2
    assert reason.index("status") < reason.index("county_code") < reason.index("income_fen")


def test_same_order_id_twice_with_different_content(tmp_path, acct):
    a = order(acct)
    b = dict(a, income_fen="700")
    c = order(acct)
    res = import_rows(tmp_path, [a, c, b])
    assert (res.received, res.accepted, res.rejected, res.duplicates) == (3, 1, 2, 0)
    rows = rejects(res)
    assert [r["row"] for r in rows] == [2, 4]
    assert all("order_id：同一订单号在本批中出现多次且内容不一致（第 2、4 行）" in r["reason"] for r in rows)


def test_identical_repeat_in_a_batch_is_a_duplicate(tmp_path, acct):
    a = order(acct)
    same_instant = dict(a, accepted_at=a["accepted_at"].replace("12:00:00+08:00", "04:00:00+00:00"))
    res = import_rows(tmp_path, [a, a, same_instant])
    assert (res.received, res.accepted, res.rejected, res.duplicates) == (3, 1, 0, 2)


def test_identical_repeats_of_a_bad_row_are_all_rejected(tmp_path, acct):
    bad = order(acct, status="done")
    res = import_rows(tmp_path, [bad, bad])
    assert (res.accepted, res.rejected, res.duplicates) == (0, 2, 0)


def test_rejects_file_keeps_the_raw_values_and_neutralises_formulas(tmp_path, acct):
    res = import_rows(tmp_path, [order(acct, accepted_at="2025-09-10 12h00", income_fen="=1+1")])
    row = rejects(res)[0]
    assert row["accepted_at"] == "2025-09-10 12h00"
    assert row["income_fen"] == "'=1+1"
    assert row["worker_account_id"] == acct
