"""Register of platform enterprises (平台企业名录): the only write path, scoped reads, and the pure
rules of rates and phasing.

- the premium rate formula base × (1 + 0.10·k) and the industries' default base amounts live in
  one place, the pure module ``oip.platforms.rates``.
- when a platform's coverage starts (the later of its industry's and its own start date) is the pure
  ``oip.platforms.phasing``.

Every write takes the acting Principal, checks the data scope, and records an audit event in the
caller's transaction. Platforms designated by national decision are entered directly
(``create_platform``); others apply and go through the admission workflow (oip.platforms.admission).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from oip.auth import permissions as P, service as auth
from oip.auth.models import ApiCredential, Organisation
from oip.auth.scope import out_of_scope
from oip.auth.service import Principal
from oip.core import audit, clock, crypto
from oip.core.errors import Conflict, DomainError, Forbidden, NotFound
from oip.core.ids import InvalidId, mask_phone, parse_mobile, parse_uscc
from oip.core.validation import clean_text
from oip.platforms.models import Platform, PlatformName, PlatformRate, PlatformRegion
from oip.platforms.rates import BASE_MAX
from oip.platforms.scope import admitted, platform_condition
from oip.reference import service as reference
from oip.reference.models import Industry, Region

STATUS_NAMES = {"applicant": "申请中", "admitted": "已纳入试点", "rejected": "未予纳入", "withdrawn": "已撤回申请"}


CODE_PATTERN = re.compile(r"^[a-z0-9_]{2,32}$")
RESERVED_CODES = frozenset({"new"})  # would clash with the page /platforms/new
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_CTX = "platform.contact_phone"

# Province-level prefixes of GB/T 2260, for headquarters outside Guangxi.
PROVINCES = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
}

# Chinese names of this domain's audit actions (for the audit log pages).
AUDIT_ACTION_NAMES = {
    "platform.create": "登记平台企业（国家确定）",
    "platform.update": "修改平台企业信息",
    "platform.name_add": "登记平台名称变更",
    "platform.rate_add": "调整缴费基准额",
    "platform.float_set": "设定费率浮动档次",
    "platform.pilot_load": "载入试点平台企业",
    "platform.regions_set": "设定经营地区",
    "organisation.create": "建立机构",
    "credential.create": "签发接口凭证",
    "credential.revoke": "吊销接口凭证",
}
audit.register_actions(AUDIT_ACTION_NAMES)


# ---- pure rules ----------------------------------------------------------------------------------


def yuan_str(amount: Decimal | None) -> str | None:
    """A yuan amount without trailing zeros but with at least two decimals: 0.0700 → "0.07"."""
    if amount is None:
        return None
    q = amount.normalize()
    if q.as_tuple().exponent > -2:
        q = q.quantize(Decimal("0.01"))
    return f"{q:f}"


# ---- validation ----------------------------------------------------------------------------------


def _code(session: Session, code: Any) -> str:
    code = clean_text(code, "code", "平台企业编码", 32, required=True)
    if not CODE_PATTERN.match(code) or code in RESERVED_CODES:
        raise DomainError("平台企业编码应为 2–32 位小写字母、数字或下划线（不能为 new）", field="code")
    existing = session.scalar(select(Platform).where(Platform.code == code))
    if existing is not None:
        raise Conflict(f"平台企业编码 {code} 已被“{existing.display_name(clock.today())}”使用", field="code")
    return code


def _uscc(session: Session, raw: Any, platform_id: int | None = None) -> str:
    if raw is None or not str(raw).strip():
        raise DomainError("请填写统一社会信用代码", field="uscc")
    try:
        number = parse_uscc(str(raw).strip().upper())
    except InvalidId as e:
        raise DomainError(str(e), field="uscc") from None
    other = session.scalar(select(Platform).where(Platform.uscc == number))
    if other is not None and other.id != platform_id:
        raise Conflict(
            f"统一社会信用代码 {number} 已登记为平台企业“{other.display_name(clock.today())}”（{other.code}）",
            field="uscc",
        )
    return number


def _industry(session: Session, code: Any) -> Industry:
    ind = session.get(Industry, str(code or "").strip())
    if ind is None:
        known = "、".join(f"{i.code}（{i.name}）" for i in session.scalars(select(Industry).order_by(Industry.code)))
        raise DomainError(f"未知的行业 {code}，应为：{known}", field="industry_code")
    return ind


def base_amount(value: Any, field: str = "base_yuan") -> Decimal:
    """A base amount in yuan per order: a decimal number > 0 and ≤ 10 with at most 4 decimals."""
    if isinstance(value, bool) or value is None or value == "":
        raise DomainError("请填写缴费基准额（元/单）", field=field)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise DomainError(f"缴费基准额 {value} 不是数字", field=field) from None
    if not amount.is_finite() or amount <= 0 or amount > BASE_MAX:
        raise DomainError(f"缴费基准额应大于 0 且不超过 {BASE_MAX} 元/单", field=field)
    if amount.as_tuple().exponent < -4:
        raise DomainError("缴费基准额最多保留 4 位小数", field=field)
    return amount


def _day(value: Any, field: str, label: str) -> dt.date:
    if not isinstance(value, dt.date):
        raise DomainError(f"请填写{label}", field=field)
    return value


def _headquarters_region(session: Session, value: Any) -> str | None:
    code = str(value or "").strip()
    if not code:
        return None
    if not re.fullmatch(r"\d{6}", code) or code[:2] not in PROVINCES:
        raise DomainError(f"总部所在地区划代码 {code} 无效：应为 6 位行政区划代码", field="headquarters_region")
    if code.startswith("45") and session.get(Region, code) is None:
        raise DomainError(f"{code} 不是广西的行政区划代码", field="headquarters_region")
    return code


def region_label(session: Session, code: str | None) -> str:
    if not code:
        return ""
    r = session.get(Region, code)
    if r is not None:
        return r.name
    return PROVINCES.get(code[:2], "") or code


def _phone(value: Any) -> str | None:
    raw = str(value or "").strip()
    if not raw:
        return None
    try:
        return parse_mobile(raw)
    except InvalidId as e:
        raise DomainError(str(e), field="contact_phone") from None


def _email(value: Any) -> str:
    email = clean_text(value, "contact_email", "电子邮箱", 128)
    if email and not EMAIL_PATTERN.match(email):
        raise DomainError(f"电子邮箱 {email} 格式无效", field="contact_email")
    return email


def contact_phone(platform: Platform) -> str | None:
    return crypto.decrypt(platform.contact_phone_enc, PHONE_CTX) if platform.contact_phone_enc else None


def _set_phone(platform: Platform, number: str | None) -> None:
    platform.contact_phone_enc = crypto.encrypt(number, PHONE_CTX) if number else None
    platform.contact_phone_hint = mask_phone(number) if number else ""


DETAIL_FIELDS = ("uscc", "headquarters", "headquarters_region", "contact_name", "contact_phone", "contact_email")


def _snapshot(platform: Platform) -> dict:
    """What an edit may change, phone masked (for the audit event)."""
    return {
        "uscc": platform.uscc,
        "headquarters": platform.headquarters,
        "headquarters_region": platform.headquarters_region,
        "contact_name": platform.contact_name,
        "contact_phone": platform.contact_phone_hint,
        "contact_email": platform.contact_email,
    }


def set_details(session: Session, platform: Platform, changes: dict) -> bool:
    """Validate and apply register details; returns whether the phone number changed."""
    unknown = set(changes) - set(DETAIL_FIELDS)
    if unknown:
        raise DomainError(f"不能修改字段 {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    phone_changed = False
    for field, value in changes.items():
        if field == "uscc":
            platform.uscc = _uscc(session, value, platform.id)
        elif field == "headquarters":
            platform.headquarters = clean_text(value, field, "总部地址", 256)
        elif field == "headquarters_region":
            platform.headquarters_region = _headquarters_region(session, value)
        elif field == "contact_name":
            platform.contact_name = clean_text(value, field, "联系人", 64)
        elif field == "contact_email":
            platform.contact_email = _email(value)
        elif field == "contact_phone":
            number = _phone(value)
            if number != contact_phone(platform):
                _set_phone(platform, number)
                phone_changed = True
    return phone_changed


# ---- reads ---------------------------------------------------------------------------------------


def industries(session: Session) -> dict[str, Industry]:
    return {i.code: i for i in session.scalars(select(Industry).order_by(Industry.code))}


def list_platforms(session: Session, actor: Principal, status: str | None = None) -> list[Platform]:
    q = select(Platform).where(platform_condition(actor)).order_by(Platform.code)
    if status:
        q = q.where(Platform.status == status)
    return list(session.scalars(q))


def get_platform(session: Session, actor: Principal, code: str, *, for_update: bool = False) -> Platform:
    """A register entry inside the caller's data scope; anything else answers as not found."""
    q = select(Platform).where(Platform.code == code, platform_condition(actor))
    if for_update:
        q = q.with_for_update(of=Platform)
    plat = session.scalar(q)
    if plat is None:
        raise out_of_scope("平台企业")
    return plat


def acting_platform(session: Session, actor: Principal, platform_code: Any, what: str) -> Platform:
    """The platform whose data (``what``: 人员, 订单数据 …) a principal delivers: a platform's own users
    only their own (the code may be left out); an agency must name it."""
    if platform_code is not None and not isinstance(platform_code, str):
        raise DomainError("平台企业编码应为字符串", field="platform_code")
    code = (platform_code or "").strip()
    if actor.role.scope == "platform":
        plat = session.get(Platform, actor.platform_id) if actor.platform_id else None
        if plat is None:
            raise DomainError("账号未关联平台企业")
        if code and code != plat.code:
            raise Forbidden(f"只能报送本企业（{plat.code}）的{what}", field="platform_code")
        return plat
    if not code:
        raise DomainError("请指明平台企业编码（platform_code）", field="platform_code")
    plat = session.scalar(select(Platform).where(Platform.code == code))
    if plat is None:
        raise DomainError(f"未知的平台企业编码 {code[:32]}", field="platform_code")
    return plat


def own_platform(session: Session, actor: Principal) -> Platform:
    """A platform user's own register entry."""
    plat = (
        session.scalar(select(Platform).where(Platform.id == actor.platform_id, platform_condition(actor)))
        if actor.platform_id
        else None
    )
    if plat is None:
        raise out_of_scope("平台企业")
    return plat


def regions_of(session: Session, platform: Platform) -> list[Region]:
    codes = [r.region_code for r in platform.regions]
    if not codes:
        return []
    return list(session.scalars(select(Region).where(Region.code.in_(codes)).order_by(Region.code)))


def operating_region_choices(session: Session) -> list[tuple[Region, list[Region]]]:
    """Cities of Guangxi with their counties (for the regions form)."""
    rows = list(
        session.scalars(
            select(Region).where(Region.level.in_(["city", "county"]), Region.valid_to.is_(None)).order_by(Region.code)
        )
    )
    cities = [r for r in rows if r.level == "city"]
    return [(c, [r for r in rows if r.parent_code == c.code]) for c in cities]


# ---- writes --------------------------------------------------------------------------------------


def ensure_organisation(session: Session, actor, platform: Platform) -> Organisation:
    """The platform's organisation account (for its users and API credentials), created once."""
    org = session.scalar(select(Organisation).where(Organisation.platform_id == platform.id))
    if org is not None:
        return org
    return auth.new_organisation(
        session,
        actor,
        code=f"platform-{platform.code}",
        name=platform.display_name(clock.today()),
        kind="platform",
        region_code="450000",
        platform_id=platform.id,
        platform_code=platform.code,
    )


def _flush_unique(session: Session) -> None:
    """Flush; a concurrent insert of the same code or USCC becomes a clear 409."""
    try:
        session.flush()
    except IntegrityError as e:
        raise Conflict("平台企业编码或统一社会信用代码已被登记（并发提交），请刷新后重试", field="code") from e


def new_platform(
    session: Session,
    *,
    code: Any,
    uscc: Any,
    industry_code: Any,
    name: Any,
    base_yuan: Any,
    valid_from: dt.date,
    status: str,
    covered_from: dt.date | None = None,
) -> Platform:
    """Validate and add a register entry with its first name and base amount (no audit: callers
    record the event that explains why the entry exists)."""
    code = _code(session, code)
    number = _uscc(session, uscc)
    industry = _industry(session, industry_code)
    first_name = clean_text(name, "name", "平台企业名称", 128, required=True)
    base = base_amount(base_yuan)
    plat = Platform(
        code=code,
        uscc=number,
        industry_code=industry.code,
        status=status,
        covered_from=covered_from,
        headquarters="",
        contact_name="",
        contact_phone_hint="",
        contact_email="",
    )
    plat.names = [PlatformName(name=first_name, valid_from=valid_from)]
    plat.rates = [PlatformRate(base_yuan=base, valid_from=valid_from)]
    session.add(plat)
    _flush_unique(session)
    return plat


def create_platform(
    session: Session,
    actor: Principal,
    *,
    code: Any,
    uscc: Any,
    industry_code: Any,
    name: Any,
    base_yuan: Any,
    covered_from: Any,
    basis: Any,
) -> Platform:
    """Enter a platform designated by national decision: admitted from ``covered_from``.
    ``basis`` is the decision's document number, kept in the audit event."""
    basis = clean_text(basis, "basis", "依据文号", 200, required=True)
    covered_from = _day(covered_from, "covered_from", "纳入试点日期")
    plat = new_platform(
        session,
        code=code,
        uscc=uscc,
        industry_code=industry_code,
        name=name,
        base_yuan=base_yuan,
        valid_from=covered_from,
        status="admitted",
        covered_from=covered_from,
    )
    ensure_organisation(session, actor, plat)
    audit.record(
        session,
        actor,
        "platform.create",
        entity_type="platform",
        entity_id=plat.code,
        after={
            "code": plat.code,
            "uscc": plat.uscc,
            "industry_code": plat.industry_code,
            "name": plat.names[0].name,
            "base_yuan": plat.rates[0].base_yuan,
            "covered_from": covered_from,
            "status": plat.status,
            "basis": basis,
        },
    )
    return plat


def update_platform(session: Session, actor: Principal, code: str, changes: dict) -> Platform:
    """Edit register details (only the fields given). Audited with before/after, phone masked."""
    plat = get_platform(session, actor, code, for_update=True)
    before = _snapshot(plat)
    phone_changed = set_details(session, plat, changes)
    after = _snapshot(plat)
    if phone_changed and before["contact_phone"] == after["contact_phone"]:
        after["contact_phone"] += "（已变更）"
    b, a = audit.diff(before, after)
    if a:
        session.flush()
        audit.record(session, actor, "platform.update", entity_type="platform", entity_id=plat.code, before=b, after=a)
    return plat


def add_name(session: Session, actor: Principal, code: str, *, name: Any, valid_from: Any, replaces: bool) -> Platform:
    """A renaming. ``replaces``: the names in force end the day before ``valid_from``; otherwise the
    new name is an additional name (饿了么 also 淘宝闪购)."""
    plat = get_platform(session, actor, code, for_update=True)
    name = clean_text(name, "name", "平台企业名称", 128, required=True)
    valid_from = _day(valid_from, "valid_from", "生效日期")
    open_names = [n for n in plat.names if n.valid_to is None or n.valid_to >= valid_from]
    if any(n.name == name for n in open_names):
        raise Conflict(f"“{name}”已是该平台企业的现用名称", field="name")
    closed = []
    if replaces:
        for n in open_names:
            if n.valid_from >= valid_from:
                raise DomainError(f"生效日期应晚于现用名称“{n.name}”的生效日期 {n.valid_from}", field="valid_from")
            n.valid_to = valid_from - dt.timedelta(days=1)
            closed.append({"name": n.name, "valid_to": n.valid_to})
    plat.names.append(PlatformName(name=name, valid_from=valid_from))
    session.flush()
    audit.record(
        session,
        actor,
        "platform.name_add",
        entity_type="platform",
        entity_id=plat.code,
        before={"names": [n["name"] for n in closed]} if closed else None,
        after={"name": name, "valid_from": valid_from, "replaces": replaces, "closed": closed},
    )
    return plat


def add_rate(session: Session, actor: Principal, code: str, *, base_yuan: Any, valid_from: Any) -> Platform:
    """A new base amount from ``valid_from``; the open rate before it ends the day before."""
    plat = get_platform(session, actor, code, for_update=True)
    base = base_amount(base_yuan)
    valid_from = _day(valid_from, "valid_from", "生效日期")
    last = plat.rates[-1] if plat.rates else None
    if last is not None and valid_from <= last.valid_from:
        raise DomainError(f"生效日期应晚于现行基准额的生效日期 {last.valid_from}", field="valid_from")
    closed = None
    for r in plat.rates:
        if r.valid_to is None or r.valid_to >= valid_from:
            r.valid_to = valid_from - dt.timedelta(days=1)
            closed = {"base_yuan": r.base_yuan, "valid_from": r.valid_from, "valid_to": r.valid_to}
    plat.rates.append(PlatformRate(base_yuan=base, valid_from=valid_from))
    session.flush()
    audit.record(
        session,
        actor,
        "platform.rate_add",
        entity_type="platform",
        entity_id=plat.code,
        before=closed,
        after={"base_yuan": base, "valid_from": valid_from},
    )
    return plat


def set_regions(session: Session, actor: Principal, code: str, region_codes: list[Any]) -> Platform:
    """Where the platform operates: city or county codes of Guangxi (replaces the list)."""
    plat = get_platform(session, actor, code, for_update=True)
    wanted = sorted({str(c).strip() for c in region_codes if str(c).strip()})
    known = (
        set(
            session.scalars(
                select(Region.code).where(
                    Region.code.in_(wanted), Region.level.in_(["city", "county"]), Region.valid_to.is_(None)
                )
            )
        )
        if wanted
        else set()
    )
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise DomainError(f"不是广西现行的市、县级行政区划代码：{'、'.join(unknown)}", field="region_codes")
    before = sorted(r.region_code for r in plat.regions)
    if before == wanted:
        return plat
    keep = set(wanted)
    plat.regions[:] = [r for r in plat.regions if r.region_code in keep]
    have = {r.region_code for r in plat.regions}
    plat.regions.extend(PlatformRegion(region_code=c) for c in wanted if c not in have)
    session.flush()
    audit.record(
        session,
        actor,
        "platform.regions_set",
        entity_type="platform",
        entity_id=plat.code,
        before={"region_codes": before},
        after={"region_codes": wanted},
    )
    return plat


# ---- API credentials -----------------------------------------------------------------------------


def may_manage_credentials(actor: Principal, platform: Platform) -> bool:
    """Any platform's credentials (credentials.manage), or a platform user's own (credentials.self)."""
    return actor.can(P.CREDENTIALS_MANAGE) or (actor.can(P.CREDENTIALS_SELF) and actor.platform_id == platform.id)


def credential_platform(session: Session, actor: Principal, code: str) -> Platform:
    """The platform whose credentials ``actor`` may manage; others answer as not found."""
    plat = get_platform(session, actor, code)
    if not may_manage_credentials(actor, plat):
        raise out_of_scope("平台企业")
    return plat


def list_credentials(session: Session, actor: Principal, code: str) -> list[ApiCredential]:
    plat = credential_platform(session, actor, code)
    return auth.credentials_of_platform(session, plat.id)


def issue_credential(session: Session, actor: Principal, code: str, label: Any = "") -> tuple[str, str]:
    """A new client id + secret (the secret is returned once and stored only as a hash)."""
    return issue_credential_for(session, actor, credential_platform(session, actor, code), label)


def issue_credential_for(session: Session, actor, plat: Platform, label: Any = "") -> tuple[str, str]:
    """Issue credentials to ``plat`` (already checked to be in the actor's scope, or the CLI)."""
    if not plat.is_admitted:
        raise DomainError(
            f"平台企业状态为“{STATUS_NAMES.get(plat.status, plat.status)}”，纳入试点后方可签发接口凭证", field="code"
        )
    label = clean_text(label, "label", "用途说明", 128)
    ensure_organisation(session, actor, plat)
    return auth.create_credential(session, actor, plat.id, label)


def revoke_credential(session: Session, actor: Principal, code: str, client_id: str) -> ApiCredential:
    """Revoke one of the platform's credentials; its tokens stop working at once."""
    cred = next((c for c in list_credentials(session, actor, code) if c.client_id == client_id), None)
    if cred is None:
        raise NotFound(f"接口凭证 {client_id} 不存在或不属于该平台企业", field="client_id")
    if cred.revoked_at is not None:
        raise Conflict(f"接口凭证 {client_id} 已于 {clock.fmt(cred.revoked_at)} 吊销", field="client_id")
    auth.revoke_credential(session, actor, cred)
    session.flush()
    return cred


def load_pilot_platforms(session: Session, actor=audit.SYSTEM) -> int:
    """Enter the pilot platforms shipped with the package (reference data ``pilot.json``) into the
    register. Platforms already there are left as officers edited them: only missing ones are
    added. Returns how many were added."""
    known = set(session.scalars(select(Platform.code)))
    added = []
    for p in json.loads(reference.data_file("pilot.json"))["platforms"]:
        if p["code"] in known:
            continue
        plat = Platform(
            code=p["code"],
            industry_code=p["industry"],
            status="admitted",
            covered_from=dt.date.fromisoformat(p["covered_from"]),
        )
        plat.names = [
            PlatformName(name=n["name"], valid_from=dt.date.fromisoformat(n["valid_from"])) for n in p["names"]
        ]
        plat.rates = [
            PlatformRate(base_yuan=Decimal(r["base_yuan"]), valid_from=dt.date.fromisoformat(r["valid_from"]))
            for r in p["rates"]
        ]
        session.add(plat)
        added.append(p["code"])
    if added:
        session.flush()
        audit.record(
            session,
            actor,
            "platform.pilot_load",
            entity_type="platform",
            entity_id=",".join(added),
            after={"added": added},
        )
    return len(added)


def admitted_platforms(session: Session) -> list[Platform]:
    """The platforms in the pilot (纳入试点的平台企业), by code."""
    return list(session.scalars(select(Platform).where(admitted()).order_by(Platform.code)))


# ---- names of audited objects (the audit page) ----------------------------------------------------


def _platform_names(session: Session, ids: list[str]) -> dict[str, str]:
    """Platforms are audited by code, or code/year for a year's float k."""
    codes = {i.split("/", 1)[0] for i in ids}
    today = clock.today()
    names = {p.code: p.display_name(today) for p in session.scalars(select(Platform).where(Platform.code.in_(codes)))}
    out = {}
    for i in ids:
        code, _, year = i.partition("/")
        if code in names:
            out[i] = names[code] + (f" · {year} 年" if year else "")
    return out


def _admission_names(session: Session, ids: list[str]) -> dict[str, str]:
    from oip.platforms.models import Admission

    numeric = [int(i) for i in ids if i.isdigit()]
    if not numeric:
        return {}
    today = clock.today()
    rows = session.execute(
        select(Admission.id, Platform)
        .join(Platform, Platform.id == Admission.platform_id)
        .where(Admission.id.in_(numeric))
    ).all()
    return {str(i): f"{p.display_name(today)}（第 {i} 号申请）" for i, p in rows}


audit.register_entity_names("platform", "平台企业", _platform_names)
audit.register_entity_names("admission", "试点纳入申请", _admission_names)
