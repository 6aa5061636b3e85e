"""Rules of a case's intake (报案、申请、材料、补正、受理) — pure, no database, no web.

- the materials checklist of each case kind (``data/checklists.json``: injury, death, missing and the
  outpatient-only fast lane), and which required items still have no document;
- the checks of a report's place, time and coordinates, of the dates staff enter for paper acts
  (a report's ``reported_on``, an application's ``submitted_on``, acceptance and refusal dates);
- ``check_document``: an uploaded file judged by its **content** (PDF, JPEG, PNG by their magic bytes),
  never by its name: empty files, files over the size limit, executables, HTML and scripts, PDFs with
  JavaScript, Launch actions or embedded files, encrypted PDFs, and names whose extension contradicts
  the content are refused. It has the signature of the shared ``oip.core.uploads.check_document``
  so the intake can switch to that one.

Every refusal is a DomainError (or TooLarge) with a Chinese reason naming the field.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources

from oip.core import validation
from oip.core.errors import DomainError

KIND_NAMES = {"injury": "受伤", "death": "死亡", "missing": "下落不明"}
CHANNEL_NAMES = {
    "platform_api": "平台企业一键报案",
    "platform_portal": "平台企业门户登记",
    "worker_portal": "本人网上报案",
    "phone": "电话报案",
    "desk": "窗口报案",
    "paper": "书面报案",
}
STAFF_CHANNELS = ("phone", "desk", "paper")
APPLICANTS = ("platform", "worker", "relative", "union")

# China's extent (WGS-84/GCJ-02 degrees, rounded outwards): 曾母暗沙 ~3.85°N … 漠河 ~53.56°N,
# 帕米尔 ~73.5°E … 黑瞎子岛 ~135.1°E.
LAT_RANGE = (Decimal("3.8"), Decimal("53.6"))
LON_RANGE = (Decimal("73.4"), Decimal("135.1"))

# A platform's clock may run a little ahead of ours: a report this far in the future is still "now".
CLOCK_SKEW = dt.timedelta(minutes=2)

TEXT_LIMITS = {"address": 500, "description": 4000, "injuries": 2000, "explanation": 4000, "reason": 4000, "note": 500}


# ---- the materials checklist ----------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """One item of a checklist: a stable code, its Chinese name, and whether it is required."""

    code: str
    name: str
    required: bool


def _load() -> dict[str, tuple[str, tuple[Requirement, ...]]]:
    raw = json.loads(resources.files("oip.cases").joinpath("data/checklists.json").read_text(encoding="utf-8"))
    return {
        key: (v["name"], tuple(Requirement(i["code"], i["name"], bool(i["required"])) for i in v["items"]))
        for key, v in raw.items()
        if not key.startswith("_")
    }


_CHECKLISTS = _load()
CHECKLISTS: dict[str, tuple[Requirement, ...]] = {k: items for k, (_, items) in _CHECKLISTS.items()}
CHECKLIST_NAMES: dict[str, str] = {k: name for k, (name, _) in _CHECKLISTS.items()}


def checklist_key(kind: str, outpatient_only: bool) -> str:
    """Which checklist a case uses: the fast lane's for an injury treated in outpatient care only."""
    return "outpatient" if kind == "injury" and outpatient_only else kind


def checklist(kind: str, outpatient_only: bool = False) -> tuple[Requirement, ...]:
    return CHECKLISTS[checklist_key(kind, outpatient_only)]


def requirement(items: Iterable[Requirement], code: str, field: str = "requirement") -> Requirement:
    """The item ``code`` of the checklist, or a DomainError naming the items there are."""
    items = tuple(items)
    for r in items:
        if r.code == code:
            return r
    names = "、".join(f"{r.code}（{r.name}）" for r in items)
    raise DomainError(f"材料项目“{code}”不在本案件的材料清单中，应为：{names}", field=field)


def missing(items: Iterable[Requirement], present: Collection[str]) -> list[Requirement]:
    """The required items with no document."""
    return [r for r in items if r.required and r.code not in present]


def check_correction_items(
    items: Iterable[Requirement], listed: list[tuple[str, str]], present: Collection[str]
) -> list[dict[str, str]]:
    """The items of a correction notice (一次性补正告知): at least one, each on the checklist, none
    twice, and **every** required item that has no document among them — the notice tells the
    applicant everything at once. Returns [{requirement, name, note}] in checklist order."""
    items = tuple(items)
    if not listed:
        raise DomainError("补正告知至少列明一项需要补正的材料", field="items")
    by_code: dict[str, str] = {}
    for code, note in listed:
        req = requirement(items, code, field="items")
        if code in by_code:
            raise DomainError(f"材料项目“{req.name}”重复列明", field="items")
        note = (note or "").strip()
        if len(note) > TEXT_LIMITS["note"]:
            raise DomainError(f"“{req.name}”的补正说明不能超过 {TEXT_LIMITS['note']} 个字", field="items")
        by_code[code] = note
    left_out = [r for r in missing(items, present) if r.code not in by_code]
    if left_out:
        raise DomainError(
            "一次性补正告知须列明全部缺少的材料，尚未列明：" + "、".join(r.name for r in left_out), field="items"
        )
    return [{"requirement": r.code, "name": r.name, "note": by_code[r.code]} for r in items if r.code in by_code]


# ---- a report -------------------------------------------------------------------------------------


def clean_text(value: object, field: str, label: str, *, required: bool = True) -> str:
    """Free text of a report or an application, within its field's limit (TEXT_LIMITS)."""
    return validation.clean_text(value, field, label, TEXT_LIMITS.get(field, 4000), required=required)


def check_kind(kind: str) -> str:
    if kind not in KIND_NAMES:
        choices = "、".join(f"{k}（{n}）" for k, n in KIND_NAMES.items())
        raise DomainError(f"事故类别“{kind}”无效，应为：{choices}", field="kind")
    return kind


def check_occurred_at(occurred_at: dt.datetime, now: dt.datetime, pilot_start: dt.date, local_day: dt.date) -> None:
    """Not in the future, not before the pilot began (``local_day``: the day in Guangxi)."""
    if occurred_at.tzinfo is None:
        raise DomainError("事故发生时间须带时区偏移，如 2025-10-09T14:30:00+08:00", field="occurred_at")
    if occurred_at > now + CLOCK_SKEW:
        raise DomainError("事故发生时间不能晚于当前时间", field="occurred_at")
    if local_day < pilot_start:
        raise DomainError(
            f"事故发生时间早于广西试点开始日期（{pilot_start.isoformat()}），不属于职业伤害保障范围",
            field="occurred_at",
        )


def check_coordinates(lat: Decimal | None, lon: Decimal | None) -> None:
    """Both or neither; within China's extent."""
    if (lat is None) != (lon is None):
        raise DomainError("经度和纬度须同时填写或同时不填", field="lat" if lat is None else "lon")
    if lat is None or lon is None:
        return
    if not lat.is_finite() or not LAT_RANGE[0] <= lat <= LAT_RANGE[1]:
        raise DomainError(f"纬度 {lat} 不在中国境内（应在 {LAT_RANGE[0]} 到 {LAT_RANGE[1]} 之间）", field="lat")
    if not lon.is_finite() or not LON_RANGE[0] <= lon <= LON_RANGE[1]:
        raise DomainError(f"经度 {lon} 不在中国境内（应在 {LON_RANGE[0]} 到 {LON_RANGE[1]} 之间）", field="lon")


def check_act_date(day: dt.date, *, field: str, label: str, today: dt.date, not_before: dt.date, before_label: str):
    """A date staff enter for a paper act: a real day, not in the future, not before ``not_before``."""
    if day > today:
        raise DomainError(f"{label}不能晚于今天（{today.isoformat()}）", field=field)
    if day < not_before:
        raise DomainError(f"{label}不能早于{before_label}（{not_before.isoformat()}）", field=field)
