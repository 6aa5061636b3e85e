"""The tax bureau adapter (税务部门数据交换), protocol ``tax-v1`` (docs/interfaces/tax-v1.md).

Out: the amounts due (保障费核定结果) as one signed JSON message per send. In: the tax bureau's
returns (申报缴费回执: declared and paid amounts with dates), JSON or CSV, signed the same way.
Signatures are hex HMAC-SHA256 over the exact bytes, with the key shared with the tax bureau
(``OIP_TAX_SIGNING_KEY``, never in the database).

Two implementations of one interface, ``TaxGateway``:

- ``FileTaxGateway``: writes ``outbox/DECL-<YYYYMM>-<seq>.json`` plus a detached ``.sig`` and reads
  ``inbox/*.json|*.csv`` (with ``.sig``), moving what was read to ``inbox/done/`` or, with a
  ``.reason.txt``, to ``inbox/rejected/``;
- ``HttpTaxGateway``: ``POST <OIP_TAX_URL>/declarations`` and ``GET <OIP_TAX_URL>/returns?since=…``
  with the signature in the header ``X-OIP-Signature``; timeouts, retries on 5xx and network errors.

A gateway moves bytes; building, signing, verifying and parsing the messages is done here once for
both (and for returns uploaded by an officer), and logging and the outbox in oip.exchange.service.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from oip.core import clock, signing
from oip.core.config import get_keys, get_settings
from oip.core.errors import DomainError

VERSION = "tax-v1"
SENDER = "gx-si"  # 广西壮族自治区社会保险事业管理中心
SIGNATURE_HEADER = "X-OIP-Signature"
MESSAGE_ID_HEADER = "X-OIP-Message-Id"
RETURN_FIELDS = (
    "uscc",
    "platform_code",
    "month",
    "declared_fen",
    "paid_fen",
    "declared_on",
    "paid_on",
    "tax_reference",
)
_SAFE_NAME = signing.SAFE_FILE_NAME


# ---- signing -------------------------------------------------------------------------------------


def sign(body: bytes, key: bytes | None = None) -> str:
    """Hex HMAC-SHA256 of the exact bytes (oip.core.signing), with this exchange's key."""
    return signing.sign(body, key if key is not None else get_keys().tax_signing_key)


def verify(body: bytes, signature: str | None, key: bytes | None = None) -> bool:
    return signing.verify(body, signature, key if key is not None else get_keys().tax_signing_key)


sha256 = signing.sha256


# ---- messages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeclarationRecord:
    """One platform's amount due for one order month (all money in integer fen)."""

    platform_code: str
    uscc: str
    platform_name: str
    month: str
    orders: int
    base_yuan: str
    k: int
    rate_yuan: str
    amount_fen: int
    adjustment_orders: int
    adjustment_fen: int
    total_fen: int
    due_date: str
    adjustments: tuple[dict, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform_code": self.platform_code,
            "uscc": self.uscc,
            "platform_name": self.platform_name,
            "month": self.month,
            "orders": self.orders,
            "base_yuan": self.base_yuan,
            "k": self.k,
            "rate_yuan": self.rate_yuan,
            "amount_fen": self.amount_fen,
            "adjustment_orders": self.adjustment_orders,
            "adjustment_fen": self.adjustment_fen,
            "total_fen": self.total_fen,
            "due_date": self.due_date,
            "adjustments": list(self.adjustments),
        }


@dataclass(frozen=True)
class SignedMessage:
    """The exact bytes of a message as stored in the outbox, with their signature."""

    message_id: str
    filename: str
    body: bytes
    signature: str


def declarations_message(
    message_id: str, month: str, records: list[DeclarationRecord], created_at: dt.datetime
) -> SignedMessage:
    """The ``declarations`` message (UTF-8 JSON) for one order month, signed."""
    doc = {
        "header": {
            "version": VERSION,
            "kind": "declarations",
            "message_id": message_id,
            "sender": SENDER,
            "created_at": created_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
            "month": month,
            "count": len(records),
            "total_fen": sum(r.total_fen for r in records),
            "currency": "CNY",
            "unit": "fen",
        },
        "records": [r.as_dict() for r in records],
    }
    body = (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    return SignedMessage(message_id, f"{message_id}.json", body, sign(body))


@dataclass
class ReturnRecord:
    """One record of a returns message, parsed and type-checked (not yet matched to a platform)."""

    line: int
    uscc: str | None
    platform_code: str | None
    month: str
    declared_fen: int
    paid_fen: int
    declared_on: dt.date | None
    paid_on: dt.date | None
    tax_reference: str


@dataclass
class ParsedReturns:
    message_id: str | None
    records: list[ReturnRecord]
    errors: list[str]
    as_of: str | None = None  # HTTP: the cursor for the next fetch


class ReturnsFormatError(Exception):
    """The message as a whole is unreadable (not JSON/CSV, wrong version, missing header)."""


def _int_field(raw: Any, name: str, label: str, where: str, errors: list[str], *, minimum: int | None = 0) -> int:
    v = raw
    if isinstance(v, str) and re.fullmatch(r"-?\d+", v.strip()):
        v = int(v.strip())
    if isinstance(v, bool) or not isinstance(v, int):
        errors.append(f"{where}：{name}（{label}，单位分）应为整数，不是 {raw!r}")
        return 0
    if minimum is not None and v < minimum:
        errors.append(f"{where}：{name}（{label}，单位分）不能为负数")
    return v


def _date_field(raw: Any, name: str, label: str, where: str, errors: list[str]) -> dt.date | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        errors.append(f"{where}：{name}（{label}）应为日期 YYYY-MM-DD，不是 {raw!r}")
        return None


def _record(i: int, raw: dict[str, Any], errors: list[str]) -> ReturnRecord | None:
    where = f"第 {i} 条记录"
    unknown = sorted(set(raw) - set(RETURN_FIELDS))
    if unknown:
        errors.append(f"{where}：不认识的字段 {', '.join(unknown)}")
    uscc = str(raw.get("uscc") or "").strip().upper() or None
    code = str(raw.get("platform_code") or "").strip() or None
    if not uscc and not code:
        errors.append(f"{where}：uscc（统一社会信用代码）和 platform_code（平台企业编码）至少填一项")
    month = str(raw.get("month") or "").strip()
    if re.fullmatch(r"\d{6}", month):
        month = f"{month[:4]}-{month[4:]}"
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        errors.append(f"{where}：month（费款所属订单月份）应为 YYYY-MM，不是 {raw.get('month')!r}")
    n = len(errors)
    declared = _int_field(raw.get("declared_fen", 0), "declared_fen", "申报金额", where, errors, minimum=None)
    paid = _int_field(raw.get("paid_fen", 0), "paid_fen", "实缴金额", where, errors)
    declared_on = _date_field(raw.get("declared_on"), "declared_on", "申报日期", where, errors)
    paid_on = _date_field(raw.get("paid_on"), "paid_on", "缴费日期", where, errors)
    if len(errors) == n and paid > 0 and paid_on is None:
        errors.append(f"{where}：有实缴金额时 paid_on（缴费日期）必填")
    ref = str(raw.get("tax_reference") or "").strip()
    if not ref or len(ref) > 64:
        errors.append(f"{where}：tax_reference（税务凭证号）必填，不超过 64 个字符")
    return ReturnRecord(i, uscc, code, month, declared, paid, declared_on, paid_on, ref)


def parse_returns(body: bytes, fmt: str) -> ParsedReturns:
    """Parse a returns message. Raises ReturnsFormatError when the message is unreadable; record-level
    problems are listed in ``errors`` (Chinese, naming the record and the field)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReturnsFormatError("文件不是 UTF-8 编码") from None
    errors: list[str] = []
    if fmt == "json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise ReturnsFormatError(f"不是合法的 JSON（第 {e.lineno} 行）") from None
        if (
            not isinstance(doc, dict)
            or not isinstance(doc.get("header"), dict)
            or not isinstance(doc.get("records"), list)
        ):
            raise ReturnsFormatError("JSON 应包含 header 对象和 records 数组")
        head = doc["header"]
        if head.get("version") != VERSION or head.get("kind") != "returns":
            raise ReturnsFormatError(f"header.version 应为 {VERSION}，header.kind 应为 returns")
        if "count" in head and head["count"] != len(doc["records"]):
            raise ReturnsFormatError(
                f"header.count 为 {head['count']}，但 records 有 {len(doc['records'])} 条（文件可能不完整）"
            )
        records = []
        for i, raw in enumerate(doc["records"], 1):
            if not isinstance(raw, dict):
                errors.append(f"第 {i} 条记录：应为对象")
                continue
            records.append(_record(i, raw, errors))
        return ParsedReturns(head.get("message_id"), records, errors, head.get("as_of"))
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames is None:
            raise ReturnsFormatError("CSV 文件为空")
        names = [n.strip() for n in reader.fieldnames]
        missing = [f for f in ("month", "declared_fen", "paid_fen", "tax_reference") if f not in names]
        if missing:
            raise ReturnsFormatError(f"CSV 表头缺少列：{', '.join(missing)}")
        records = []
        for i, row in enumerate(reader, 1):
            raw = {k.strip(): v for k, v in row.items() if k is not None}
            raw = {k: v for k, v in raw.items() if k in RETURN_FIELDS or (v or "").strip()}
            records.append(_record(i, raw, errors))
        return ParsedReturns(None, records, errors)
    raise ReturnsFormatError("只接受 .json 或 .csv 文件")


def returns_message(
    records: list[dict[str, Any]], message_id: str | None = None, sender: str = "gx-tax", as_of: str | None = None
) -> tuple[bytes, str]:
    """A returns message as the tax bureau sends it (used by the demo, tests and the docs' example)."""
    message_id = message_id or f"RET-{clock.now():%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
    head = {
        "version": VERSION,
        "kind": "returns",
        "message_id": message_id,
        "sender": sender,
        "created_at": clock.now().isoformat(timespec="seconds"),
        "count": len(records),
    }
    if as_of:
        head["as_of"] = as_of
    body = (json.dumps({"header": head, "records": records}, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    return body, sign(body)


# ---- the interface -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendReceipt:
    message_id: str
    location: str  # the file written, or the URL posted to
    reference: str | None  # the tax bureau's receipt number (HTTP)
    at: dt.datetime


class DeliveryFailed(Exception):
    def __init__(self, reason: str, *, retryable: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass
class InboundMessage:
    """A returns message as received: the exact bytes and the signature that came with them."""

    name: str
    body: bytes
    signature: str | None
    fmt: str
    cursor: str | None = None
    handle: Any = field(default=None, repr=False)


class TaxGateway(Protocol):
    name: str

    def send(self, message: SignedMessage) -> SendReceipt:
        """Deliver one declarations message; raise DeliveryFailed unless the receiver confirmed it."""

    def fetch_returns(self, since: str | None = None) -> list[InboundMessage]:
        """Returns messages waiting for us (``since``: the cursor of the last fetch, HTTP only)."""

    def settle(self, message: InboundMessage, ok: bool, reason: str | None = None) -> None:
        """Called after the import was committed (or refused): file away what was read."""


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class FileTaxGateway:
    """Files in a directory shared with the tax bureau's transfer system (SFTP or similar)."""

    name = "file"

    def __init__(self, root: Path):
        self.root = Path(root)
        self.outbox = self.root / "outbox"
        self.inbox = self.root / "inbox"
        self.done = self.inbox / "done"
        self.rejected = self.inbox / "rejected"

    def send(self, message: SignedMessage) -> SendReceipt:
        if not _SAFE_NAME.match(message.filename):
            raise DeliveryFailed(f"文件名不合法：{message.filename}", retryable=False)
        try:
            self.outbox.mkdir(parents=True, exist_ok=True)
            target = self.outbox / message.filename
            if target.exists() and target.read_bytes() != message.body:
                raise DeliveryFailed(f"发件箱中已有同名文件 {message.filename} 且内容不同，未覆盖", retryable=False)
            # The signature first: whoever picks up *.json finds its .sig already there.
            _atomic_write(target.with_name(target.name + ".sig"), (message.signature + "\n").encode("ascii"))
            _atomic_write(target, message.body)
        except OSError as e:
            raise DeliveryFailed(f"写入发件箱失败：{e.strerror or e}") from None
        return SendReceipt(message.message_id, str(target), None, clock.now())

    def fetch_returns(self, since: str | None = None) -> list[InboundMessage]:
        if not self.inbox.is_dir():
            return []
        out = []
        for p in sorted(self.inbox.iterdir()):
            if not p.is_file() or p.suffix.lower() not in (".json", ".csv") or p.name.startswith("."):
                continue
            sig_path = p.with_name(p.name + ".sig")
            sig = sig_path.read_text(encoding="ascii", errors="replace").strip() if sig_path.exists() else None
            out.append(InboundMessage(p.name, p.read_bytes(), sig, p.suffix.lower()[1:], handle=p))
        return out

    def settle(self, message: InboundMessage, ok: bool, reason: str | None = None) -> None:
        src: Path = message.handle
        if src is None or not src.exists():
            return
        dest_dir = self.done if ok else self.rejected
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / src.name
        if dest.exists():
            dest = dest_dir / f"{src.stem}.{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}{src.suffix}"
        sig = src.with_name(src.name + ".sig")
        os.replace(src, dest)
        if sig.exists():
            os.replace(sig, dest.with_name(dest.name + ".sig"))
        if not ok:
            dest.with_name(dest.name + ".reason.txt").write_text((reason or "") + "\n", encoding="utf-8")


class HttpTaxGateway:
    """The tax bureau's exchange service over HTTPS (same messages, signature in a header)."""

    name = "http"

    def __init__(
        self, base_url: str, *, timeout: float = 10.0, attempts: int = 3, backoff: float = 0.5, transport=None
    ):
        import httpx

        self.base_url = base_url.rstrip("/")
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout), transport=transport, headers={"User-Agent": "oip-tax/1"}
        )

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, url: str, **kw):
        """One request with retries on network errors and 5xx answers; the last answer or error wins."""
        import httpx

        last = None
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                r = self._client.request(method, url, **kw)
            except httpx.HTTPError as e:
                last = f"连接税务系统失败：{type(e).__name__}: {e}"
                continue
            if r.status_code >= 500:
                last = f"税务系统返回 HTTP {r.status_code}：{r.text[:200]}"
                continue
            return r
        raise DeliveryFailed(f"{last}（已尝试 {self.attempts} 次）")

    def send(self, message: SignedMessage) -> SendReceipt:
        url = f"{self.base_url}/declarations"
        r = self._request(
            "POST",
            url,
            content=message.body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                SIGNATURE_HEADER: message.signature,
                MESSAGE_ID_HEADER: message.message_id,
            },
        )
        if r.status_code in (200, 201, 409):
            try:
                doc = r.json()
            except ValueError:
                doc = {}
            if r.status_code == 409 and doc.get("status") != "duplicate":
                raise DeliveryFailed(f"税务系统拒收：HTTP 409 {r.text[:200]}", retryable=False)
            if doc.get("message_id") not in (None, message.message_id):
                raise DeliveryFailed(
                    f"税务系统回执的 message_id {doc.get('message_id')} 与发送的不一致", retryable=False
                )
            return SendReceipt(message.message_id, url, doc.get("receipt"), clock.now())
        raise DeliveryFailed(f"税务系统拒收：HTTP {r.status_code} {r.text[:200]}", retryable=False)

    def fetch_returns(self, since: str | None = None) -> list[InboundMessage]:
        url = f"{self.base_url}/returns"
        r = self._request("GET", url, params={"since": since} if since else None)
        if r.status_code != 200:
            raise DeliveryFailed(f"获取税务回执失败：HTTP {r.status_code} {r.text[:200]}", retryable=False)
        body = r.content
        try:
            head = json.loads(body.decode("utf-8")).get("header", {})
        except (ValueError, UnicodeDecodeError, AttributeError):
            head = {}
        name = f"{url}?since={since or ''}"
        return [InboundMessage(name, body, r.headers.get(SIGNATURE_HEADER), "json", cursor=head.get("as_of"))]

    def settle(self, message: InboundMessage, ok: bool, reason: str | None = None) -> None:
        return None  # nothing to file away: the cursor of the next fetch moves on


def gateway_from_settings() -> TaxGateway:
    s = get_settings()
    if s.tax_gateway == "file":
        return FileTaxGateway(s.tax_path)
    if s.tax_gateway == "http":
        if not s.tax_url:
            raise DomainError("OIP_TAX_GATEWAY=http 时须配置 OIP_TAX_URL（税务交换服务地址）", field="tax_url")
        return HttpTaxGateway(s.tax_url, timeout=s.tax_timeout_seconds, attempts=s.tax_http_attempts)
    raise DomainError(f"OIP_TAX_GATEWAY 应为 file 或 http，不是 {s.tax_gateway!r}", field="tax_gateway")
