"""Money for people: integer fen shown as yuan, with integer arithmetic only (never a float)."""

from __future__ import annotations


def yuan(fen: int | None, none: str = "—") -> str:
    """1234567 → "12,345.67"; −5 → "-0.05"; None → ``none``."""
    if fen is None:
        return none
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"
