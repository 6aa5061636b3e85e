"""Text messages (短信) out: the adapter interface and its file and console implementations.

An adapter hands one message to the SMS gateway. Every message carries a stable ``message_id``
(``oip-ntf-<id>``) and an adapter sends an id **once**: asked again for an id it has sent, it answers
with the first receipt and sends nothing. The outbox (``oip.exchange.notify``) relies on this when a
crash falls between sending and recording that it was sent.

- ``FileSmsAdapter`` appends one JSON line per message to ``sms-YYYYMMDD.jsonl`` in the SMS
  directory (``OIP_SMS_DIR``, default ``var/sms``), flushed and fsynced before it answers; the SMS
  gateway picks the lines up (docs/interfaces/sms-v1.md). Under an exclusive lock on the directory
  it first reads what was written since it last looked (by any process), so an id already in a
  file is never written twice.
- ``ConsoleSmsAdapter`` prints the message (for the demo); it remembers ids only while it runs.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from oip.core import clock
from oip.core.ids import mask_phone

FORMAT_VERSION = "sms-v1"


@dataclass(frozen=True)
class SmsMessage:
    message_id: str  # stable over every attempt
    phone: str  # 11 digits
    text: str  # the whole text, signature included
    template: str | None = None


@dataclass(frozen=True)
class SmsReceipt:
    message_id: str
    provider_message_id: str
    at: dt.datetime
    duplicate: bool = False  # sent before under this id: nothing was sent now


class SmsFailed(Exception):
    """The gateway did not take the message. ``retryable``: try again later (else it waits for an
    officer)."""

    def __init__(self, reason: str, retryable: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class SmsAdapter(Protocol):
    name: str

    def send(self, message: SmsMessage) -> SmsReceipt:
        """Send ``message`` once per ``message_id``; raise ``SmsFailed`` if it did not go."""
        ...


class FileSmsAdapter:
    """JSON lines in daily files, idempotent by message id across processes."""

    name = "file"
    LOCK = ".lock"

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._mutex = threading.Lock()
        self._read: dict[str, tuple[int, int]] = {}  # file name → (bytes read, complete lines read)
        self._seen: dict[str, str] = {}  # message id → where it was written (file#line)

    def files(self) -> list[Path]:
        return sorted(self.directory.glob("sms-*.jsonl"))

    def _catch_up(self) -> None:
        """Read the lines written since the last look (complete lines only)."""
        for path in self.files():
            size = path.stat().st_size
            done, lines = self._read.get(path.name, (0, 0))
            if size < done:  # replaced by a shorter file: read it again
                done, lines = 0, 0
            if size == done:
                continue
            with path.open("rb") as f:
                f.seek(done)
                chunk = f.read(size - done)
            end = chunk.rfind(b"\n") + 1  # a torn last line is read once it is completed
            for raw in chunk[:end].splitlines():
                lines += 1
                try:
                    mid = json.loads(raw)["message_id"]
                except (ValueError, KeyError, TypeError):
                    continue  # a torn line ended by the next write: not a message
                self._seen.setdefault(mid, f"{path.name}#{lines}")
            self._read[path.name] = (done + end, lines)

    def send(self, message: SmsMessage) -> SmsReceipt:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            with self._mutex, open(self.directory / self.LOCK, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    return self._send_locked(message)
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
        except OSError as e:
            raise SmsFailed(f"短信文件无法写入：{e.strerror or e}") from e

    def _send_locked(self, message: SmsMessage) -> SmsReceipt:
        self._catch_up()
        now = clock.now()
        if message.message_id in self._seen:
            return SmsReceipt(message.message_id, self._seen[message.message_id], now, duplicate=True)
        path = self.directory / f"sms-{clock.today():%Y%m%d}.jsonl"
        record = {
            "version": FORMAT_VERSION,
            "message_id": message.message_id,
            "to": message.phone,
            "text": message.text,
            "template": message.template,
            "written_at": now.isoformat(),
        }
        line = json.dumps(record, ensure_ascii=False, sort_keys=True).encode() + b"\n"
        created = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            size = os.fstat(fd).st_size
            done, lines = self._read.get(path.name, (0, 0))
            if size > done:  # a torn line (a writer died mid-line): end it, so ours stands alone
                line = b"\n" + line
                lines += 1
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self.directory)
        lines += 1
        self._read[path.name] = (size + len(line), lines)
        where = f"{path.name}#{lines}"
        self._seen[message.message_id] = where
        return SmsReceipt(message.message_id, where, now)


class ConsoleSmsAdapter:
    """Prints each message (the phone masked); for the demo. Idempotent while the process runs."""

    name = "console"

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream
        self._seen: set[str] = set()
        self._mutex = threading.Lock()

    def send(self, message: SmsMessage) -> SmsReceipt:
        now = clock.now()
        with self._mutex:
            if message.message_id in self._seen:
                return SmsReceipt(message.message_id, message.message_id, now, duplicate=True)
            out = self.stream or sys.stdout
            print(f"短信 → {mask_phone(message.phone)}（{message.message_id}）：{message.text}", file=out, flush=True)
            self._seen.add(message.message_id)
        return SmsReceipt(message.message_id, message.message_id, now)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def adapter_from_settings() -> SmsAdapter:
    """The adapter ``OIP_SMS_ADAPTER`` names."""
    from oip.core.config import get_settings

    s = get_settings()
    if s.sms_adapter == "console":
        return ConsoleSmsAdapter()
    return FileSmsAdapter(s.sms_path)
