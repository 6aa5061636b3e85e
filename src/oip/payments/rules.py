"""Pure rules of payment (支付): bank card numbers (Luhn check, masking), the batch's states and what
a bank result may do to a payment line. No database, no web."""

from __future__ import annotations

import re

from oip.core.errors import DomainError
from oip.core.money import yuan  # noqa: F401  (pages and the service read rules.yuan)

BATCH_STATUS_NAMES = {
    "draft": "待复核",
    "approved": "已复核待报送",
    "sent": "已报送银行",
    "settled": "已回盘结清",
    "cancelled": "已作废",
}
LINE_STATUS_NAMES = {
    "pending": "待报送",
    "sent": "已报送",
    "paid": "已支付",
    "failed": "支付失败",
    "reversed": "已退汇",
}
RESULT_STATUSES = ("paid", "failed", "reversed")
NO_ACCOUNT = "无收款账户"


def normalise_card(raw: str) -> str:
    """The digits of a card number as typed (spaces and dashes dropped)."""
    return re.sub(r"[\s-]", "", raw or "")


def luhn_ok(number: str) -> bool:
    """The Luhn (mod 10) check digit of a card number holds."""
    if not number.isdigit() or not number:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def check_card(raw: str) -> str:
    """A card number (银行卡号) fit to be paid into: 12 to 19 digits whose Luhn check digit holds.
    Returns the digits; raises DomainError naming the field otherwise."""
    number = normalise_card(raw)
    if not number.isdigit():
        raise DomainError("银行卡号只能由数字组成", field="card_number")
    if not 12 <= len(number) <= 19:
        raise DomainError("银行卡号应为 12 到 19 位数字", field="card_number")
    if not luhn_ok(number):
        raise DomainError("银行卡号校验位不正确，请核对卡号", field="card_number")
    return number


def mask_card(number: str) -> str:
    """``6222 **** **** 1234``: the bank's prefix and the last four digits, never more."""
    return f"{number[:4]} **** **** {number[-4:]}"


def result_effect(line_status: str, result: str) -> str:
    """What one bank result does to a payment line in ``line_status``: ``apply``, ``duplicate`` (the
    line already carries that result) or ``reject`` (a result that contradicts the line's history).
    A line still ``pending`` can take a result: the bank received a send whose answer we lost."""
    if result == "paid":
        if line_status in ("pending", "sent"):
            return "apply"
        return "duplicate" if line_status in ("paid", "reversed") else "reject"
    if result == "failed":
        if line_status in ("pending", "sent"):
            return "apply"
        return "duplicate" if line_status == "failed" else "reject"
    if result == "reversed":
        if line_status == "paid":
            return "apply"
        return "duplicate" if line_status == "reversed" else "reject"
    return "reject"
