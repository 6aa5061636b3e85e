"""``oip parameters list|set`` (every parameter of the system) and the premiums aliases, as subprocesses."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from oip.benefits import service
from oip.core.db import session_scope
from tests.premiums.test_cli import oip

COUNTY = "451024"  # 德保县 (百色): a county of another minimum-wage tier, used by no other test


@pytest.fixture(scope="module")
def listed(database):
    r = oip("parameters", "list", "--json")
    assert r.returncode == 0, r.stderr
    return {(x["key"], x["region"], x["valid_from"]): x for x in json.loads(r.stdout)}


def test_list_json_has_every_parameter_with_label_region_and_period(listed):
    keys = {k for k, _, _ in listed}
    assert {
        "benefit.base_monthly_fen",
        "benefit.dependant_percent",
        "premium.float_rules",
        "case.decision_working_days",
    } <= keys
    income = next(x for (k, _, _), x in listed.items() if k == "benefit.national_disposable_income_fen")
    assert income["value"] == 5_418_800 and income["valid_from"] == "2025-07-01" and income["region"] == ""
    assert set(income) >= {"key", "label", "region", "value", "valid_from", "valid_to", "note"}
    assert "54,188" in income["note"]


def test_the_table_is_readable():
    r = oip("parameters", "list", "--key", "benefit.")
    assert r.returncode == 0, r.stderr
    assert "参数" in r.stdout and "benefit.minimum_wage_monthly_fen" in r.stdout and "全区通用" in r.stdout
    assert "premium." not in r.stdout


def test_set_a_county_minimum_wage_with_region(database):
    r = oip(
        "parameters",
        "set",
        "benefit.minimum_wage_monthly_fen",
        "178000",
        "--from",
        "2026-09-01",
        "--region",
        COUNTY,
        "--note",
        "三类地区月最低工资标准（测试）",
        "--by",
        "gx_si",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {
        "key": "benefit.minimum_wage_monthly_fen",
        "region": COUNTY,
        "value": 178000,
        "valid_from": "2026-09-01",
        "note": "三类地区月最低工资标准（测试）",
    }
    with session_scope() as s:
        assert service.rates_for(s, dt.date(2026, 9, 1), COUNTY).values["benefit.minimum_wage_monthly_fen"] == 178000
        assert service.rates_for(s, dt.date(2026, 8, 31), COUNTY).values["benefit.minimum_wage_monthly_fen"] == 199000
        assert service.rates_for(s, dt.date(2026, 9, 1), "451002").values["benefit.minimum_wage_monthly_fen"] == 199000
    listed = json.loads(oip("parameters", "list", "--json", "--key", "benefit.minimum_wage").stdout)
    mine = [x for x in listed if x["region"] == COUNTY]
    assert mine and mine[0]["region_name"] == "德保县" and mine[0]["value"] == 178000


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["benefit.national_disposable_income_fen", "5000000", "--region", "4501"], "全区统一，不能按地区设置"),
        (["benefit.base_monthly_fen", "0"], "应为 1 到"),
        (["benefit.base_monthly_fen", "abc"], "参数值应为 JSON"),
        (["benefit.no_such", "1"], "未知的参数"),
    ],
)
def test_set_refusals_are_chinese_and_exit_2(args, words):
    key, value, *rest = args
    r = oip("parameters", "set", key, value, "--from", "2026-10-01", *rest, "--note", "测试", "--by", "gx_si")
    assert r.returncode == 2 and r.stdout == "" and words in r.stderr, r.stderr


def test_the_premiums_aliases_still_work(database):
    r = oip("premiums", "parameters")
    assert r.returncode == 0, r.stderr
    keys = {p["key"] for p in json.loads(r.stdout)}
    assert {"premium.payment_due_day", "benefit.funeral_months"} <= keys
    r = oip(
        "premiums",
        "parameter-set",
        "benefit.missing_advance_percent",
        "50",
        "--from",
        "2026-11-01",
        "--note",
        "别名（测试）",
        "--by",
        "gx_si",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["valid_from"] == "2026-11-01"
