"""The pure rules of the intake: checklists per case kind, the one-time correction notice, report
checks (uploaded files are judged by oip.core.uploads: tests/core/test_uploads.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from oip.cases import intake_rules as R
from oip.core.errors import DomainError

# ---- checklists -----------------------------------------------------------------------------------


def test_every_kind_has_a_checklist_with_an_application_form():
    for key in ("injury", "death", "missing", "outpatient"):
        items = R.CHECKLISTS[key]
        assert items[0].code == "application_form" and items[0].required
        assert len({i.code for i in items}) == len(items)
        assert all(i.name for i in items)
    assert R.checklist_key("injury", True) == "outpatient"
    assert R.checklist_key("death", True) == "death"  # outpatient-only means an injury


def test_the_fast_lane_asks_for_five_documents():
    required = [i.name for i in R.checklist("injury", outpatient_only=True) if i.required]
    assert len(required) == 5
    assert {"授权同意书", "诊断证明或处方", "医疗费用票据"} <= set(required)


def test_a_death_needs_the_death_certificate_and_kinship():
    codes = {i.code for i in R.checklist("death") if i.required}
    assert {"death_proof", "kinship"} <= codes


def test_a_correction_notice_must_list_every_missing_required_item():
    items = R.checklist("injury")
    present = {"application_form", "identity"}
    with pytest.raises(DomainError) as e:
        R.check_correction_items(items, [("medical_diagnosis", "首诊病历")], present)
    assert e.value.field == "items" and "事故经过说明" in e.value.reason
    listed = R.check_correction_items(
        items, [("accident_account", "须平台盖章"), ("medical_diagnosis", ""), ("identity", "复印件不清晰")], present
    )
    # in checklist order, each with its name and note; a present item may be listed too (it was inadequate)
    assert [i["requirement"] for i in listed] == ["identity", "medical_diagnosis", "accident_account"]
    assert listed[0] == {"requirement": "identity", "name": "受伤人员有效身份证件", "note": "复印件不清晰"}


@pytest.mark.parametrize(
    "listed, words",
    [([], "至少"), ([("nonsense", "")], "不在本案件的材料清单"), ([("identity", ""), ("identity", "")], "重复")],
)
def test_a_correction_notice_refuses_empty_unknown_and_repeated_items(listed, words):
    with pytest.raises(DomainError) as e:
        R.check_correction_items(R.checklist("injury"), listed, {"application_form"})
    assert words in e.value.reason and e.value.field == "items"


# ---- report checks --------------------------------------------------------------------------------


def test_coordinates_inside_china_both_or_neither():
    R.check_coordinates(Decimal("22.8167"), Decimal("108.3669"))
    R.check_coordinates(None, None)
    for lat, lon, field in [
        (Decimal("60"), Decimal("108"), "lat"),
        (Decimal("22"), Decimal("150"), "lon"),
        (Decimal("22"), None, "lon"),
        (None, Decimal("108"), "lat"),
    ]:
        with pytest.raises(DomainError) as e:
            R.check_coordinates(lat, lon)
        assert e.value.field == field


def test_occurred_at_not_in_the_future_nor_before_the_pilot():
    now = dt.datetime(2025, 10, 9, 12, tzinfo=dt.UTC)
    R.check_occurred_at(now + dt.timedelta(minutes=1), now, dt.date(2025, 7, 1), dt.date(2025, 10, 9))  # clock skew
    with pytest.raises(DomainError, match="晚于当前时间"):
        R.check_occurred_at(now + dt.timedelta(hours=1), now, dt.date(2025, 7, 1), dt.date(2025, 10, 9))
    with pytest.raises(DomainError, match="试点开始日期"):
        R.check_occurred_at(now, now, dt.date(2025, 7, 1), dt.date(2025, 6, 30))


# ---- documents by content -------------------------------------------------------------------------
