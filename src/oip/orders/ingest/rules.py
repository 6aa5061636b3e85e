"""The rules of interface v1 as SQL: view ``v`` gives every row of ``t`` its person, local day,
content hash, ``ok`` and — when not ok — every reason, in Chinese with the field."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from oip.core.sqltext import in_list, literal
from oip.orders.ingest.interface import (
    COORD_FIELDS,
    FIELDS,
    INT_FIELDS,
    LAT_RANGE,
    LNG_RANGE,
    MAX_DISTANCE_M,
    MAX_DURATION_HOURS,
    MAX_ID_LENGTH,
    MAX_INCOME_FEN,
    PARSED,
    REQUIRED,
    STATUSES,
    TIME_FIELDS,
)

_TS_HINT = "应为带时区的 ISO 8601 时间，如 2026-08-01T12:30:00+08:00"


@dataclass(frozen=True)
class Context:
    batch_id: int
    platform_id: int
    platform_code: str
    industry_code: str
    industry_name: str
    coverage_start: dt.date
    coverage_end: dt.date | None
    now_limit: dt.datetime


def _checks(c: Context) -> list[tuple[str, str]]:
    """(condition that makes a row bad, reason) — in the order reasons are listed."""
    day = "t.day"
    out: list[tuple[str, str]] = [("t.pre_reason IS NOT NULL", "t.pre_reason")]
    for f in FIELDS:
        missing = f"t.{f} IS NULL" + (f" AND t.{f}__raw IS NULL" if f in PARSED else "")
        if f in REQUIRED:
            out.append((missing, literal(f"{f}：必填")))
        if f in TIME_FIELDS:
            out.append(
                (
                    f"t.{f}__raw IS NOT NULL",
                    f"CASE WHEN TRY_CAST(t.{f}__raw AS TIMESTAMP) IS NOT NULL "
                    f"THEN {literal(f'{f}：缺少时区偏移（{_TS_HINT}）')} ELSE {literal(f'{f}：格式错误（{_TS_HINT}）')} END",
                )
            )
        elif f in INT_FIELDS:
            out.append((f"t.{f}__raw IS NOT NULL", literal(f"{f}：应为整数")))
        elif f in COORD_FIELDS:
            out.append((f"t.{f}__raw IS NOT NULL", literal(f"{f}：应为十进制度数（如 108.3669）")))
    out += [
        (f"length(t.order_id) > {MAX_ID_LENGTH}", literal(f"order_id：超过 {MAX_ID_LENGTH} 个字符")),
        (f"length(t.worker_account_id) > {MAX_ID_LENGTH}", literal(f"worker_account_id：超过 {MAX_ID_LENGTH} 个字符")),
        (
            f"t.platform_code <> {literal(c.platform_code)}",
            literal(f"platform_code：应为本批的平台编码 {c.platform_code}（实为 ")
            + " || left(t.platform_code, 32) || '）'",
        ),
        (
            f"t.industry <> {literal(c.industry_code)}",
            literal(f"industry：应为该平台的行业 {c.industry_code}（{c.industry_name}）（实为 ")
            + " || left(t.industry, 32) || '）'",
        ),
        (f"t.status NOT IN {in_list(STATUSES)}", literal("status：应为 completed 或 cancelled")),
        ("t.county_code IS NOT NULL AND cty.code IS NULL", literal("county_code：不是广西的县级行政区划代码")),
        (
            f"cty.code IS NOT NULL AND ({day} < cty.valid_from OR {day} > cty.valid_to)",
            literal("county_code：该区划代码在订单日期不在有效期内"),
        ),
        (
            "t.worker_account_id IS NOT NULL AND acc.account_id IS NULL",
            literal("worker_account_id：人员名册中该平台没有此账号（须先报送人员信息）"),
        ),
        (
            f"acc.registered_on IS NOT NULL AND {day} < acc.registered_on",
            "'accepted_at：早于该账号的平台注册日期 ' || CAST(acc.registered_on AS VARCHAR)",
        ),
        (f"{day} > acc.left_on", "'worker_account_id：该账号已于 ' || CAST(acc.left_on AS VARCHAR) || ' 退出平台'"),
        ("t.finished_at < t.accepted_at", literal("finished_at：早于 accepted_at")),
        (
            "t.picked_up_at < t.accepted_at OR t.picked_up_at > t.finished_at",
            literal("picked_up_at：应在 accepted_at 与 finished_at 之间"),
        ),
        (
            f"epoch_us(t.finished_at) - epoch_us(t.accepted_at) > {MAX_DURATION_HOURS * 3600 * 1_000_000}",
            literal(f"finished_at：订单时长超过 {MAX_DURATION_HOURS} 小时"),
        ),
        (f"t.accepted_at > {literal(c.now_limit)}", literal("accepted_at：晚于当前时间")),
        (f"t.finished_at > {literal(c.now_limit)}", literal("finished_at：晚于当前时间")),
        (
            f"{day} < {literal(c.coverage_start)}",
            literal(f"accepted_at：订单日期早于该平台纳入职业伤害保障之日 {c.coverage_start.isoformat()}"),
        ),
    ]
    if c.coverage_end is not None:
        out.append(
            (
                f"{day} > {literal(c.coverage_end)}",
                literal(f"accepted_at：订单日期晚于该行业试点结束之日 {c.coverage_end.isoformat()}"),
            )
        )
    for lng, lat in (("start_lng", "start_lat"), ("end_lng", "end_lat")):
        has_lng = f"(t.{lng} IS NOT NULL OR t.{lng}__raw IS NOT NULL)"
        has_lat = f"(t.{lat} IS NOT NULL OR t.{lat}__raw IS NOT NULL)"
        out.append((f"{has_lng} <> {has_lat}", literal(f"{lng}/{lat}：经度和纬度应同时填写或同时留空")))
        out.append(
            (
                f"t.{lng} NOT BETWEEN {LNG_RANGE[0]} AND {LNG_RANGE[1]}",
                literal(f"{lng}：超出中国境内的经度范围（{LNG_RANGE[0]:g}–{LNG_RANGE[1]:g}），经纬度是否填反？"),
            )
        )
        out.append(
            (
                f"t.{lat} NOT BETWEEN {LAT_RANGE[0]} AND {LAT_RANGE[1]}",
                literal(f"{lat}：超出中国境内的纬度范围（{LAT_RANGE[0]:g}–{LAT_RANGE[1]:g}），经纬度是否填反？"),
            )
        )
    out += [
        ("t.distance_m < 0", literal("distance_m：不能为负数")),
        (
            f"t.distance_m > {MAX_DISTANCE_M}",
            literal(f"distance_m：超过 {MAX_DISTANCE_M // 1000} 公里，不合理（单位为米）"),
        ),
        ("t.income_fen < 0", literal("income_fen：不能为负数")),
        (
            f"t.income_fen > {MAX_INCOME_FEN}",
            literal(f"income_fen：超过 {MAX_INCOME_FEN // 100:,} 元，不合理（单位为分）"),
        ),
    ]
    return out


CONTENT_COLUMNS = FIELDS  # what "the same order" means: these values, after normalisation


def content_hash_sql(alias: str = "t") -> str:
    """63-bit hash of an order's normalised content (timestamps as instants, numbers as numbers)."""
    return f"CAST(hash({', '.join(f'{alias}.{c}' for c in CONTENT_COLUMNS)}) >> 1 AS BIGINT)"


# The local (Asia/Shanghai) date of an instant, by integer arithmetic instead of a time-zone
# conversion per row: China has kept UTC+8 without daylight saving since 1991.
_LOCAL_DAY = "CAST(DATE '1970-01-01' + CAST((epoch_us({x}) + 28800000000) // 86400000000 AS INTEGER) AS DATE)"


def validated_view(c: Context) -> str:
    """View ``v``: every row of ``t`` with its person, local day, content hash, ``ok`` and — when
    not ok — the reasons."""
    checks = _checks(c)
    # A condition that is NULL (a value missing) does not make the row bad: "bad" is "any condition
    # TRUE", so one IS TRUE on the disjunction instead of a COALESCE on each condition.
    bad = f"({' OR '.join(f'({cond})' for cond, _ in checks)}) IS TRUE"
    reasons = ", ".join(f"CASE WHEN {cond} THEN {msg} END" for cond, msg in checks)
    # A line that is not a record at all (not a JSON object) gets that one reason, not a list of missing fields.
    return f"""CREATE OR REPLACE VIEW v AS
        SELECT t.*, acc.person_id, cty.county, {content_hash_sql()} AS h,
               NOT {bad} AS ok,
               CASE WHEN t.pre_reason LIKE '该行%' THEN t.pre_reason
                    WHEN {bad} THEN concat_ws('；', {reasons}) END AS reason
        FROM (SELECT *, {_LOCAL_DAY.format(x="accepted_at")} AS day FROM t) t
             LEFT JOIN acc ON acc.account_id = t.worker_account_id
             LEFT JOIN cty ON cty.code = t.county_code"""
