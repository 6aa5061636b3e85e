"""The random draw of an appraisal panel (专家组随机抽取), 工伤保险条例 art. 25 and 27: 3 or 5 experts
of the committee's pool, drawn at random from the specialties the case needs, none of them tied to
the case (回避).

Pure and reproducible: the candidates are sorted by id, a ``random.Random(seed)`` draws first one
expert of each needed specialty (the specialties in code order), then the rest of the panel from
the other eligible experts of the needed specialties, and only when those run out from the rest of
the eligible pool (a committee whose pool is short of a specialty still forms a panel; ``covers``
tells which seats the needed specialties hold). The same seed and the same candidates give the same panel, so a stored
draw (seed, candidate ids, exclusions) can be re-run and compared at any time (``rerun``).
No database, no web."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from oip.appraisal import specialties
from oip.core.errors import DomainError

PANEL_SIZES = (3, 5)

# Why a candidate was left out of a draw (the reason codes stored with the draw).
INACTIVE = "inactive"
EXCLUSION_REASONS = {
    INACTIVE: "已停用",
    "tied_person": "与申请人有利害关系（回避）",
    "tied_platform": "与平台企业有利害关系（回避）",
    "earlier_panel": "参加过此前的鉴定（再次鉴定回避）",
    "excluded": "须回避",
}


@dataclass(frozen=True)
class Candidate:
    """An expert of the pool as the draw sees it."""

    id: int
    specialty: str
    active: bool = True


@dataclass(frozen=True)
class Draw:
    """The outcome: the panel (expert ids in the order drawn), every candidate id considered (sorted),
    the excluded ones with their reason code, the seed, and which expert covers which specialty."""

    panel: tuple[int, ...]
    candidates_considered: tuple[int, ...]
    excluded: tuple[tuple[int, str], ...]
    seed: int
    needed_specialties: tuple[str, ...]
    size: int
    covers: tuple[tuple[str, int], ...] = ()

    @property
    def excluded_ids(self) -> dict[int, str]:
        return dict(self.excluded)


def _exclusions(excluded_ids: Mapping[int, str] | Iterable[int]) -> dict[int, str]:
    if isinstance(excluded_ids, Mapping):
        return {int(k): str(v) for k, v in excluded_ids.items()}
    return {int(k): "excluded" for k in excluded_ids}


def normalise_specialties(needed: Iterable[str]) -> tuple[str, ...]:
    """Known specialty codes, each once, in code order (the order of the draw)."""
    known = specialties.specialties()
    out = sorted(set(needed))
    for code in out:
        if code not in known:
            raise DomainError(f"未知的专业 {code}", field="needed_specialties")
    return tuple(out)


def draw_panel(
    candidates: Iterable[Candidate],
    *,
    needed_specialties: Iterable[str],
    size: int,
    excluded_ids: Mapping[int, str] | Iterable[int] = (),
    seed: int,
) -> Draw:
    """Draw a panel of ``size`` (3 or 5) experts: at least one of each needed specialty, the rest from
    the needed specialties' other experts first and then the remaining eligible pool, nobody twice, no inactive or excluded expert. DomainError (in Chinese,
    naming the specialty that is short) when the pool cannot make the panel."""
    if isinstance(size, bool) or size not in PANEL_SIZES:
        raise DomainError("专家组人数应为 3 人或 5 人", field="size")
    needed = normalise_specialties(needed_specialties)
    if len(needed) > size:
        raise DomainError(f"所需专业有 {len(needed)} 个，多于专家组人数 {size} 人", field="needed_specialties")
    ordered = sorted(candidates, key=lambda c: c.id)
    ids = [c.id for c in ordered]
    if len(set(ids)) != len(ids):
        raise ValueError("a candidate appears twice")
    given = _exclusions(excluded_ids)
    excluded: dict[int, str] = {}
    eligible: list[Candidate] = []
    for c in ordered:
        if c.id in given:
            excluded[c.id] = given[c.id]
        elif not c.active:
            excluded[c.id] = INACTIVE
        else:
            eligible.append(c)

    rng = random.Random(seed)
    panel: list[int] = []
    covers: list[tuple[str, int]] = []
    for code in needed:
        pool = [c for c in eligible if c.specialty == code and c.id not in panel]
        if not pool:
            listed = [c for c in ordered if c.specialty == code]
            out = sum(1 for c in listed if c.id in excluded and excluded[c.id] != INACTIVE)
            off = sum(1 for c in listed if excluded.get(c.id) == INACTIVE)
            raise DomainError(
                f"专家库中没有可抽取的{specialties.name(code)}专家（在册 {len(listed)} 人，"
                f"其中须回避 {out} 人、已停用 {off} 人），无法组成专家组",
                field="needed_specialties",
            )
        pick = rng.choice(pool)
        panel.append(pick.id)
        covers.append((code, pick.id))
    short = size - len(panel)
    if len(eligible) - len(panel) < short:
        raise DomainError(
            f"专家库可抽取的专家不足：专家组需 {size} 人，扣除回避和停用的专家后只有 {len(eligible)} 人",
            field="size",
        )
    same = [c.id for c in eligible if c.id not in panel and c.specialty in needed]
    other = [c.id for c in eligible if c.id not in panel and c.specialty not in needed]
    take = min(short, len(same))
    panel.extend(rng.sample(same, take))
    panel.extend(rng.sample(other, short - take))
    return Draw(
        panel=tuple(panel),
        candidates_considered=tuple(ids),
        excluded=tuple(sorted(excluded.items())),
        seed=seed,
        needed_specialties=needed,
        size=size,
        covers=tuple(covers),
    )


def rerun(stored: Draw, candidates: Iterable[Candidate]) -> tuple[Draw, bool]:
    """Draw again from a stored draw's seed, specialties, size and exclusions with ``candidates``
    (the stored candidates as they were): the new draw and whether it gives the stored panel and
    considered the same candidates."""
    again = draw_panel(
        candidates,
        needed_specialties=stored.needed_specialties,
        size=stored.size,
        excluded_ids=dict(stored.excluded),
        seed=stored.seed,
    )
    same = again.panel == stored.panel and again.candidates_considered == stored.candidates_considered
    return again, same
