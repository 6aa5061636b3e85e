"""The yearly float (费率浮动档次) with the database: the inputs of a platform's previous year (claims,
injuries and insured workers from the data through oip.premiums.float_figures, or an officer's
override with a reason), proposals under the rules in force on 1 January, and the officer's decision, which sets the
platform's k from 1 January of the year — the only way k is set (no direct edit: k for year Y is
decided before 1 January of Y, inside the rules). The rules themselves are
pure (oip.premiums.float_rules)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.auth.scope import out_of_scope
from oip.core import audit, clock
from oip.core.errors import Conflict, DomainError
from oip.core.months import months_of_year
from oip.platforms import service as platforms
from oip.platforms.models import Platform, PlatformFloat
from oip.platforms.scope import admitted, platform_condition
from oip.premiums import float_figures, float_rules
from oip.premiums.models import (
    Declaration,
    FloatProposal,
    PlatformYearExperience,
    TaxReturn,
)
from oip.premiums.service import SENT
from oip.reference import parameters

# ---- the yearly float --------------------------------------------------------------------------------


def parse_year(value: Any, *, lo: int, hi: int, field_: str = "year") -> int:
    try:
        y = int(str(value).strip())
    except (TypeError, ValueError):
        raise DomainError("年度应为四位数字，如 2026", field=field_) from None
    if not lo <= y <= hi:
        raise DomainError(f"年度应在 {lo} 到 {hi} 之间", field=field_)
    return y


def _nonneg_int(value: Any, field_: str, label: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        v = value
    elif isinstance(value, str) and value.strip().isdigit():
        v = int(value.strip())
    else:
        raise DomainError(f"{label}应为非负整数", field=field_)
    if v < 0:
        raise DomainError(f"{label}应为非负整数", field=field_)
    return v


def set_experience(
    session: Session, actor, code: str, year: Any, *, claims_fen: Any, injuries: Any, insured_avg: Any, reason: Any
) -> PlatformYearExperience:
    """Override the data's figures of a platform's year (claims paid, confirmed injuries, average
    insured workers) with typed values; ``reason`` is mandatory (why the data is not used). The
    override is audited with the data's figures beside it, and wins until withdrawn."""
    plat = platforms.get_platform(session, actor, code)
    y = parse_year(year, lo=2025, hi=clock.today().year)
    values = {
        "claims_fen": _nonneg_int(claims_fen, "claims_fen", "赔付金额（分）"),
        "injuries": _nonneg_int(injuries, "injuries", "职业伤害人数"),
        "insured_avg": _nonneg_int(insured_avg, "insured_avg", "年平均参保人数"),
        "reason": platforms.clean_text(reason, "reason", "人工录入理由", 500, required=True),
    }
    row = float_figures.override_of(session, plat.id, y, for_update=True)
    before = None if row is None else {k: getattr(row, k) for k in values}
    if row is None:
        row = PlatformYearExperience(platform_id=plat.id, year=y, source="override", **values)
        session.add(row)
    else:
        for k, v in values.items():
            setattr(row, k, v)
        row.source = "override"
    row.entered_by, row.entered_at = actor.user_id, clock.now()
    session.flush()
    data = float_figures.from_data(session, plat, y)
    audit.record(
        session,
        actor,
        "premium.experience_set",
        entity_type="platform",
        entity_id=f"{plat.code}/{y}",
        before=before,
        after={
            **values,
            "source": "override",
            "data": {"claims_fen": data.claims_fen, "injuries": data.injuries, "insured_avg": data.insured_avg},
        },
    )
    return row


def clear_experience(session: Session, actor, code: str, year: Any, *, reason: Any) -> None:
    """Withdraw the override of a platform's year: the float uses the data again. Needs a reason."""
    plat = platforms.get_platform(session, actor, code)
    y = parse_year(year, lo=2025, hi=clock.today().year)
    why = platforms.clean_text(reason, "reason", "撤销理由", 500, required=True)
    row = float_figures.override_of(session, plat.id, y, for_update=True)
    if row is None:
        raise DomainError(f"{plat.code} 的 {y} 年数据没有人工录入，无需撤销", field="year")
    before = {k: getattr(row, k) for k in ("claims_fen", "injuries", "insured_avg", "reason")}
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor,
        "premium.experience_cleared",
        entity_type="platform",
        entity_id=f"{plat.code}/{y}",
        before=before,
        after={"source": "data", "reason": why},
    )


def year_figures(session: Session, actor, year: Any) -> list[tuple[Platform, float_figures.Figures]]:
    """The figures of ``year`` of every admitted platform in the actor's scope (data or override);
    ``actor`` None (the command line) sees every platform."""
    y = parse_year(year, lo=2025, hi=clock.today().year)
    q = select(Platform).where(admitted()).order_by(Platform.code)
    if actor is not None:
        q = q.where(platform_condition(actor))
    plats = session.scalars(q)
    return [(p, float_figures.figures(session, p, y)) for p in plats]


def float_inputs(session: Session, platform: Platform, year: int) -> tuple[float_rules.Inputs, float_figures.Figures]:
    """A platform's figures of ``year − 1`` for the float of ``year``: premiums and months of
    contributions from the declarations and returns, claims, injuries and insured workers from
    oip.premiums.float_figures (the data, or an officer's override)."""
    prev = year - 1
    months = months_of_year(prev)
    decls = {
        d.month: d
        for d in session.scalars(
            select(Declaration).where(
                Declaration.platform_id == platform.id, Declaration.status.in_(SENT), Declaration.month <= f"{prev}-12"
            )
        )
    }
    paid: dict[str, int] = defaultdict(int)
    has_return: set[str] = set()
    for r in session.scalars(
        select(TaxReturn).where(TaxReturn.platform_id == platform.id, TaxReturn.month <= f"{prev}-12")
    ):
        paid[r.month] += r.paid_fen
        has_return.add(r.month)
    premiums_fen = sum(paid[m] if m in has_return else (decls[m].total_fen if m in decls else 0) for m in months)
    contributed = {m for m in decls} | {m for m in has_return if paid[m] > 0}
    fig = float_figures.figures(session, platform, prev)
    return (
        float_rules.Inputs(
            premiums_fen=premiums_fen,
            months_with_contributions=len(contributed),
            claims_fen=fig.claims_fen,
            injuries=fig.injuries,
            insured_avg=fig.insured_avg,
        ),
        fig,
    )


def propose_floats(session: Session, actor, year: Any) -> list[FloatProposal]:
    """Proposals of k for ``year`` for every admitted platform, under the rules in force on 1 January
    of ``year``. Decided proposals are left as they are; open ones are recomputed."""
    this_year = clock.today().year
    y = parse_year(year, lo=2026, hi=this_year + 1)
    if y <= this_year:
        raise DomainError(
            f"{y} 年的浮动档次自 {y} 年 1 月 1 日起已执行，不能再测算；只能测算 {this_year + 1} 年的档次", field="year"
        )
    parameters.ensure_defaults(session)
    version = parameters.get_version(session, "premium.float_rules", dt.date(y, 1, 1))
    rules = float_rules.parse_rules(version.value)
    plats = platforms.admitted_platforms(session)
    existing = {
        f.platform_id: f
        for f in session.scalars(select(FloatProposal).where(FloatProposal.year == y).with_for_update(of=FloatProposal))
    }
    now, out, counts = clock.now(), [], defaultdict(int)
    for p in plats:
        f = existing.get(p.id)
        if f is not None and f.status == "approved":
            out.append(f)
            continue
        x, fig = float_inputs(session, p, y)
        res = float_rules.propose(rules, x)
        inputs = {
            "year_of_figures": y - 1,
            "figures_source": fig.source,
            "figures_reason": fig.reason,
            "figures_detail": fig.detail,
            "premiums_fen": x.premiums_fen,
            "claims_fen": x.claims_fen,
            "injuries": x.injuries,
            "insured_avg": x.insured_avg,
            "months_with_contributions": x.months_with_contributions,
            "claims_ratio": str(res.ratio) if res.ratio is not None else None,
            "injury_rate": str(res.injury_rate) if res.injury_rate is not None else None,
            "ratio_k": res.ratio_k,
            "injury_k": res.injury_k,
        }
        if f is None:
            f = FloatProposal(platform_id=p.id, year=y)
            f.platform = p
            session.add(f)
        reasons = list(res.reasons)
        if fig.source == "override":
            reasons.append(f"{y - 1} 年赔付与伤害情况为人工录入：{fig.reason}")
        f.inputs, f.proposed_k, f.reasons, f.rule_version = inputs, res.k, reasons, version.version
        f.status, f.proposed_by, f.proposed_at = "proposed", actor.user_id, now
        f.decided_k, f.decided_by, f.decided_at, f.decision_reason = None, None, None, ""
        counts[res.k] += 1
        out.append(f)
    session.flush()
    audit.record(
        session,
        actor,
        "premium.float_propose",
        entity_type="float_year",
        entity_id=y,
        after={
            "rule_version": version.version,
            "platforms": len(out),
            "proposed_k": {f"{k:+d}": n for k, n in sorted(counts.items())},
        },
    )
    return out


def list_proposals(session: Session, actor, year: int) -> list[FloatProposal]:
    return list(
        session.scalars(
            select(FloatProposal)
            .join(Platform, Platform.id == FloatProposal.platform_id)
            .where(FloatProposal.year == year, platform_condition(actor))
            .order_by(Platform.code)
        )
    )


def _proposal(session: Session, actor, proposal_id: int) -> FloatProposal:
    f = session.scalar(
        select(FloatProposal)
        .join(Platform, Platform.id == FloatProposal.platform_id)
        .where(FloatProposal.id == proposal_id, platform_condition(actor))
        .with_for_update(of=FloatProposal)
    )
    if f is None:
        raise out_of_scope("浮动档次测算")
    if f.status != "proposed":
        raise Conflict(f"该测算已{'核定' if f.status == 'approved' else '退回'}，请重新测算后再办理", field="id")
    return f


def approve_float(session: Session, actor, proposal_id: int, k: Any = None, reason: Any = "") -> FloatProposal:
    """Approve a proposal: the platform's k for the proposal's year (from 1 January), decided before
    that day. Another k than proposed must stay inside the rules the proposal was made under (0
    under the minimum months of contributions; k_min…k_max) and needs a reason
    (float_rules.check_decision). This is the only way a platform's k is set."""
    f = _proposal(session, actor, proposal_id)
    reason = str(reason or "").strip()
    if k is None or (isinstance(k, str) and not k.strip()):
        k = f.proposed_k
    elif not isinstance(k, int) or isinstance(k, bool):
        try:
            k = int(str(k).strip())
        except ValueError:
            raise DomainError("浮动档次 k 应为 −5 到 +5 之间的整数", field="k") from None
    rules = float_rules.parse_rules(parameters.get_version(session, "premium.float_rules", dt.date(f.year, 1, 1)).value)
    float_rules.check_decision(
        rules,
        year=f.year,
        today_year=clock.today().year,
        months_with_contributions=int(f.inputs.get("months_with_contributions", 0)),
        proposed_k=f.proposed_k,
        k=k,
        reason=reason,
    )
    before = _set_k(session, actor, f.platform, f.year, k)
    f.status, f.decided_k, f.decided_by, f.decided_at, f.decision_reason = (
        "approved",
        k,
        actor.user_id,
        clock.now(),
        reason,
    )
    session.flush()
    audit.record(
        session,
        actor,
        "premium.float_approve",
        entity_type="platform",
        entity_id=f"{f.platform.code}/{f.year}",
        before=before,
        after={"year": f.year, "proposed_k": f.proposed_k, "k": k, "reason": reason, "rule_version": f.rule_version},
    )
    return f


def _set_k(session: Session, actor, platform: Platform, year: int, k: int) -> dict | None:
    """Write the platform's k for ``year`` (only from an approval, checked before); returns what
    was there before."""
    row = session.scalar(
        select(PlatformFloat)
        .where(PlatformFloat.platform_id == platform.id, PlatformFloat.year == year)
        .with_for_update()
    )
    before = {"year": year, "k": row.k} if row is not None else None
    if row is None:
        row = PlatformFloat(platform_id=platform.id, year=year, k=k)
        session.add(row)
    row.k, row.decided_by, row.decided_at = k, actor.user_id, clock.now()
    session.flush()
    session.expire(platform, ["floats"])
    return before


def reject_float(session: Session, actor, proposal_id: int, reason: Any) -> FloatProposal:
    f = _proposal(session, actor, proposal_id)
    reason = str(reason or "").strip()
    if not reason:
        raise DomainError("请填写退回理由", field="reason")
    f.status, f.decided_by, f.decided_at, f.decision_reason = "rejected", actor.user_id, clock.now(), reason
    session.flush()
    audit.record(
        session,
        actor,
        "premium.float_reject",
        entity_type="platform",
        entity_id=f"{f.platform.code}/{f.year}",
        after={"year": f.year, "proposed_k": f.proposed_k, "reason": reason},
    )
    return f
