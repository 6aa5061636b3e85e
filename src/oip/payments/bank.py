"""The bank adapter (银行代发接口), protocol ``bank-v1`` (docs/interfaces/bank-v1.md).

Out: one payment batch as a signed JSON file (批量代发文件) — it carries the full card numbers the
bank needs, so it is sensitive: written only to the configured outbox or posted over HTTPS, stored
in the database as sent, never shown. In: the bank's result file (回盘文件), JSON, signed the same
way: per line paid, failed (with the bank's code and reason) or reversed (退汇).
Signatures are hex HMAC-SHA256 over the exact bytes with the key shared with the bank
(``OIP_BANK_SIGNING_KEY``, never in the database), detached: a ``.sig`` file beside the file, or the
``X-OIP-Signature`` header over HTTP.

Two implementations of ``BankGateway``: ``FileBank`` (``<OIP_BANK_DIR>/outbox`` and ``/inbox``) and
``HttpBank`` (``POST <OIP_BANK_URL>/batches``, ``GET <OIP_BANK_URL>/results?batch=…``). A gateway only
moves bytes; building, signing, verifying and parsing are done here once for both.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from oip.core import clock, signing
from oip.core.config import get_keys, get_settings
from oip.core.errors import DomainError

VERSION = "bank-v1"
SENDER = "gx-si"
SIGNATURE_HEADER = "X-OIP-Signature"
RESULT_FIELDS = (
    "idempotency_key",
    "status",
    "bank_ref",
    "paid_on",
    "failure_code",
    "failure_reason",
    "reversed_on",
    "reversal_reason",
)
_SAFE_NAME = signing.SAFE_FILE_NAME


# ---- signing -------------------------------------------------------------------------------------


def sign(body: bytes, key: bytes | None = None) -> str:
    """Hex HMAC-SHA256 of the exact bytes (oip.core.signing), with this exchange's key."""
    return signing.sign(body, key if key is not None else get_keys().bank_signing_key)


def verify(body: bytes, signature: str | None, key: bytes | None = None) -> bool:
    return signing.verify(body, signature, key if key is not None else get_keys().bank_signing_key)


sha256 = signing.sha256


# ---- the batch file ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchLine:
    idempotency_key: str
    payee_name: str
    bank_name: str
    card_number: str
    amount_fen: int
    purpose: str
    case_number: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "idempotency_key": self.idempotency_key,
            "payee_name": self.payee_name,
            "bank_name": self.bank_name,
            "card_number": self.card_number,
            "amount_fen": self.amount_fen,
            "purpose": self.purpose,
            "case_number": self.case_number,
        }


@dataclass(frozen=True)
class BatchFile:
    """The exact bytes of a batch file as stored and sent, with their signature."""

    batch_number: str
    filename: str
    body: bytes
    signature: str


def batch_file(batch_number: str, region_code: str, lines: list[BatchLine], created_at: dt.datetime) -> BatchFile:
    doc = {
        "header": {
            "version": VERSION,
            "kind": "batch",
            "batch_number": batch_number,
            "sender": SENDER,
            "payer_region": region_code,
            "created_at": created_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
            "count": len(lines),
            "total_fen": sum(x.amount_fen for x in lines),
            "currency": "CNY",
            "unit": "fen",
        },
        "lines": [x.as_dict() for x in lines],
    }
    body = (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    return BatchFile(batch_number, f"{batch_number}.json", body, sign(body))


def read_batch_file(body: bytes) -> dict[str, Any]:
    """A batch file as the bank reads it (the fake bank of the tests, the docs' example)."""
    return json.loads(body.decode("utf-8"))


# ---- the result file -----------------------------------------------------------------------------


class ResultFormatError(DomainError):
    """The result file as a whole is unreadable."""


@dataclass
class ResultLine:
    line: int
    idempotency_key: str
    status: str
    bank_ref: str | None
    paid_on: dt.date | None
    failure_code: str | None
    failure_reason: str | None
    reversed_on: dt.date | None
    reversal_reason: str | None


@dataclass
class ParsedResult:
    batch_number: str | None
    lines: list[ResultLine]
    errors: list[str]  # lines that cannot be read: rejected with their reason


def _date(raw: Any, name: str, where: str, errors: list[str]) -> dt.date | None:
    if raw in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        errors.append(f"{where}：{name} 应为日期 YYYY-MM-DD，不是 {raw!r}")
        return None


def _text(raw: Any, limit: int) -> str | None:
    v = str(raw).strip() if raw is not None else ""
    return v[:limit] or None


def parse_result(body: bytes) -> ParsedResult:
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ResultFormatError("回盘文件不是合法的 UTF-8 JSON", field="file") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("header"), dict) or not isinstance(doc.get("lines"), list):
        raise ResultFormatError("回盘文件应包含 header 对象和 lines 数组", field="file")
    head = doc["header"]
    if head.get("version") != VERSION or head.get("kind") != "result":
        raise ResultFormatError(f"header.version 应为 {VERSION}，header.kind 应为 result", field="file")
    if "count" in head and head["count"] != len(doc["lines"]):
        raise ResultFormatError(
            f"header.count 为 {head['count']}，但 lines 有 {len(doc['lines'])} 条（文件可能不完整）", field="file"
        )
    lines: list[ResultLine] = []
    errors: list[str] = []
    for i, raw in enumerate(doc["lines"], 1):
        where = f"第 {i} 条"
        if not isinstance(raw, dict):
            errors.append(f"{where}：应为对象")
            continue
        n = len(errors)
        key = _text(raw.get("idempotency_key"), 112)
        status = str(raw.get("status") or "").strip()
        if not key:
            errors.append(f"{where}：缺少 idempotency_key（幂等键）")
        if status not in ("paid", "failed", "reversed"):
            errors.append(f"{where}：status 应为 paid、failed 或 reversed，不是 {status!r}")
        paid_on = _date(raw.get("paid_on"), "paid_on（支付日期）", where, errors)
        reversed_on = _date(raw.get("reversed_on"), "reversed_on（退汇日期）", where, errors)
        if status == "paid" and paid_on is None and len(errors) == n:
            errors.append(f"{where}：已支付的明细须有 paid_on（支付日期）")
        if status == "failed" and not _text(raw.get("failure_reason"), 500) and len(errors) == n:
            errors.append(f"{where}：支付失败的明细须有 failure_reason（失败原因）")
        if len(errors) > n:
            continue
        lines.append(
            ResultLine(
                i,
                key,
                status,
                _text(raw.get("bank_ref"), 64),
                paid_on,
                _text(raw.get("failure_code"), 16),
                _text(raw.get("failure_reason"), 500),
                reversed_on,
                _text(raw.get("reversal_reason"), 500),
            )
        )
    return ParsedResult(head.get("batch_number"), lines, errors)


def result_file(batch_number: str | None, lines: list[dict[str, Any]], key: bytes | None = None) -> tuple[bytes, str]:
    """A result file as the bank sends it (the fake bank of the tests, the demo, the docs' example)."""
    head = {
        "version": VERSION,
        "kind": "result",
        "batch_number": batch_number,
        "sender": "bank",
        "created_at": clock.now().astimezone(dt.UTC).isoformat(timespec="seconds"),
        "count": len(lines),
    }
    body = (json.dumps({"header": head, "lines": lines}, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    return body, sign(body, key)


# ---- the interface -------------------------------------------------------------------------------


class DeliveryFailed(Exception):
    """The bank did not confirm the file (it may still have received it: re-send the same file)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class InboundFile:
    name: str
    body: bytes
    signature: str | None
    handle: Any = field(default=None, repr=False)


class BankGateway(Protocol):
    name: str

    def send(self, f: BatchFile) -> str:
        """Deliver one batch file; return where it went (file path or URL) once the bank confirmed
        it; raise DeliveryFailed otherwise."""

    def fetch_results(self, batch_number: str | None = None) -> list[InboundFile]:
        """Result files waiting for us."""

    def settle(self, f: InboundFile, ok: bool, reason: str | None = None) -> None:
        """After an import: file away what was read."""


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # sensitive: card numbers
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class FileBank:
    """Files in a directory shared with the bank's transfer system (SFTP or similar)."""

    name = "file"

    def __init__(self, root: Path):
        self.root = Path(root)
        self.outbox = self.root / "outbox"
        self.inbox = self.root / "inbox"

    def send(self, f: BatchFile) -> str:
        if not _SAFE_NAME.match(f.filename):
            raise DeliveryFailed(f"文件名不合法：{f.filename}")
        try:
            self.outbox.mkdir(parents=True, exist_ok=True, mode=0o700)
            target = self.outbox / f.filename
            if target.exists() and target.read_bytes() != f.body:
                raise DeliveryFailed(f"发件箱中已有同名文件 {f.filename} 且内容不同，未覆盖")
            _atomic_write(target.with_name(target.name + ".sig"), (f.signature + "\n").encode("ascii"))
            _atomic_write(target, f.body)
        except OSError as e:
            raise DeliveryFailed(f"写入发件箱失败：{e.strerror or e}") from None
        return str(target)

    def fetch_results(self, batch_number: str | None = None) -> list[InboundFile]:
        if not self.inbox.is_dir():
            return []
        out = []
        for p in sorted(self.inbox.iterdir()):
            if not p.is_file() or p.suffix.lower() != ".json" or p.name.startswith("."):
                continue
            sig_path = p.with_name(p.name + ".sig")
            sig = sig_path.read_text(encoding="ascii", errors="replace").strip() if sig_path.exists() else None
            out.append(InboundFile(p.name, p.read_bytes(), sig, handle=p))
        return out

    def settle(self, f: InboundFile, ok: bool, reason: str | None = None) -> None:
        src: Path | None = f.handle
        if src is None or not src.exists():
            return
        dest_dir = self.inbox / ("done" if ok else "rejected")
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / src.name
        if dest.exists():
            dest = dest_dir / f"{src.stem}.{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}{src.suffix}"
        sig = src.with_name(src.name + ".sig")
        os.replace(src, dest)
        if sig.exists():
            os.replace(sig, dest.with_name(dest.name + ".sig"))
        if not ok:
            dest.with_name(dest.name + ".reason.txt").write_text((reason or "") + "\n", encoding="utf-8")


class HttpBank:
    """The bank's payment service over HTTPS (same files; the signature in a header)."""

    name = "http"

    def __init__(self, base_url: str, *, timeout: float = 10.0, transport=None):
        import httpx

        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout), transport=transport, headers={"User-Agent": "oip-bank/1"}
        )

    def close(self) -> None:
        self._client.close()

    def send(self, f: BatchFile) -> str:
        import httpx

        url = f"{self.base_url}/batches"
        try:
            r = self._client.post(
                url,
                content=f.body,
                headers={"Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: f.signature},
            )
        except httpx.HTTPError as e:
            raise DeliveryFailed(f"连接银行失败：{type(e).__name__}: {e}") from None
        if r.status_code in (200, 201) or (r.status_code == 409 and "duplicate" in r.text):
            return url
        raise DeliveryFailed(f"银行拒收：HTTP {r.status_code} {r.text[:200]}")

    def fetch_results(self, batch_number: str | None = None) -> list[InboundFile]:
        import httpx

        url = f"{self.base_url}/results"
        try:
            r = self._client.get(url, params={"batch": batch_number} if batch_number else None)
        except httpx.HTTPError as e:
            raise DeliveryFailed(f"连接银行失败：{type(e).__name__}: {e}") from None
        if r.status_code == 404:
            return []
        if r.status_code != 200:
            raise DeliveryFailed(f"获取银行回盘失败：HTTP {r.status_code} {r.text[:200]}")
        return [InboundFile(f"{url}?batch={batch_number or ''}", r.content, r.headers.get(SIGNATURE_HEADER))]

    def settle(self, f: InboundFile, ok: bool, reason: str | None = None) -> None:
        return None


def gateway_from_settings() -> BankGateway:
    s = get_settings()
    if s.bank_gateway == "file":
        return FileBank(s.bank_path)
    if s.bank_gateway == "http":
        if not s.bank_url:
            raise DomainError("OIP_BANK_GATEWAY=http 时须配置 OIP_BANK_URL（银行代发服务地址）", field="bank_url")
        return HttpBank(s.bank_url, timeout=s.bank_timeout_seconds)
    raise DomainError(f"OIP_BANK_GATEWAY 应为 file 或 http，不是 {s.bank_gateway!r}", field="bank_gateway")
