"""Rules of claims (费用申报) and of the fast lane (小伤快赔) — pure, no database, no web.

- ``yuan_to_fen``: an amount typed in yuan with at most two decimals → integer fen, exactly
  (Decimal, never float): "3000.00" → 300000, "0.1" → 10, "1,234.5" refused (no separators).
- ``check_rows``: the bill rows of one claim, each checked on its own (receipt number, provider,
  issued date, amount, kind); a receipt number twice in the claim, or already on an earlier claim
  (``known``: receipt number → the earlier claim's and case's numbers), is refused with the reason
  naming it. Every row is either accepted or rejected with why: ``submitted == accepted + rejected``.
- ``fast_lane_reasons``: why a claim does not qualify for the fast lane (empty: it qualifies) —
  an injury, outpatient only (no inpatient bill, no hospital day), no appraisal applied for, and the
  case's claimed total within the limit (含本数: 3,000.00 yuan qualifies, 3,000.01 does not).
- ``clock``: where a fast-lane claim stands against its two due dates (overdue, due today, working
  days left).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from oip.core.errors import DomainError

BILL_KINDS = {"medical": "医疗费", "rehab": "康复费", "devices": "辅助器具配置费"}
STATUS_NAMES = {"received": "已受理，待审核", "checked": "已审核，待审批", "approved": "已核准", "rejected": "不予支付"}
OPEN_STATUSES = ("received", "checked")
MAX_AMOUNT_FEN = 1_000_000_000  # 10 million yuan: a receipt larger than this is a typing error
MAX_HOSPITAL_DAYS = 3650
MAX_ROWS = 200
RECEIPT_MAX, PROVIDER_MAX, REASON_MAX = 64, 128, 500

# The case states in which a claim may come in: after a confirmation (the normal path), or while the
# confirmation is pending (only a claim that qualifies for the fast lane, whose promise is to confirm
# within 2 working days).
CONFIRMED_STATES = ("confirmed", "appraisal", "appraised", "closed")
PENDING_STATES = ("applied", "correction", "accepted", "investigating", "suspended")
# The fast lane's five documents: the outpatient checklist's required items (oip.cases.intake_rules).
FAST_LANE_CHECKLIST = "outpatient"


def yuan_to_fen(value: Any, field: str = "amount", label: str = "金额") -> int:
    """Yuan with at most two decimals, as typed (or a Decimal/int), to integer fen, exactly."""
    if isinstance(value, bool) or isinstance(value, float):
        raise DomainError(f"{label}应以文本或整数填写（元，最多两位小数），不接受浮点数", field=field)
    text = unicodedata.normalize("NFKC", str(value if value is not None else "")).strip()
    if text.startswith("¥"):
        text = text[1:].strip()
    if not text:
        raise DomainError(f"请填写{label}（元）", field=field)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise DomainError(f"{label}“{text}”不是有效的金额（元，最多两位小数，如 1234.50）", field=field) from None
    if not amount.is_finite():
        raise DomainError(f"{label}“{text}”不是有效的金额", field=field)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and amount != amount.quantize(Decimal("0.01")):
        raise DomainError(f"{label}“{text}”超过两位小数（精确到分）", field=field)
    if amount <= 0:
        raise DomainError(f"{label}应大于零", field=field)
    fen = int((amount * 100).to_integral_value())
    if fen > MAX_AMOUNT_FEN:
        raise DomainError(f"{label}超过 {MAX_AMOUNT_FEN // 100:,} 元，请核对", field=field)
    return fen


def fen_text(fen: int) -> str:
    """12345 → '123.45' (yuan with two decimals, no separators)."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def normal_receipt(value: Any) -> str:
    """A receipt number as compared: full-width folded to half-width, spaces removed, upper case."""
    return "".join(unicodedata.normalize("NFKC", str(value or "")).split()).upper()


@dataclass(frozen=True)
class BillRow:
    """One row as submitted (a form's row or an API item); ``line`` is its 1-based position."""

    line: int
    receipt_no: Any = ""
    provider: Any = ""
    issued_on: Any = None
    amount: Any = None  # yuan, as typed ("123.45"); or amount_fen below
    kind: Any = "medical"
    in_catalogue: Any = True
    inpatient: Any = False
    amount_fen: int | None = None

    def blank(self) -> bool:
        """A form row left empty (not counted)."""
        return not any(
            str(v or "").strip() for v in (self.receipt_no, self.provider, self.issued_on, self.amount)
        ) and (self.amount_fen is None)


@dataclass(frozen=True)
class CleanBill:
    line: int
    receipt_no: str
    provider: str
    issued_on: dt.date
    amount_fen: int
    kind: str
    in_catalogue: bool
    inpatient: bool


@dataclass(frozen=True)
class Rejected:
    line: int
    receipt_no: str
    reason: str
    field: str


@dataclass(frozen=True)
class Checked:
    accepted: tuple[CleanBill, ...]
    rejected: tuple[Rejected, ...]
    submitted: int

    @property
    def claimed_fen(self) -> int:
        return sum(b.amount_fen for b in self.accepted)

    def counts(self) -> dict[str, int]:
        return {"submitted": self.submitted, "accepted": len(self.accepted), "rejected": len(self.rejected)}


def _bool(value: Any, field: str, label: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in ("1", "true", "yes", "on", "y", "是"):
        return True
    if text in ("", "0", "false", "no", "off", "n", "否"):
        return False
    raise DomainError(f"{label}应为“是”或“否”", field=field)


def _date(value: Any, field: str, label: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip()
    if not text:
        raise DomainError(f"请填写{label}", field=field)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise DomainError(f"{label}“{text}”不是有效日期（YYYY-MM-DD）", field=field) from None


def _text(value: Any, field: str, label: str, limit: int) -> str:
    text = " ".join(str(value or "").split())
    if not text:
        raise DomainError(f"请填写{label}", field=field)
    if len(text) > limit:
        raise DomainError(f"{label}不能超过 {limit} 个字", field=field)
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise DomainError(f"{label}含有控制字符", field=field)
    return text


def check_row(row: BillRow, *, injured_on: dt.date, received_on: dt.date) -> CleanBill:
    """One row on its own (no duplicate check): DomainError naming the field when it is wrong."""
    receipt = normal_receipt(row.receipt_no)
    if not receipt:
        raise DomainError("请填写票据号", field="receipt_no")
    if len(receipt) > RECEIPT_MAX:
        raise DomainError(f"票据号不能超过 {RECEIPT_MAX} 个字符", field="receipt_no")
    if any(unicodedata.category(ch)[0] in "CZ" for ch in receipt):
        raise DomainError("票据号含有不可见字符", field="receipt_no")
    provider = _text(row.provider, "provider", "开票医疗机构", PROVIDER_MAX)
    issued = _date(row.issued_on, "issued_on", "开票日期")
    if issued < injured_on:
        raise DomainError(f"开票日期 {issued} 早于事故发生日期 {injured_on}", field="issued_on")
    if issued > received_on:
        raise DomainError(f"开票日期 {issued} 晚于申报日期 {received_on}", field="issued_on")
    if row.amount_fen is not None:
        fen = row.amount_fen
        if isinstance(fen, bool) or not isinstance(fen, int) or not 0 < fen <= MAX_AMOUNT_FEN:
            raise DomainError("金额（分）应为大于零的整数", field="amount")
    else:
        fen = yuan_to_fen(row.amount, "amount", "金额")
    kind = str(row.kind or "medical").strip()
    if kind not in BILL_KINDS:
        choices = "、".join(f"{k}（{n}）" for k, n in BILL_KINDS.items())
        raise DomainError(f"费用类别“{kind}”无效，应为：{choices}", field="kind")
    return CleanBill(
        line=row.line,
        receipt_no=receipt,
        provider=provider,
        issued_on=issued,
        amount_fen=fen,
        kind=kind,
        in_catalogue=_bool(row.in_catalogue, "in_catalogue", "是否属于目录内"),
        inpatient=_bool(row.inpatient, "inpatient", "是否住院费用"),
    )


def check_rows(
    rows: Sequence[BillRow],
    *,
    injured_on: dt.date,
    received_on: dt.date,
    known: Mapping[str, tuple[str, str]],
) -> Checked:
    """Every non-blank row accepted or rejected with its reason. ``known`` maps receipt numbers
    already on a claim (normalised) to (claim number, case number)."""
    rows = [r for r in rows if not r.blank()]
    if not rows:
        raise DomainError("请至少填写一行票据", field="bills")
    if len(rows) > MAX_ROWS:
        raise DomainError(f"一次申报最多 {MAX_ROWS} 张票据", field="bills")
    accepted: list[CleanBill] = []
    rejected: list[Rejected] = []
    seen: dict[str, int] = {}
    for row in rows:
        try:
            bill = check_row(row, injured_on=injured_on, received_on=received_on)
        except DomainError as e:
            rejected.append(
                Rejected(row.line, normal_receipt(row.receipt_no), f"第 {row.line} 行：{e.reason}", e.field or "bills")
            )
            continue
        if bill.receipt_no in seen:
            rejected.append(
                Rejected(
                    row.line,
                    bill.receipt_no,
                    f"第 {row.line} 行：票据号 {bill.receipt_no} 与本次申报第 {seen[bill.receipt_no]} 行重复",
                    "receipt_no",
                )
            )
            continue
        seen[bill.receipt_no] = row.line
        if bill.receipt_no in known:
            rejected.append(
                Rejected(
                    row.line,
                    bill.receipt_no,
                    f"第 {row.line} 行：{duplicate_reason(bill.receipt_no, *known[bill.receipt_no])}",
                    "receipt_no",
                )
            )
            continue
        accepted.append(bill)
    return Checked(tuple(accepted), tuple(rejected), len(rows))


def duplicate_reason(receipt_no: str, claim_number: str, case_number: str) -> str:
    return f"票据号 {receipt_no} 已在费用申报 {claim_number}（案件 {case_number}）中申报过，同一票据不能重复报销"


def check_hospital_days(value: Any) -> int:
    text = str(value if value is not None else "").strip() or "0"
    if isinstance(value, bool) or not text.isdigit():
        raise DomainError("住院天数应为不小于零的整数", field="hospital_days")
    days = int(text)
    if days > MAX_HOSPITAL_DAYS:
        raise DomainError(f"住院天数不能超过 {MAX_HOSPITAL_DAYS} 天", field="hospital_days")
    return days


def check_exclusion(in_catalogue: bool, reason: Any) -> str | None:
    """Taking a bill out of the catalogue needs a reason (shown to the worker); putting it back clears it."""
    if in_catalogue:
        return None
    return _text(reason, "excluded_reason", "剔除理由", REASON_MAX)


# ---- the fast lane --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FastLaneFacts:
    """What the fast lane looks at, for one case (all its claims that are not rejected)."""

    case_kind: str
    inpatient_bills: int
    hospital_days: int
    appraisal_applied: bool
    claimed_fen: int
    limit_fen: int


def fast_lane_reasons(f: FastLaneFacts) -> list[str]:
    """Why the case's claims do not (or no longer) qualify for the fast lane; empty: they qualify."""
    out: list[str] = []
    if f.case_kind != "injury":
        out.append("小伤快赔仅适用于受伤案件")
    if f.inpatient_bills or f.hospital_days:
        parts = []
        if f.hospital_days:
            parts.append(f"住院 {f.hospital_days} 天")
        if f.inpatient_bills:
            parts.append(f"{f.inpatient_bills} 张住院费用票据")
        out.append("有住院治疗（" + "，".join(parts) + "），不属于仅门诊治疗")
    if f.appraisal_applied:
        out.append("已申请劳动能力鉴定")
    if f.claimed_fen > f.limit_fen:
        out.append(f"申报医疗费用合计 {fen_text(f.claimed_fen)} 元，超过小伤快赔上限 {fen_text(f.limit_fen)} 元")
    return out


@dataclass(frozen=True)
class Clock:
    """A fast-lane due date on ``today``: overdue, due today, or working days left."""

    due: dt.date | None
    overdue: bool = False
    today: bool = False
    left: int | None = None
    done: bool = False
    problem: str | None = None

    @property
    def label(self) -> str:
        if self.problem:
            return self.problem
        if self.done:
            return "已办结"
        if self.due is None:
            return "—"
        if self.overdue:
            return f"已超期 {-(self.left or 0)} 个工作日" if self.left is not None and self.left < 0 else "已超期"
        if self.today:
            return "今日到期"
        return f"剩余 {self.left} 个工作日"

    @property
    def css(self) -> str:
        return "overdue" if self.overdue and not self.done else ("due_soon" if self.today and not self.done else "")


def clock(
    due: dt.date | None,
    today: dt.date,
    working_days_left: int | None,
    *,
    done: bool = False,
    problem: str | None = None,
) -> Clock:
    """``working_days_left``: working days after ``today`` up to ``due`` (negative once past)."""
    if due is None:
        return Clock(None, done=done, problem=problem)
    return Clock(due, overdue=today > due, today=today == due, left=working_days_left, done=done)


@dataclass
class Totals:
    claimed_fen: int = 0
    accepted_fen: int = 0
    excluded_fen: int = 0
    excluded: list[str] = field(default_factory=list)


def totals(bills: Sequence[tuple[str, int, bool]]) -> Totals:
    """(receipt, amount, in_catalogue) rows → claimed, accepted (in catalogue) and excluded fen."""
    t = Totals()
    for receipt, fen, inside in bills:
        t.claimed_fen += fen
        if inside:
            t.accepted_fen += fen
        else:
            t.excluded_fen += fen
            t.excluded.append(receipt)
    return t
