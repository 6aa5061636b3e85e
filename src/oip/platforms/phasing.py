"""Coverage phased in, pure (no database): a platform's workers are covered from the later of its
industry's start (industries come in by year: 2025 the pilot's three, 2027 maybe more) and its own
inclusion in the pilot, until the industry's end if it has one."""

from __future__ import annotations

import datetime as dt
from typing import Any

ADMITTED = "admitted"  # Platform.status of a platform in the pilot


def coverage_start(platform: Any, industry: Any) -> dt.date | None:
    """The first day the platform's workers are covered: the later of the industry's start
    (``industry.covered_from``) and the platform's (``platform.covered_from``). None while either
    is unknown or the platform is not admitted."""
    if platform.status != ADMITTED or platform.covered_from is None or industry.covered_from is None:
        return None
    return max(platform.covered_from, industry.covered_from)


def is_covered(platform: Any, industry: Any, day: dt.date) -> bool:
    """Whether orders of ``platform`` on ``day`` are covered (also honours the industry's end)."""
    start = coverage_start(platform, industry)
    if start is None or day < start:
        return False
    return industry.covered_to is None or day <= industry.covered_to
