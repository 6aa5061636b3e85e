"""Loading reference data: regions (GB/T 2260) and industries, from the files in ``data/``.

Idempotent: existing rows are updated from the files. The pilot platforms listed in
``data/pilot.json`` are entered into the register by the platforms domain
(oip.platforms.service.load_pilot_platforms)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.core import audit
from oip.core.errors import DomainError
from oip.reference.models import Industry, Region

# The autonomous region itself (自治区本级): its fund is pooled here (自治区级统筹), premiums arrive here.
PROVINCE_CODE = "450000"


def city_of(code: str) -> str:
    """The city a region code belongs to ("450103" → "450100"); the province is its own city."""
    return code[:4] + "00"


def data_file(name: str) -> str:
    return resources.files("oip.reference").joinpath("data", name).read_text(encoding="utf-8")


def load(session: Session, actor=audit.SYSTEM) -> dict:
    counts = {"regions": 0, "industries": 0}
    existing = {r.code: r for r in session.scalars(select(Region))}
    for row in csv.DictReader(data_file("guangxi-divisions.csv").splitlines()):
        r = existing.get(row["code"]) or Region(code=row["code"])
        r.name, r.level, r.parent_code = row["name"], row["level"], row["parent_code"] or None
        r.valid_from = r.valid_from or dt.date(1980, 1, 1)
        session.add(r)
        counts["regions"] += 1
    pilot = json.loads(data_file("pilot.json"))
    for i in pilot["industries"]:
        ind = session.get(Industry, i["code"]) or Industry(code=i["code"])
        ind.name, ind.description = i["name"], i.get("description", "")
        ind.covered_from = dt.date.fromisoformat(i["covered_from"]) if i.get("covered_from") else None
        session.add(ind)
        counts["industries"] += 1
    session.flush()
    audit.record(session, actor, "reference.load", entity_type="reference", after=counts)
    return counts


def add_industry(
    session: Session, actor, code: str, name: str, covered_from: dt.date | None, description: str = ""
) -> Industry:
    """A new industry brought into the pilot (e.g. from 2027), or a changed start date of one."""
    import re

    if not re.fullmatch(r"[a-z][a-z0-9_]{1,31}", code or ""):
        raise DomainError("行业编码应为 2–32 位小写字母、数字或下划线，以字母开头", field="code")
    if not (name or "").strip():
        raise DomainError("行业名称不能为空", field="name")
    ind = session.get(Industry, code)
    before = None if ind is None else {"name": ind.name, "covered_from": ind.covered_from}
    if ind is None:
        ind = Industry(code=code)
        session.add(ind)
    ind.name, ind.covered_from, ind.description = name.strip(), covered_from, description or ind.description or ""
    session.flush()
    audit.record(
        session,
        actor,
        "industry.create" if before is None else "industry.update",
        entity_type="industry",
        entity_id=code,
        before=before,
        after={"name": ind.name, "covered_from": covered_from},
    )
    return ind


def regions(session: Session, level: str | None = None, under: str | None = None) -> list[Region]:
    q = select(Region).order_by(Region.code)
    if level:
        q = q.where(Region.level == level)
    if under:
        q = q.where(Region.parent_code == under)
    return list(session.scalars(q))


def region_names(session: Session) -> dict[str, str]:
    return {code: name for code, name in session.execute(select(Region.code, Region.name))}
