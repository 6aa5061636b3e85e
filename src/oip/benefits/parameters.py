"""The benefits' effective-dated parameters (待遇参数): the bases B, W, I, the minimum wage, the meal
subsidy and the item tables of docs/domain.md §5, as data (oip.reference.parameters keeps their values).

Money is integer fen. Which value applies is decided by the **event date** of the case (the injury
or the death; for a missing worker, the accident), never by today: ``oip.benefits.service.rates_for``
asks ``parameters.get_version(session, key, event_date, region_code)`` for each key.

Regional parameters (``regional=True``) may have a value for everywhere (no region), for Guangxi
(``45``), for a city (``4501``) or a county (``450103``); the most specific one in force on the event
date wins. Guangxi's minimum wage has tiers by county (一类、二类、三类地区): the default is the first
tier; a county of another tier gets its own value with
``oip parameters set benefit.minimum_wage_monthly_fen 184000 --from 2025-07-01 --region 450123 …``
(or a city, for all its counties, with ``--region 4501``).
"""

from __future__ import annotations

from typing import Any

from oip.benefits import calc
from oip.core.errors import DomainError
from oip.reference.parameters import Definition, define

# The keys are the calculator's (oip.benefits.calc reads them from ``Rates``).
BASE_MONTHLY = calc.B
AVG_MONTHLY_WAGE = calc.W
NATIONAL_DISPOSABLE_INCOME = calc.I
MINIMUM_WAGE = calc.MINIMUM_WAGE
MEAL_SUBSIDY_DAILY = calc.MEAL_DAILY
DISABILITY_ONCE_MONTHS = calc.ONCE_MONTHS
DISABILITY_MONTHLY_PERCENT = calc.MONTHLY_PERCENT
NURSING_PERCENT = calc.NURSING_PERCENT
FUNERAL_MONTHS = calc.FUNERAL_MONTHS
DEPENDANT_PERCENT = calc.DEPENDANT_PERCENT
DEATH_ONCE_MULTIPLE = calc.DEATH_MULTIPLE
MISSING_PENSION_FROM_MONTH = calc.MISSING_FROM_MONTH
MISSING_ADVANCE_PERCENT = calc.MISSING_ADVANCE

KEYS = (
    BASE_MONTHLY,
    AVG_MONTHLY_WAGE,
    NATIONAL_DISPOSABLE_INCOME,
    MINIMUM_WAGE,
    MEAL_SUBSIDY_DAILY,
    DISABILITY_ONCE_MONTHS,
    DISABILITY_MONTHLY_PERCENT,
    NURSING_PERCENT,
    FUNERAL_MONTHS,
    DEPENDANT_PERCENT,
    DEATH_ONCE_MULTIPLE,
    MISSING_PENSION_FROM_MONTH,
    MISSING_ADVANCE_PERCENT,
)

MAX_FEN = 10**11  # a billion yuan: far above any real figure, below any overflow


def _int(value: Any, label: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DomainError(f"{label}应为 {low} 到 {high} 之间的整数", field="value")
    return value


def _fen(label: str):
    def check(value: Any) -> int:
        return _int(value, f"{label}（分）", 1, MAX_FEN)

    return check


def _percent_table(label: str, keys: tuple[str, ...]):
    """A table of whole percentages keyed by ``keys`` (JSON keys are strings: {"1": 90, …})."""

    def check(value: Any) -> dict[str, int]:
        if not isinstance(value, dict):
            raise DomainError(f"{label}应为对象，键为 {'、'.join(keys)}", field="value")
        got = {str(k): v for k, v in value.items()}
        if set(got) != set(keys):
            raise DomainError(f"{label}的键应恰为 {'、'.join(keys)}", field="value")
        return {k: _int(got[k], f"{label}中 {k} 的百分比", 0, 100) for k in keys}

    return check


def _months_by_grade(value: Any) -> list[int]:
    if not isinstance(value, list) or len(value) != 10:
        raise DomainError("一次性伤残补助金月数应为 10 个整数的列表（一级至十级）", field="value")
    return [_int(v, f"{i}级伤残的月数", 1, 120) for i, v in enumerate(value, 1)]


define(
    Definition(
        BASE_MONTHLY,
        "待遇计发基数 B（上年度城镇从业人员月平均工资，分）",
        677200,
        _fen("待遇计发基数"),
        "本人工资基数按广西上年度全口径城镇单位就业人员月平均工资 6,772 元计 [P]；"
        "一次性伤残补助金、伤残津贴、供养亲属抚恤金以此为基数",
        regional=True,
    ),
    Definition(
        AVG_MONTHLY_WAGE,
        "统筹地区上年度职工月平均工资 W（分）",
        677200,
        _fen("职工月平均工资"),
        "生活护理费、丧葬补助金以此为基数；默认按广西上年度全口径城镇单位就业人员月平均工资 6,772 元 [P]",
        regional=True,
    ),
    Definition(
        NATIONAL_DISPOSABLE_INCOME,
        "上一年度全国城镇居民人均可支配收入 I（元/年，以分计）",
        5418800,
        _fen("全国城镇居民人均可支配收入"),
        "2024 年全国城镇居民人均可支配收入 54,188 元（国家统计局）[S]；一次性工亡补助金 = 20 × I；"
        "每年公布后从次年 1 月 1 日起设新值",
    ),
    Definition(
        MINIMUM_WAGE,
        "最低工资标准（月，分）",
        199000,
        _fen("最低工资标准"),
        "广西月最低工资标准第一类地区 1,990 元 [P]；二类、三类地区的县（市、区）用 --region 设本地值；"
        "伤残津贴不得低于当地最低工资标准",
        regional=True,
    ),
    Definition(
        MEAL_SUBSIDY_DAILY,
        "住院伙食补助费标准（每天，分）",
        5000,
        _fen("住院伙食补助费标准"),
        "每住院一天 50 元 [P]（统筹地区可设本地标准）",
        regional=True,
    ),
    Definition(
        DISABILITY_ONCE_MONTHS,
        "一次性伤残补助金月数（一级至十级）",
        [27, 25, 23, 21, 18, 16, 13, 11, 9, 7],
        _months_by_grade,
        "《工伤保险条例》第三十五至三十七条：一级 27 个月至十级 7 个月的本人工资 [S]",
    ),
    Definition(
        DISABILITY_MONTHLY_PERCENT,
        "伤残津贴比例（一级至四级，%）",
        {"1": 90, "2": 85, "3": 80, "4": 75},
        _percent_table("伤残津贴比例", ("1", "2", "3", "4")),
        "《工伤保险条例》第三十五条：一级 90%、二级 85%、三级 80%、四级 75%，不低于当地最低工资标准 [S]",
    ),
    Definition(
        NURSING_PERCENT,
        "生活护理费比例（%）",
        {"complete": 50, "most": 40, "partial": 30},
        _percent_table("生活护理费比例", ("complete", "most", "partial")),
        "《工伤保险条例》第三十四条：生活完全不能自理 50%、大部分不能自理 40%、部分不能自理 30% [S]",
    ),
    Definition(
        FUNERAL_MONTHS,
        "丧葬补助金月数",
        6,
        lambda v: _int(v, "丧葬补助金月数", 1, 60),
        "《工伤保险条例》第三十九条：6 个月的统筹地区上年度职工月平均工资 [S]",
    ),
    Definition(
        DEPENDANT_PERCENT,
        "供养亲属抚恤金比例（%）",
        {"spouse": 40, "other": 30, "orphan_or_lone_elderly_extra": 10},
        _percent_table("供养亲属抚恤金比例", ("spouse", "other", "orphan_or_lone_elderly_extra")),
        "《工伤保险条例》第三十九条：配偶每月 40%，其他亲属每人每月 30%，孤寡老人或者孤儿每人每月"
        "在上述标准的基础上增加 10%；核定的各供养亲属抚恤金之和不应高于本人工资 [S]",
    ),
    Definition(
        DEATH_ONCE_MULTIPLE,
        "一次性工亡补助金倍数（× I）",
        20,
        lambda v: _int(v, "一次性工亡补助金倍数", 1, 100),
        "《工伤保险条例》第三十九条：上一年度全国城镇居民人均可支配收入的 20 倍 [S]",
    ),
    Definition(
        MISSING_PENSION_FROM_MONTH,
        "失踪人员供养亲属抚恤金起付月（事故当月为第 1 个月）",
        4,
        lambda v: _int(v, "失踪人员抚恤金起付月", 1, 24),
        "《工伤保险条例》第四十一条：从事故发生当月起 3 个月内照发工资，从第 4 个月起向供养亲属按月支付抚恤金 [S]",
    ),
    Definition(
        MISSING_ADVANCE_PERCENT,
        "失踪人员一次性工亡补助金先行支付比例（%）",
        50,
        lambda v: _int(v, "先行支付比例", 0, 100),
        "《工伤保险条例》第四十一条：生活有困难的，可以预支一次性工亡补助金的 50% [S]",
    ),
)
