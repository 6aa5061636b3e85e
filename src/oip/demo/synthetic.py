"""Synthetic identifiers for the demo province: valid check characters, made-up numbers."""

from __future__ import annotations

import datetime as dt
import random

from stdnum.cn import ric, uscc


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
