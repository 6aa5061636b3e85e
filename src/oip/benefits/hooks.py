"""Hooks of the benefits domain: lists that other parts fill when imported (oip.models imports them).

- ``ON_APPROVED``: callables ``fn(session, actor, determination)`` run in the transaction that
  approves a determination (monthly benefits start or are re-rated from it: oip.benefits.monthly).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from oip.benefits.models import Determination

ON_APPROVED: list[Callable[[Session, Any, Determination], None]] = []
