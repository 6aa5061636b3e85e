"""The holiday calendar as data: an officer loads a year (audited), the loaded year is used and wins
over the package's data; ``oip calendar load`` / ``show``."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from oip.core import workdays
from oip.core.audit_models import AuditEvent
from oip.core.errors import DomainError
from oip.premiums import calc
from oip.reference import calendar
from tests.premiums.conftest import officer

D = dt.date
OIP = str(Path(sys.executable).with_name("oip"))


def _weekdays(year: int, month: int, day: int, n: int) -> list[dt.date]:
    out, d = [], D(year, month, day)
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d += dt.timedelta(days=1)
    return out


def test_a_loaded_year_is_used_for_deadlines(db):
    year = max(calendar.current(db).years()) + 1  # the first year neither the package nor a load knows
    off = _weekdays(year, 1, 14, 3)  # three weekdays off from the 14th of January
    saturday = next(D(year, 1, d) for d in range(1, 8) if D(year, 1, d).weekday() == 5)
    text = "date,kind,note\n" + "".join(f"{d},holiday,测试假期\n" for d in off) + f"{saturday},workday,调休\n"
    with workdays.using(workdays.installed()):
        with pytest.raises(DomainError, match=f"{year} 年的法定节假日安排尚未载入"):
            calc.due_date(f"{year - 1}-12", 15, calendar.current(db))
        y, rows = calendar.load_year(db, officer(db), text)
        assert y == year and len(rows) == 4 and rows[0].loaded_by.startswith("gx_si")
        cal = calendar.current(db)
        expected = _weekdays(year, 1, 15, 10)
        expected = next(d for d in expected if d not in off)
        assert calc.due_date(f"{year - 1}-12", 15, cal) == expected
        assert workdays.is_working_day(saturday, cal)
        ev = db.scalar(
            select(AuditEvent).where(AuditEvent.action == "reference.calendar_load", AuditEvent.entity_id == str(year))
        )
        assert ev is not None and len(ev.after["holidays"]) == 3
        # loading again replaces the year
        calendar.load_year(db, officer(db), f"date,kind,note\n{off[0]},holiday,只剩一天\n")
        assert [d.day for d in calendar.loaded_days(db, year)] == [off[0]]
    db.rollback()


def test_a_loaded_year_wins_over_the_package(db):
    with workdays.using(workdays.installed()):
        calendar.load_year(db, officer(db), "date,kind,note\n2026-11-16,holiday,假设的更正\n")
        cal = calendar.current(db)
        assert calc.due_date("2026-10", 15, cal) == D(2026, 11, 17)
        assert workdays.is_working_day(D(2026, 10, 5), cal)  # the package's National Day is replaced
    db.rollback()


@pytest.mark.parametrize(
    "text, field, words",
    [
        ("day,kind\n2027-01-01,holiday\n", "file", "表头"),
        ("date,kind,note\n2027-13-01,holiday,x\n", "date", "第 2 行"),
        ("date,kind,note\n2027-01-01,off,x\n", "kind", "holiday（放假）"),
        ("date,kind,note\n2027-01-01,holiday,x\n2027-01-04,workday,x\n", "kind", "星期一"),
        ("date,kind,note\n2027-01-01,holiday,x\n2028-01-03,holiday,x\n", "date", "一个年度"),
        ("date,kind,note\n2027-01-01,holiday,x\n2027-01-01,holiday,y\n", "date", "重复"),
        ("date,kind,note\n", "file", "没有数据行"),
    ],
)
def test_bad_files_are_refused_whole(text, field, words):
    with pytest.raises(DomainError, match=words) as e:
        calendar.parse_csv(text)
    assert e.value.field == field


def oip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([OIP, *args], capture_output=True, text=True, env=os.environ.copy(), timeout=120)


def test_cli_load_and_show(database, tmp_path):
    year = max(workdays.package_years()) + 30  # far ahead: no other test computes deadlines there
    f = tmp_path / "cal.csv"
    f.write_text(f"date,kind,note\n{year}-01-01,holiday,元旦\n", encoding="utf-8")
    r = oip("calendar", "show", "--year", str(year))
    assert r.returncode == 2 and f"{year} 年的法定节假日安排尚未载入" in r.stderr
    r = oip("calendar", "load", str(f), "--by", "gx_si")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"year": year, "holidays": 1, "workdays": 0}
    r = oip("calendar", "show", "--year", str(year))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["source"] == "loaded" and out["days"][0]["date"] == f"{year}-01-01"
    r = oip("calendar", "show", "--year", "2025")
    out = json.loads(r.stdout)
    assert out["source"] == "chinese-calendar" and out["working_days"] == 248
    assert {"date": "2025-09-28", "kind": "workday"}.items() <= next(
        d for d in out["days"] if d["date"] == "2025-09-28"
    ).items()
    f.write_text("date,kind,note\n2027-01-04,workday,x\n", encoding="utf-8")
    r = oip("calendar", "load", str(f), "--by", "gx_si")
    assert r.returncode == 2 and "星期一" in r.stderr
