"""Hooks of the benefits domain that other parts of it fill (imported by oip.models).

``ON_APPROVED``: called, in the approval's transaction, after a determination (待遇核定) is approved,
its letter made and the once items owed (payables). Each hook gets ``(session, actor,
determination)``. The monthly benefits part registers one that creates the ``MonthlyBenefit`` rows
of the monthly lines; the claims part may register one that marks its claim approved. A hook that
raises rolls the whole approval back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from oip.benefits.models import Determination

ApprovedHook = Callable[[Session, Any, Determination], None]
ON_APPROVED: list[ApprovedHook] = []
