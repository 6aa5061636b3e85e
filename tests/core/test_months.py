"""Month arithmetic (oip.core.months), pure."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, strategies as st

from oip.core import months as M
from oip.core.errors import DomainError


def test_parse():
    assert M.parse_month("2025-07") == "2025-07" and M.parse_month(" 202512 ") == "2025-12"
    for bad in ("2025-13", "2025-7", "July", "", None, "2025-00"):
        with pytest.raises(DomainError) as e:
            M.parse_month(bad)
        assert e.value.field == "month" and "YYYY-MM" in e.value.reason
    with pytest.raises(DomainError) as e:
        M.parse_month("x", field="from")
    assert e.value.field == "from"


def test_bounds_and_steps():
    assert M.month_bounds("2024-02") == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert M.month_bounds("2025-12") == (dt.date(2025, 12, 1), dt.date(2025, 12, 31))
    assert M.month_span("2025-12") == (dt.date(2025, 12, 1), dt.date(2026, 1, 1))
    assert M.next_month("2025-12") == "2026-01" and M.previous_month("2026-01") == "2025-12"
    assert M.add_months("2025-07", 18) == "2027-01" and M.add_months("2025-07", -7) == "2024-12"
    assert M.month_of(dt.date(2026, 2, 28)) == "2026-02" and M.first_day("2026-02") == dt.date(2026, 2, 1)
    assert M.months_between("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert M.months_between("2026-02", "2025-11") == []
    assert M.months_of_year(2026)[0] == "2026-01" and M.months_of_year(2026)[-1] == "2026-12"


@given(st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(9998, 12, 1)), st.integers(-500, 500))
def test_steps_agree_with_the_calendar(day, n):
    m = M.month_of(day)
    first, last = M.month_bounds(m)
    assert first <= day <= last and (last + dt.timedelta(days=1)) == M.first_day(M.next_month(m))
    assert M.previous_month(M.next_month(m)) == m
    if 1 <= day.year + n // 12 - 1 and day.year + n // 12 + 1 <= 9999:
        assert M.add_months(M.add_months(m, n), -n) == m
        assert (M.add_months(m, n) > m) == (n > 0) or n == 0
