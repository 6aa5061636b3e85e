"""Synthetic identifiers for the demo province: valid check characters, made-up numbers."""

from __future__ import annotations

import datetime as dt
import random
from functools import lru_cache

from stdnum.cn import ric, uscc

from oip.core.ids import area_codes, area_valid_in


def synthetic_uscc(rng: random.Random, region: str) -> str:
    """A synthetic unified social credit code with a valid check character (GB 32100)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + region + "".join(rng.choice(alphabet) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def synthetic_id(rng: random.Random, area: str, born: dt.date) -> str:
    body = f"{area}{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return body + ric.calc_check_digit(body + "0")


def synthetic_phone(rng: random.Random) -> str:
    return rng.choice(["13", "15", "17", "18", "19"]) + f"{rng.randrange(0, 10**9):09d}"


@lru_cache(maxsize=256)
def _in_use(year: int) -> tuple[str, ...]:
    return tuple(c for c in sorted(area_codes()) if area_valid_in(c, year))


@lru_cache(maxsize=1024)
def _names(codes: tuple[str, ...]) -> frozenset[str]:
    """The names of counties and county-level cities these codes ever had. Districts (…区) are
    left out: 城区, 郊区, 城中区 recur from city to city."""
    known = area_codes()
    return frozenset(name for c in codes for name, _, _ in known.get(c, ()) if not name.endswith("区"))


def birth_area(rng: random.Random, county: str, year: int) -> str:
    """The area code of a resident ID for someone born in ``year`` who comes from ``county``: the
    county's own code when it was in use that year; else a code in use then under the same name
    (横县 452122 before 2002, 450127 after); else one of the same city's former or present counties
    (the old 南宁地区 for a district of 南宁 created in 1983); else any Guangxi code of that year.
    So every number passes python-stdnum's check and raises no area-code warning."""
    if area_valid_in(county, year):
        return county
    in_use = _in_use(year)
    names = _names((county,))
    same = [c for c in in_use if names & _names((c,))]
    if same:
        return rng.choice(same)
    city_names = _names(tuple(c for c in area_codes() if c[:4] == county[:4]))
    near = [c for c in in_use if c[:4] == county[:4] or city_names & _names((c,))]
    return rng.choice(near or list(in_use))
