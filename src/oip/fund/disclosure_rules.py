"""Which cells of the yearly public disclosure (年度信息公开) are shown: small-cell suppression and
the complementary (secondary) suppression that keeps a hidden cell from being recovered by
subtraction from a published total.

Pure (import-linter's "pure" contract): oip.fund.disclosure counts, calls these, and publishes.

A *line* is a set of cells that add up to a published total — the cities of one column, or the
benefit items of the year's expenditure. Each cell has a value and a *basis*: the number of people
(or cases) it stands for. A count's basis is the count itself; a money cell's basis is the number
of people it was paid to.

- **Primary suppression** (``SMALL``, shown “<N”): the basis is above zero and under the threshold N
  (oip.fund.rules.suppress).
- **Complementary suppression** (``COMPLEMENT``, shown “—”): when exactly one cell of a line is
  suppressed and the line's total is published, the total minus the shown cells would give it back;
  so the smallest other non-zero cell is hidden too. If there is no such cell, the total itself is
  hidden (``Protected.hide_total``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from oip.fund.rules import suppress

SHOWN = ""
SMALL = "small"  # under the threshold: “<N”
COMPLEMENT = "complement"  # hidden so that a small cell cannot be recovered: “—”

MARK_NAMES = {SMALL: "人数少于公开阈值，不予公开", COMPLEMENT: "为防止通过合计推算被隐去的数值，一并隐去"}


@dataclass(frozen=True)
class Protected:
    """The marks of a line's cells (key → SHOWN, SMALL or COMPLEMENT) and whether its total must be
    hidden as well."""

    marks: dict[str, str]
    hide_total: bool = False

    def hidden(self) -> set[str]:
        return {k for k, m in self.marks.items() if m}


def protect(
    values: Mapping[str, int],
    threshold: int,
    basis: Mapping[str, int] | None = None,
    *,
    total_shown: bool = True,
) -> Protected:
    """Mark the cells of one line. ``values``: the cells (key → value); ``basis``: how many people
    each stands for (default: the value itself, for counts of people or cases). ``total_shown``:
    whether the line's total is published (then one lone hidden cell needs a complement)."""
    basis = values if basis is None else basis
    marks = {k: SHOWN for k in values}
    for k in values:
        if suppress(int(basis.get(k, 0)), threshold) is None:
            marks[k] = SMALL
    hidden = [k for k, m in marks.items() if m]
    if not total_shown or len(hidden) != 1:
        return Protected(marks)
    candidates = sorted((int(values[k]), k) for k, m in marks.items() if not m and int(values[k]) > 0)
    if not candidates:
        return Protected(marks, hide_total=True)
    marks[candidates[0][1]] = COMPLEMENT
    return Protected(marks)


def cell(value: int, mark: str) -> dict:
    """A published cell: its value, or None when hidden, and the mark."""
    return {"value": None if mark else int(value), "mark": mark}


def line_cells(values: Mapping[str, int], protected: Protected) -> dict[str, dict]:
    return {k: cell(v, protected.marks.get(k, SHOWN)) for k, v in values.items()}


def total_cell(value: int, threshold: int, *, hide: bool = False, basis: int | None = None) -> dict:
    """A total: suppressed like any cell when its own basis is small; hidden (complement) when a
    lone hidden cell could otherwise be recovered from it."""
    if suppress(int(value if basis is None else basis), threshold) is None:
        return cell(value, SMALL)
    return cell(value, COMPLEMENT if hide else SHOWN)


def shown(c: dict, threshold: int) -> str:
    """How a published count cell reads: the number, “<N” or “—”."""
    if c["mark"] == SMALL:
        return f"<{threshold}"
    if c["mark"] == COMPLEMENT:
        return "—"
    return f"{c['value']:,}"
