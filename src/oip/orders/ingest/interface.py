"""The interface (docs/interfaces/orders-v1.md) as the import sees it: the fields, the limits of the
rules, the names shown for sources and statuses, what an import returns and the error of a file
that cannot be read at all."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from oip.core import audit
from oip.core.errors import DomainError

TEXT_FIELDS = ("order_id", "platform_code", "worker_account_id", "industry", "county_code", "status")
TIME_FIELDS = ("accepted_at", "picked_up_at", "finished_at")
INT_FIELDS = ("distance_m", "income_fen")
COORD_FIELDS = ("start_lng", "start_lat", "end_lng", "end_lat")
FIELDS = (
    "order_id",
    "platform_code",
    "worker_account_id",
    "industry",
    "county_code",
    "accepted_at",
    "picked_up_at",
    "finished_at",
    "status",
    "start_lng",
    "start_lat",
    "end_lng",
    "end_lat",
    "distance_m",
    "income_fen",
)
REQUIRED = (
    "order_id",
    "platform_code",
    "worker_account_id",
    "industry",
    "county_code",
    "accepted_at",
    "finished_at",
    "status",
)
PARSED = TIME_FIELDS + INT_FIELDS + COORD_FIELDS  # fields whose text must parse; raw text kept when it does not
STATUSES = ("completed", "cancelled")
FORMATS = ("csv", "jsonl", "parquet")

MAX_ID_LENGTH = 64
MAX_DURATION_HOURS = 24  # an order lasts at most a day: coverage looks at the day of T and the day before
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
LNG_RANGE = (73.0, 136.0)  # China's extent: a value outside is a swapped or missing coordinate
LAT_RANGE = (3.0, 54.0)
MAX_DISTANCE_M = 1_000_000  # 1,000 km
MAX_INCOME_FEN = 10_000_000  # 100,000 yuan for one order

SOURCES = {"api": "接口上传", "portal": "门户上传", "cli": "文件导入（命令行）", "demo": "演示数据"}
STATUS_NAMES = {"staging": "导入中", "published": "已发布", "failed": "失败"}

AUDIT_ACTION_NAMES = {
    "orders.import": "导入订单数据批次",
    "orders.import_failed": "订单数据批次导入失败",
    "orders.recover": "清理中断的订单导入",
}
audit.register_actions(AUDIT_ACTION_NAMES)


CHUNK = 1 << 20


Progress = Callable[[str, float], None]


class FileError(DomainError):
    """The file cannot be read at all (format, encoding, header): nothing is imported."""

    code = "unreadable_file"

    def __init__(self, reason: str):
        super().__init__(reason, field="file")


@dataclass
class ImportResult:
    batch_id: int
    received: int
    accepted: int
    rejected: int
    duplicates: int
    corrections: int
    rejects_path: str | None
    seconds: float
    months: list[str] = field(default_factory=list)
    steps: dict[str, float] = field(default_factory=dict)  # seconds of each step, in order (for benchmarks and logs)

    def summary(self) -> dict:
        """The line ``oip orders import`` ends with (exactly the keys of the interface)."""
        return {
            "batch_id": self.batch_id,
            "received": self.received,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "rejects_path": self.rejects_path,
            "seconds": round(self.seconds, 3),
        }
