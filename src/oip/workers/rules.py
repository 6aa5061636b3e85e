"""The rules of registering workers, without a database: what a record must hold, the minimum
working age, and what a batch does with each record given what is already registered.

``workers.service.register`` loads what a batch needs (the counties in force, the persons and
accounts it names), calls ``screen`` and ``decide`` here, and writes and audits what they decided.
Nothing in this module imports SQLAlchemy or touches a session; it is tested on plain values.

A record has the fields ``platform_account_id, name, id_number, phone, county_code,
registered_on``. Reasons name the field they are about, in Chinese; clear ID and phone numbers
never appear in a reason or a warning.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from oip.core.errors import DomainError
from oip.core.ids import InvalidId, age_on, mask_phone, parse_mobile, parse_resident_id

FIELDS = ("platform_account_id", "name", "id_number", "phone", "county_code", "registered_on")
FIELD_NAMES = {
    "platform_account_id": "平台账号",
    "name": "姓名",
    "id_number": "身份证号码",
    "phone": "手机号码",
    "county_code": "接单地区划代码",
    "registered_on": "注册日期",
}
IGNORED_KEYS = {"platform_code", "status"}  # accepted in a record, handled elsewhere

MIN_AGE = 16  # 劳动法 art. 15: no one under 16 may be taken on
ADULT_AGE = 18  # 16–17: 未成年工, who are owed special protection (劳动法 art. 58, 64)


# ---- what the rules work on and answer -----------------------------------------------------------


@dataclass
class Outcome:
    """What happened to one record. ``row`` is the record's number in its batch (1-based), or its
    line number in an uploaded file (the header is line 1)."""

    row: int
    platform_account_id: str | None
    status: str  # created | updated | unchanged | rejected
    reasons: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    person_id: int | None = None

    def as_dict(self) -> dict:
        d = {"row": self.row, "platform_account_id": self.platform_account_id, "status": self.status}
        if self.reasons:
            d["reasons"] = self.reasons
        if self.warnings:
            d["warnings"] = self.warnings
        return d


@dataclass
class BatchResult:
    batch_id: int | None
    received: int
    accepted: int
    rejected: int
    outcomes: list[Outcome]

    def as_dict(self) -> dict:
        return {
            "batch_id": self.batch_id,
            "received": self.received,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "results": [o.as_dict() for o in self.outcomes],
        }


@dataclass
class Clean:
    """A record that passed validation, normalised."""

    row: int
    account_id: str
    name: str
    id_number: str
    birth_date: dt.date
    sex: str
    phone: str
    county_code: str
    registered_on: dt.date
    warnings: list[str]


@dataclass(frozen=True)
class Editor:
    """Who submits, as far as the rules care: an officer with a regional scope may only register and
    change accounts whose county lies inside it (``region_prefix``); anyone else has ``None``."""

    region_prefix: str | None = None
    organisation_name: str = ""


@dataclass(frozen=True)
class KnownPerson:
    """A person of the register named by a record's ID number. ``seen``: the submitter can already see
    them (an account in their scope); if not, the record is answered as for a new person."""

    id: int
    name: str
    seen: bool = True


@dataclass(frozen=True)
class KnownAccount:
    """An account of this platform already in the register."""

    account_id: str
    person_id: int
    county_code: str
    phone_bidx: bytes
    phone_masked: str
    registered_on: dt.date


@dataclass
class Update:
    """An existing account whose county, phone or registration date the record changes."""

    clean: Clean
    person_id: int
    phone_changed: bool


@dataclass
class Decision:
    """What to write for the records that passed ``screen``. ``outcomes`` holds the rejected, the
    unchanged and the updated; the created get theirs once their person has an id."""

    outcomes: list[Outcome] = field(default_factory=list)
    new_people: dict[bytes, Clean] = field(default_factory=dict)  # blind index → the first record naming them
    creates: list[Clean] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)  # for the audit event: masked before/after per account
    touched: set[int] = field(default_factory=set)  # existing persons the batch registered again or changed


# ---- single values ---------------------------------------------------------------------------------

_EXCEL_NUMBER = re.compile(r"^\d+(\.\d+)?E\+?\d+$", re.IGNORECASE)
_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_NAME_DOTS = str.maketrans({"•": "·", "・": "·", "．": "·", "‧": "·", "∙": "·"})


def parse_day(raw: str, what: str = "日期") -> dt.date:
    """A calendar day as platforms and Excel write it: 2025-07-01, 2025/7/1, 2025年7月1日, 20250701,
    optionally followed by a time of day. Raises DomainError with a Chinese reason."""
    s = unicodedata.normalize("NFKC", str(raw)).strip()
    m = _DATE.match(s)
    if m:
        y, mo, d = (int(x) for x in m.groups())
    elif re.fullmatch(r"\d{8}", s):
        y, mo, d = int(s[:4]), int(s[4:6]), int(s[6:])
    elif re.fullmatch(r"\d{5}(\.0+)?", s):
        raise DomainError(
            f"{what} {s} 像是 Excel 的日期序列号：请把该列设置为“文本”或“日期”格式（YYYY-MM-DD）后重新保存"
        )
    else:
        raise DomainError(f"{s[:32]} 不是合法日期（应为 YYYY-MM-DD，如 2025-07-01）")
    try:
        return dt.date(y, mo, d)
    except ValueError:
        raise DomainError(
            f"{s[:32]} 不是合法日期：{y} 年 {mo} 月没有 {d} 日"
            if 1 <= mo <= 12
            else f"{s[:32]} 不是合法日期：月份应为 1–12"
        ) from None


def age_problem(born: dt.date, registered_on: dt.date) -> tuple[str, str] | None:
    """("error", reason) when the worker was under 16 on the registration date, ("warning", text)
    at 16 or 17, None for an adult. The 16th birthday itself is old enough."""
    age = age_on(born, registered_on)
    if age < MIN_AGE:
        return "error", (
            f"身份证号码显示出生日期为 {born.isoformat()}，注册日期 {registered_on.isoformat()} 时未满 {MIN_AGE} 周岁"
            f"（{age} 周岁），依《劳动法》第十五条不予登记"
        )
    if age < ADULT_AGE:
        return "warning", (
            f"注册日期 {registered_on.isoformat()} 时年满 {age} 周岁、未满 {ADULT_AGE} 周岁，属未成年工："
            "平台应遵守未成年工特殊保护规定（《劳动法》第五十八条、第六十四条）"
        )
    return None


# ---- one record ----------------------------------------------------------------------------------------


def validate(row: int, raw: Any, counties: set[str], today: dt.date, editor: Editor = Editor()) -> Clean | Outcome:
    """Check one record on its own: a Clean record, or a rejected Outcome with every reason found."""
    if not isinstance(raw, dict):
        return Outcome(row, None, "rejected", [{"field": None, "reason": "记录应为对象（字段名: 值）"}])
    errs: list[dict] = []
    warnings: list[str] = []

    def text(name: str, maxlen: int) -> str | None:
        v = raw.get(name)
        if v is None or (isinstance(v, str) and not v.strip()):
            errs.append({"field": name, "reason": f"{FIELD_NAMES[name]}必填"})
            return None
        if not isinstance(v, (str, int)) or isinstance(v, bool):
            errs.append({"field": name, "reason": f"{FIELD_NAMES[name]}应为字符串"})
            return None
        v = str(v).strip()
        if len(v) > maxlen:
            errs.append({"field": name, "reason": f"{FIELD_NAMES[name]}长度不能超过 {maxlen} 个字符"})
            return None
        return v

    account = text("platform_account_id", 64)
    name = text("name", 64)
    if name is not None:
        name = re.sub(r"\s+", " ", name.translate(_NAME_DOTS))
        if any(ch.isdigit() for ch in name):
            errs.append({"field": "name", "reason": "姓名不能包含数字"})
    rid = None
    id_raw = text("id_number", 32)
    if id_raw is not None:
        if _EXCEL_NUMBER.match(id_raw):
            errs.append(
                {
                    "field": "id_number",
                    "reason": f"身份证号码被 Excel 写成了科学计数法（{id_raw}），后几位已丢失："
                    "请把该列设置为“文本”格式，重新填写号码后再保存上传",
                }
            )
        else:
            try:
                rid = parse_resident_id(id_raw, today)
                warnings += rid.warnings
            except InvalidId as e:
                errs.append({"field": "id_number", "reason": str(e)})
    phone = None
    phone_raw = text("phone", 20)
    if phone_raw is not None:
        if _EXCEL_NUMBER.match(phone_raw):
            errs.append(
                {
                    "field": "phone",
                    "reason": f"手机号码被 Excel 写成了科学计数法（{phone_raw}）：请把该列设置为“文本”格式后重新填写",
                }
            )
        else:
            try:
                phone = parse_mobile(phone_raw)
            except InvalidId as e:
                errs.append({"field": "phone", "reason": str(e)})
    county = text("county_code", 12)
    if county is not None:
        if county not in counties:
            errs.append({"field": "county_code", "reason": f"{county} 不是广西现行的县级行政区划代码"})
        elif editor.region_prefix is not None and not county.startswith(editor.region_prefix):
            errs.append(
                {"field": "county_code", "reason": f"接单地 {county} 不在您的辖区（{editor.organisation_name}）内"}
            )
    reg = None
    reg_raw = text("registered_on", 32)
    if reg_raw is not None:
        try:
            reg = parse_day(reg_raw, "注册日期")
        except DomainError as e:
            errs.append({"field": "registered_on", "reason": e.reason})
        else:
            if reg > today:
                errs.append({"field": "registered_on", "reason": "注册日期不能晚于今天"})
    if rid is not None and reg is not None:
        if reg < rid.birth_date:
            errs.append({"field": "registered_on", "reason": "注册日期早于出生日期"})
        else:
            problem = age_problem(rid.birth_date, reg)
            if problem is not None:
                kind, text_ = problem
                if kind == "error":
                    errs.append({"field": "id_number", "reason": text_})
                else:
                    warnings.append(text_)
    unknown = sorted(str(k) for k in set(raw) - set(FIELDS) - IGNORED_KEYS)
    if unknown:
        warnings.append("已忽略未知字段：" + "、".join(unknown))
    if errs:
        return Outcome(row, account, "rejected", errs, warnings)
    return Clean(row, account, name, rid.number, rid.birth_date, rid.sex, phone, county, reg, warnings)


# ---- a batch ---------------------------------------------------------------------------------------------


def screen(
    records: Sequence[Any],
    counties: set[str],
    today: dt.date,
    editor: Editor = Editor(),
    *,
    rows: Sequence[int] | None = None,
    row_offset: int = 1,
    problems: dict[int, list[dict]] | None = None,
) -> tuple[list[Outcome], list[Clean]]:
    """Validate every record of a batch on its own: (rejected outcomes, clean records).

    ``rows`` numbers the records for the report (e.g. their lines in a file); by default they are
    numbered from ``row_offset``. ``problems`` maps a record's index to reasons its reader already
    found: such a record is rejected. The second record with an account already in the batch is
    rejected too."""
    if rows is not None and len(rows) != len(records):
        raise ValueError("rows must number every record")
    rejected: list[Outcome] = []
    clean: list[Clean] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(records):
        row = rows[i] if rows is not None else i + row_offset
        c = validate(row, raw, counties, today, editor)
        found = (problems or {}).get(i)
        if found:
            acc_id = c.account_id if isinstance(c, Clean) else c.platform_account_id
            reasons = list(found) + (c.reasons if isinstance(c, Outcome) else [])
            rejected.append(Outcome(row, acc_id, "rejected", reasons, c.warnings))
            continue
        if isinstance(c, Outcome):
            rejected.append(c)
            continue
        if c.account_id in seen:
            rejected.append(
                Outcome(
                    row,
                    c.account_id,
                    "rejected",
                    [{"field": "platform_account_id", "reason": f"与本批第 {seen[c.account_id]} 条记录的平台账号重复"}],
                    c.warnings,
                )
            )
            continue
        seen[c.account_id] = row
        clean.append(c)
    return rejected, clean


def _diff(before: dict, after: dict) -> tuple[dict, dict]:
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def decide(
    clean: Sequence[Clean],
    id_bidx: dict[int, bytes],
    phone_bidx: dict[int, bytes],
    persons: dict[bytes, KnownPerson],
    accounts: dict[str, KnownAccount],
    editor: Editor = Editor(),
) -> Decision:
    """De-duplicate clean records against the register and within the batch.

    One person is one blind index of the ID number: a record naming a person the submitter can see
    must carry the name on file; a person only others registered is not disclosed — the record is
    answered as for a new person, linked to that person, keeping the name sent (``reported_name``)
    for the agencies to verify. Two new records with the same ID number must agree on the name. A known account
    must belong to the same person, and a regional officer may only change accounts in their region.
    ``id_bidx`` and ``phone_bidx`` give each record's (by row) keyed blind indexes."""
    d = Decision()
    for c in clean:
        b = id_bidx[c.row]
        person = persons.get(b)
        if person is not None and person.name != c.name and person.seen:
            d.outcomes.append(
                Outcome(
                    c.row,
                    c.account_id,
                    "rejected",
                    [
                        {
                            "field": "name",
                            "reason": "姓名与该身份证号码已登记的姓名不一致；如姓名确有变更，请联系社保经办机构更正",
                        }
                    ],
                    c.warnings,
                )
            )
            continue
        first = d.new_people.get(b)
        if person is None and first is not None and first.name != c.name:
            d.outcomes.append(
                Outcome(
                    c.row,
                    c.account_id,
                    "rejected",
                    [{"field": "name", "reason": f"与本批第 {first.row} 条记录的身份证号码相同，但姓名不一致"}],
                    c.warnings,
                )
            )
            continue
        existing = accounts.get(c.account_id)
        if existing is None:
            if person is None:
                d.new_people.setdefault(b, c)
            d.creates.append(c)
            continue
        if person is None or existing.person_id != person.id:
            d.outcomes.append(
                Outcome(
                    c.row,
                    c.account_id,
                    "rejected",
                    [{"field": "id_number", "reason": "该平台账号已登记为另一名人员，如需更正请联系社保经办机构"}],
                    c.warnings,
                )
            )
            continue
        if editor.region_prefix is not None and not existing.county_code.startswith(editor.region_prefix):
            d.outcomes.append(
                Outcome(
                    c.row,
                    c.account_id,
                    "rejected",
                    [{"field": "platform_account_id", "reason": "该平台账号登记在您的辖区以外，不能由您修改"}],
                    c.warnings,
                )
            )
            continue
        phone_changed = phone_bidx[c.row] != existing.phone_bidx
        before = {
            "county_code": existing.county_code,
            "phone": existing.phone_masked,
            "registered_on": existing.registered_on,
        }
        after = {
            "county_code": c.county_code,
            "phone": mask_phone(c.phone) if phone_changed else existing.phone_masked,
            "registered_on": c.registered_on,
        }
        if before == after and not phone_changed:
            d.outcomes.append(Outcome(c.row, c.account_id, "unchanged", [], c.warnings, existing.person_id))
        else:
            if phone_changed and before["phone"] == after["phone"]:
                after["phone"] = after["phone"] + "（已变更）"
            b4, aft = _diff(before, after)
            d.changes.append({"account": c.account_id, "before": b4, "after": aft})
            d.updates.append(Update(c, existing.person_id, phone_changed))
            d.outcomes.append(Outcome(c.row, c.account_id, "updated", [], c.warnings, existing.person_id))
        d.touched.add(existing.person_id)
    return d


def result(received: int, outcomes: list[Outcome]) -> BatchResult:
    """The batch's report, in row order; received = accepted + rejected, always."""
    outcomes.sort(key=lambda o: o.row)
    accepted = sum(o.status != "rejected" for o in outcomes)
    res = BatchResult(None, received, accepted, received - accepted, outcomes)
    if not res.received == res.accepted + res.rejected == len(outcomes):
        raise AssertionError("every record of a batch has exactly one outcome")
    return res
