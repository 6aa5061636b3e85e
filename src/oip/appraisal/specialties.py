"""Specialties and professional titles of the appraisal committees' expert pools, as data
(``data/specialties.json``). Pure: no database, no web."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Specialty:
    """`Specialty` — 专业（科别）: ``code`` is stable, ``name`` shown to users, ``catalogue`` the
    matching 诊疗科目 (informative)."""

    code: str
    name: str
    catalogue: str = ""


@lru_cache
def _data() -> dict:
    return json.loads(resources.files("oip.appraisal").joinpath("data/specialties.json").read_text("utf-8"))


@lru_cache
def specialties() -> dict[str, Specialty]:
    """Every specialty by code, in the file's order."""
    return {s["code"]: Specialty(s["code"], s["name"], s.get("catalogue", "")) for s in _data()["specialties"]}


@lru_cache
def titles() -> tuple[str, ...]:
    """The senior titles an expert of the pool may hold (条例 art. 24: 医疗卫生高级专业技术职务任职资格)."""
    return tuple(_data()["titles"])


def name(code: str) -> str:
    """The Chinese name of a specialty (the code itself when unknown)."""
    s = specialties().get(code)
    return s.name if s else code
