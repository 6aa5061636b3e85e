"""Effective-dated parameters (参数): values that rules read by date, stored as data with a history.

Every parameter is a row per validity period (``valid_from`` … ``valid_to``, inclusive; an open end
is ``None``), with who changed it, when, and why. ``get(session, key, day)`` answers the value in
force on a day; ``set(...)`` starts a new value from a date, closes the one before it and writes an
audit event in the caller's transaction. Rows are never overwritten, so any past decision can be
traced to the value that made it (``get_version``).

The defaults below are data too: ``ensure_defaults`` stores each one (from the pilot's start,
2025-07-01) the first time it is needed, so that their history starts in the database. Until then
``get`` answers the default. Values marked [P] in docs/domain.md are parameters because no public
source states them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, DateTime, ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from oip.core import audit, clock
from oip.core.db import Base, IdMixin
from oip.core.errors import DomainError

PILOT_START = dt.date(2025, 7, 1)


class Parameter(IdMixin, Base):
    """`Parameter` — 业务参数（按生效期管理）: one value of a key for a validity period."""

    __tablename__ = "parameters"
    key: Mapped[str] = mapped_column(String(64), index=True)
    value: Mapped[Any] = mapped_column(JSONB)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")
    # "" applies everywhere; otherwise a region's code prefix ("45" Guangxi, "4501" 南宁, "450103"
    # 青秀区): the most specific region with a value in force on the day wins.
    region: Mapped[str] = mapped_column(String(6), default="", server_default="")
    __table_args__ = (UniqueConstraint("key", "region", "valid_from"),)


# ---- definitions ---------------------------------------------------------------------------------
# Each domain defines its own parameters (key, label, default, validation) with ``define`` when it is
# imported: oip.premiums.parameters, oip.exchange.parameters, … (oip.models imports them all).


@dataclass(frozen=True)
class Definition:
    key: str
    label: str
    default: Any
    validate: Callable[[Any], Any]
    note: str
    regional: bool = False  # may a region (city, county) have its own value?


DEFINITIONS: dict[str, Definition] = {}


def define(*definitions: Definition) -> None:
    for d in definitions:
        DEFINITIONS[d.key] = d


audit.register_actions({"parameter.set": "调整业务参数", "parameter.default": "载入业务参数默认值"})


def definition(key: str) -> Definition:
    try:
        return DEFINITIONS[key]
    except KeyError:
        raise DomainError(f"未知的参数 {key}；可用参数：{'、'.join(sorted(DEFINITIONS))}", field="key") from None


# ---- reads ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    """A parameter's value on a day and where it came from (the row, or the built-in default)."""

    key: str
    value: Any
    valid_from: dt.date
    valid_to: dt.date | None
    row_id: int | None
    region: str = ""

    @property
    def version(self) -> str:
        return (
            f"{self.key}@{self.valid_from.isoformat()}"
            + (f"/{self.region}" if self.region else "")
            + ("" if self.row_id else "（默认值）")
        )


def region_prefix(code: str | None) -> str:
    """A region as parameters key it: "" (everywhere), or the code prefix of a province ("45"),
    a city ("4501") or a county ("450103"). Accepts "450000", "450100", "45", "4501", "450103"."""
    code = (code or "").strip()
    if not code:
        return ""
    if not code.isdigit() or len(code) not in (2, 4, 6):
        raise DomainError(f"行政区划代码“{code}”应为 2、4 或 6 位数字（如 45、4501、450103）", field="region")
    if len(code) == 6 and code.endswith("0000"):
        return code[:2]
    if len(code) == 6 and code.endswith("00"):
        return code[:4]
    return code


def _candidates(region_code: str | None) -> list[str]:
    """The regions whose value could apply to ``region_code``, most specific first, then ""."""
    p = region_prefix(region_code)
    out = [p[:n] for n in (6, 4, 2) if len(p) >= n]
    return [*dict.fromkeys(out), ""]


def get_version(session: Session, key: str, day: dt.date, region_code: str | None = None) -> Value:
    """The value of ``key`` in force on ``day`` for ``region_code`` (a county, city or province
    code): the most specific region with a value in force on that day, else the value for
    everywhere, else the built-in default. Nothing was in force before the pilot: a day before
    2025-07-01 gets the pilot's first values (as it does before any value is stored), whether or not
    the defaults have been stored yet."""
    d = definition(key)
    day = max(day, PILOT_START)
    rows = list(session.scalars(select(Parameter).where(Parameter.key == key).order_by(Parameter.valid_from)))
    if not rows:
        return Value(key, d.default, PILOT_START, None, None)
    candidates = _candidates(region_code) if d.regional else [""]
    for region in candidates:
        for r in reversed(rows):
            if r.region == region and r.valid_from <= day and (r.valid_to is None or day <= r.valid_to):
                return Value(key, r.value, r.valid_from, r.valid_to, r.id, r.region)
    raise DomainError(f"参数“{d.label}”（{key}）在 {day} 没有有效值", field=key)


def get(session: Session, key: str, day: dt.date, region_code: str | None = None) -> Any:
    """The value of ``key`` in force on ``day`` (for ``region_code``, when the parameter is regional)."""
    return get_version(session, key, day, region_code).value


def history(session: Session, keys: list[str] | None = None) -> list[Parameter]:
    q = select(Parameter).order_by(Parameter.key, Parameter.valid_from)
    if keys:
        q = q.where(Parameter.key.in_(keys))
    return list(session.scalars(q))


# ---- writes --------------------------------------------------------------------------------------


def ensure_defaults(session: Session, actor=audit.SYSTEM) -> list[str]:
    """Store the default of every parameter that has no row yet (from 2025-07-01)."""
    have = {k for k in session.scalars(select(Parameter.key).distinct())}
    added = []
    for key, d in DEFINITIONS.items():
        if key in have:
            continue
        session.add(
            Parameter(
                key=key,
                value=d.validate(d.default),
                valid_from=PILOT_START,
                valid_to=None,
                changed_by=getattr(actor, "user_id", None),
                changed_at=clock.now(),
                note=d.note,
            )
        )
        added.append(key)
    if added:
        session.flush()
        audit.record(
            session,
            actor,
            "parameter.default",
            entity_type="parameter",
            entity_id=f"{len(added)} 项默认值",  # the keys and values are in ``after``
            after={k: DEFINITIONS[k].default for k in added},
        )
    return added


def set(  # noqa: A001
    session: Session, actor, key: str, value: Any, valid_from: dt.date, note: str, region: str | None = None
) -> Parameter:
    """A new value of ``key`` from ``valid_from`` (for ``region``, a province, city or county code,
    when the parameter is regional); the value before it, in the same region, ends the day before."""
    d = definition(key)
    region = region_prefix(region)
    if region and not d.regional:
        raise DomainError(f"参数“{d.label}”（{key}）全区统一，不能按地区设置", field="region")
    if not isinstance(valid_from, dt.date):
        raise DomainError("生效日期应为日期（YYYY-MM-DD）", field="valid_from")
    if valid_from < PILOT_START:
        raise DomainError(f"生效日期不能早于试点开始日 {PILOT_START}", field="valid_from")
    note = (note or "").strip()
    if not note:
        raise DomainError("请填写调整说明（依据文号或理由）", field="note")
    value = d.validate(value)
    ensure_defaults(session, actor)
    rows = list(
        session.scalars(
            select(Parameter)
            .where(Parameter.key == key, Parameter.region == region)
            .order_by(Parameter.valid_from)
            .with_for_update()
        )
    )
    if rows and valid_from <= rows[-1].valid_from:
        raise DomainError(f"生效日期应晚于现行值的生效日期 {rows[-1].valid_from}", field="valid_from")
    before = None
    for r in rows:
        if r.valid_to is None or r.valid_to >= valid_from:
            r.valid_to = valid_from - dt.timedelta(days=1)
            before = {"value": r.value, "valid_from": r.valid_from, "valid_to": r.valid_to}
    row = Parameter(
        key=key,
        value=value,
        valid_from=valid_from,
        valid_to=None,
        changed_by=getattr(actor, "user_id", None),
        changed_at=clock.now(),
        note=note,
        region=region,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "parameter.set",
        entity_type="parameter",
        entity_id=key + (f"/{region}" if region else ""),
        before=before,
        after={"value": value, "valid_from": valid_from, "note": note, "region": region},
    )
    return row
