"""Configuration, read from environment variables (prefix ``OIP_``).

Every setting is documented in the README. Secrets (encryption key, blind-index key, session
key, the keys signing what is exchanged with the tax bureau and the bank, the audit chain's MAC key) are generated into
``<var_dir>/keys.json`` on first run when not given; they are never committed and never stored in
the database.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OIP_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (postgresql://user:pass@host:port/db). Unset: a private "
        "embedded server under var_dir/pgdata.",
    )
    var_dir: Path = Field(default=Path("var"), description="Where keys, the embedded database and uploads live.")
    data_key: str | None = Field(default=None, description="Base64 256-bit key for personal data at rest (AES-GCM).")
    index_key: str | None = Field(default=None, description="Base64 key for the HMAC blind index of ID/phone numbers.")
    session_key: str | None = Field(default=None, description="Base64 key for signing verification challenges.")
    session_idle_minutes: int = Field(default=30, description="Staff session idle timeout.")
    session_cookie_secure: bool = Field(default=False, description="Mark the session cookie Secure (behind HTTPS).")
    token_minutes: int = Field(default=60, description="Lifetime of bearer tokens issued to API clients.")
    upload_max_bytes: int = Field(default=20 * 1024 * 1024, description="Largest accepted upload (CSV, attachments).")
    batch_max_records: int = Field(default=5000, description="Largest JSON batch of worker registrations.")
    order_upload_max_bytes: int = Field(
        default=2 * 1024**3, description="Largest order file accepted by the API upload (streamed to disk)."
    )
    argon2_fast: bool = Field(default=False, description="Cheap argon2 parameters (tests only).")
    ledger_dir: Path | None = Field(default=None, description="Order ledger (Parquet). Default: var_dir/ledger.")
    duckdb_memory_limit: str = Field(
        default="1GB", description="DuckDB memory limit for order jobs (spills to disk beyond)."
    )
    duckdb_threads: int = Field(default=2, description="DuckDB threads for order jobs.")
    audit_key: str | None = Field(
        default=None,
        description="Base64 key of the audit chain's HMAC-SHA256 links and checkpoint signatures "
        "(docs/audit.md). Never stored in the database.",
    )
    audit_chain_interval: float = Field(
        default=1.0, description="Seconds between runs of the server's audit chainer (0: no background chainer)."
    )
    audit_checkpoint_interval: float = Field(
        default=300.0, description="Seconds between the server's audit checkpoints (when the chain moved)."
    )
    audit_checkpoint_file: Path | None = Field(
        default=None,
        description="Append-only file of signed audit checkpoints (one database per file). "
        "Default: var_dir/audit/checkpoints.jsonl.",
    )
    tax_signing_key: str | None = Field(
        default=None,
        description="Base64 key shared with the tax bureau: HMAC-SHA256 "
        "signatures of the files and messages exchanged (docs/interfaces/tax-v1.md).",
    )
    tax_gateway: str = Field(default="file", description="How declarations reach the tax bureau: file or http.")
    tax_url: str | None = Field(
        default=None, description="Base URL of the tax bureau's exchange service (tax_gateway=http)."
    )
    tax_dir: Path | None = Field(
        default=None, description="File exchange with the tax bureau. Default: var_dir/exchange/tax."
    )
    tax_timeout_seconds: float = Field(default=10.0, description="Timeout of one HTTP request to the tax bureau.")
    tax_http_attempts: int = Field(
        default=3, description="Attempts per HTTP request to the tax bureau (5xx, timeouts)."
    )
    bank_signing_key: str | None = Field(
        default=None,
        description="Base64 key shared with the paying bank: HMAC-SHA256 signatures of the payment batch "
        "files and result files (docs/interfaces/bank-v1.md).",
    )
    bank_gateway: str = Field(default="file", description="How payment batches reach the bank: file or http.")
    bank_url: str | None = Field(
        default=None, description="Base URL of the bank's payment service (bank_gateway=http)."
    )
    bank_dir: Path | None = Field(
        default=None, description="File exchange with the bank (outbox/, inbox/). Default: var_dir/exchange/bank."
    )
    bank_timeout_seconds: float = Field(default=10.0, description="Timeout of one HTTP request to the bank.")
    sms_adapter: Literal["file", "console"] = Field(
        default="file",
        description="How text messages (短信通知) leave: file (JSON lines for the SMS gateway, docs/interfaces/sms-v1.md) "
        "or console (printed; for the demo).",
    )
    sms_dir: Path | None = Field(
        default=None, description="Where the file adapter writes messages. Default: var_dir/sms."
    )
    sms_signature: str = Field(
        default="【广西职业伤害保障】", description="The SMS signature (短信签名) put before every text."
    )
    fund_post_interval: float = Field(
        default=10.0,
        description="Seconds between runs of the server's fund poster, which books new business events "
        "(tax returns, bank results) into the fund's ledger (0: none; `oip fund post` does it by hand).",
    )
    sms_send_interval: float = Field(
        default=5.0, description="Seconds between runs of the server's notification sender (0: no background sender)."
    )
    sms_retry_seconds: float = Field(
        default=60.0,
        description="Wait before the first retry of a failed text message; doubled each time, at most an hour.",
    )

    # Serving under load (README "Serving in production"): per worker process.
    max_concurrency: int = Field(
        default=4,
        description="Requests in flight at once per web process; more wait briefly, then get 503. "
        "A few per core the process has (bench/load.py: 4 held 100 req/s on 2 cores with 2 processes, 8 did worse).",
    )
    queue_wait_seconds: float = Field(
        default=0.25, description="How long a request waits for a free slot before 503 + Retry-After."
    )
    queue_max: int = Field(default=64, description="Requests waiting for a slot per process; beyond, 503 at once.")
    retry_after_seconds: int = Field(default=2, description="Retry-After of a 503 when saturated.")
    db_pool_size: int | None = Field(
        default=None, description="Pooled connections per web process. Default: max_concurrency + 4."
    )
    db_pool_timeout_seconds: float = Field(default=5.0, description="Wait for a pooled connection (web).")
    db_statement_timeout_ms: int = Field(default=30000, description="PostgreSQL statement_timeout of the web process.")
    db_lock_timeout_ms: int = Field(default=5000, description="PostgreSQL lock_timeout of the web process.")
    db_idle_in_transaction_timeout_ms: int = Field(
        default=60000, description="PostgreSQL idle_in_transaction_session_timeout of the web process."
    )
    shutdown_grace_seconds: float = Field(
        default=3.0, description="On SIGTERM: how long running requests may finish before they are cancelled."
    )
    exit_backstop_seconds: float = Field(
        default=0.0,
        description="After the web app's shutdown, end the process this long after if threads still hold it "
        "(0: off; `oip serve` sets 5).",
    )

    @property
    def ledger_path(self) -> Path:
        return self.ledger_dir or (self.var_dir / "ledger")

    @property
    def audit_checkpoint_path(self) -> Path:
        return self.audit_checkpoint_file or (self.var_dir / "audit" / "checkpoints.jsonl")

    @property
    def tax_path(self) -> Path:
        return self.tax_dir or (self.var_dir / "exchange" / "tax")

    @property
    def bank_path(self) -> Path:
        return self.bank_dir or (self.var_dir / "exchange" / "bank")

    @property
    def sms_path(self) -> Path:
        return self.sms_dir or (self.var_dir / "sms")


@lru_cache
def get_settings() -> Settings:
    return Settings()


def _b64key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


class Keys:
    """The secrets. From settings when given, else from var/keys.json (created once)."""

    def __init__(
        self,
        data_key: bytes,
        index_key: bytes,
        session_key: bytes,
        tax_signing_key: bytes,
        audit_key: bytes,
        bank_signing_key: bytes,
    ):
        self.data_key = data_key
        self.index_key = index_key
        self.session_key = session_key
        self.tax_signing_key = tax_signing_key
        self.audit_key = audit_key
        self.bank_signing_key = bank_signing_key


_KEY_NAMES = ("data_key", "index_key", "session_key", "tax_signing_key", "audit_key", "bank_signing_key")


def _write_keys(path: Path, stored: dict[str, str], *, create: bool) -> None:
    if create:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(stored, f)
        return
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(stored, f)
    os.replace(tmp, path)


@lru_cache
def get_keys() -> Keys:
    s = get_settings()
    stored: dict[str, str] = {}
    path = s.var_dir / "keys.json"
    if not all(getattr(s, k) for k in _KEY_NAMES):
        if path.exists():
            stored = json.loads(path.read_text())
            missing = [k for k in _KEY_NAMES if k not in stored]
            if missing:  # a keys file from an older release: add the new keys, keep the others
                stored.update({k: _b64key() for k in missing})
                _write_keys(path, stored, create=False)
        else:
            stored = {k: _b64key() for k in _KEY_NAMES}
            s.var_dir.mkdir(parents=True, exist_ok=True)
            _write_keys(path, stored, create=True)
    return Keys(*(base64.b64decode(getattr(s, k) or stored[k]) for k in _KEY_NAMES))
