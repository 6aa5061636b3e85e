"""Premiums (职业伤害保障费): the monthly declaration and its sending to the tax bureau. With
oip.premiums.reconciliation (returns, reconciliation, arrears) and oip.premiums.floats (the yearly
float) the only write path of the premiums tables; every write is audited in the caller's
transaction.

Monthly declaration (``declare``), for an order month M (domain.md §2): load, decide with the pure
oip.premiums.rules.plan_declaration, write and audit what changed.

- orders: the ledger's current orders of the platform taken in M whose status is billable (the
  parameter ``premium.billable_statuses`` in force on M's first day), counted by the shared ledger
  job ``billable_orders_sql`` on DuckDB (or Spark). A platform whose coverage starts inside M is
  billed from that day only.
- base: the platform's base amount in force on the first covered day of M. **A base changed in the
  middle of a month applies from the next month** — the month is billed at one rate, as it is
  declared at one rate; change base amounts on the 1st.
- k: the platform's float for M's year; amount = orders × base × (1 + 0.1·k), rounded half-up to the
  fen once, on the total (oip.premiums.calc).
- due date: the parameter ``premium.payment_due_day`` of M+1, moved to the next working day when it
  is a rest day (calc.due_date on the official calendar with the loaded years, oip.reference.calendar).
- every admitted platform covered in M gets a declaration, also with 0 orders.
- a draft is recomputed in place; nothing changes (and nothing is audited) when nothing changed.
  Once queued for the tax bureau it is frozen. If the ledger later holds more or fewer billable
  orders for a month already sent, the difference (at that month's rate and billable statuses) is
  carried into the platform's next declaration still in draft as an adjustment naming its origin.

Sending (``send``) stores one signed message per send in the outbox, commits, then delivers it
through the configured gateway (oip.exchange); declarations become ``sent`` only when the gateway
confirmed delivery, and ``acknowledged`` when a tax return for them has been imported.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from oip.core import audit, clock
from oip.core.errors import Conflict, DomainError, NotFound
from oip.core.months import first_day, month_bounds, next_month, parse_month
from oip.exchange import service as exchange, tax
from oip.orders import engines, ledger
from oip.orders.models import OrderBatch, OrderFile, OrderSupersession
from oip.platforms import phasing, service as platforms
from oip.platforms.models import Platform
from oip.platforms.scope import admitted
from oip.premiums import calc, rules
from oip.premiums.models import Declaration, DeclarationAdjustment
from oip.premiums.scope import SENT, declaration_condition
from oip.reference import calendar, parameters
from oip.reference.models import Industry

ENGINES = ("duckdb", "spark")
_LOCK_KEY = 0x0A0D19  # pg_advisory_xact_lock: one declaration run at a time

AUDIT_ACTION_NAMES = {
    "premium.declare": "核定月度保障费",
    "premium.queue": "提交推送税务",
    "premium.sent": "税务系统确认收到核定结果",
    "premium.withdraw": "撤回税务拒收的推送消息",
    "premium.returns_import": "导入税务回执",
    "premium.reconcile": "对账",
    "premium.flag_handle": "处理对账差异",
    "premium.experience_set": "人工录入年度赔付与伤害情况",
    "premium.experience_cleared": "撤销人工录入的年度赔付与伤害情况",
    "premium.float_propose": "测算年度费率浮动档次",
    "premium.float_approve": "核定年度费率浮动档次",
    "premium.float_reject": "退回浮动档次测算",
}
audit.register_actions(AUDIT_ACTION_NAMES)


# ---- ledger jobs (SQL that DuckDB and Spark both run) -----------------------------------------------


def open_engine(session: Session, name: str, part: ledger.Slice):
    if name == "duckdb":
        return engines.DuckDBEngine(session, part)
    if name == "spark":
        try:
            return engines.SparkEngine(session, part)
        except ImportError:
            raise DomainError("未安装 pyspark：pip install -e '.[spark]'", field="engine") from None
    raise DomainError(f"计算引擎应为 {' 或 '.join(ENGINES)}", field="engine")


@dataclass(frozen=True)
class _Count:
    """A billable count wanted: platform, month, billable statuses, first covered day."""

    code: str
    month: str
    statuses: tuple[str, ...]
    start: dt.date


def _run_counts(
    session: Session, engine_name: str, wanted: set[_Count], platform_codes: tuple[str, ...] | None
) -> tuple[dict[_Count, int], dict[tuple[str, str, tuple], int]]:
    """Billable orders for every wanted count, plus every platform's count per (month, statuses)
    (to warn about orders of platforms without a declaration). One engine, one query per distinct
    (month, statuses), plus one per platform whose coverage starts inside the month."""
    if not wanted:
        return {}, {}
    months = tuple(sorted({w.month for w in wanted}))
    eng = open_engine(session, engine_name, ledger.Slice(months=months, platforms=platform_codes))
    try:
        by_group: dict[tuple[str, str, tuple], int] = {}
        for month, statuses in sorted({(w.month, w.statuses) for w in wanted}):
            for code, n in eng.query(engines.billable_orders_sql(month, statuses)):
                by_group[(code, month, statuses)] = int(n)
        out = {}
        for w in wanted:
            n = by_group.get((w.code, w.month, w.statuses), 0)
            if n and w.start > month_bounds(w.month)[0]:
                before = eng.query(engines.billable_before_sql(w.month, w.statuses, w.code, w.start))
                n -= int(before[0][1]) if before else 0
            out[w] = n
        return out, by_group
    finally:
        eng.close()


def ledger_marks(session: Session, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """What the ledger holds for (platform code, month): number and last id of published files and
    number of superseded versions. Files are only ever added when a batch is published, so an
    unchanged mark means unchanged orders (and an unchanged count)."""
    pairs = set(pairs)
    if not pairs:
        return {}
    codes, months = {c for c, _ in pairs}, {m for _, m in pairs}
    marks = {p: {"files": 0, "last_file": 0, "superseded": 0} for p in pairs}
    for code, month, n, last in session.execute(
        select(OrderFile.platform_code, OrderFile.month, func.count(), func.max(OrderFile.id))
        .join(OrderBatch, OrderBatch.id == OrderFile.batch_id)
        .where(OrderBatch.status == "published", OrderFile.platform_code.in_(codes), OrderFile.month.in_(months))
        .group_by(OrderFile.platform_code, OrderFile.month)
    ):
        if (code, month) in marks:
            marks[(code, month)].update(files=int(n), last_file=int(last))
    for code, month, n in session.execute(
        select(OrderSupersession.platform_code, OrderSupersession.month, func.count())
        .where(OrderSupersession.platform_code.in_(codes), OrderSupersession.month.in_(months))
        .group_by(OrderSupersession.platform_code, OrderSupersession.month)
    ):
        if (code, month) in marks:
            marks[(code, month)]["superseded"] = int(n)
    return marks


# ---- which platforms, which month ------------------------------------------------------------------


def _industries(session: Session) -> dict[str, Industry]:
    return {i.code: i for i in session.scalars(select(Industry))}


def covered_platforms(
    session: Session, month: str, codes: Sequence[str] | None = None
) -> list[tuple[Platform, dt.date]]:
    """Admitted platforms covered on at least one day of ``month``, with their first covered day in it."""
    first, last = month_bounds(month)
    inds = _industries(session)
    q = select(Platform).where(admitted()).order_by(Platform.code)
    wanted = None
    if codes is not None:
        wanted = sorted({c.strip() for c in codes if c and c.strip()})
        known = set(session.scalars(select(Platform.code).where(Platform.code.in_(wanted))))
        unknown = [c for c in wanted if c not in known]
        if unknown:
            raise NotFound(f"平台企业 {'、'.join(unknown)} 不存在", field="platforms")
        q = q.where(Platform.code.in_(wanted))
    out = []
    for p in session.scalars(q):
        ind = inds[p.industry_code]
        start = phasing.coverage_start(p, ind)
        if start is None or start > last or (ind.covered_to is not None and ind.covered_to < first):
            continue
        out.append((p, max(start, first)))
    if wanted is not None:
        missing = sorted(set(wanted) - {p.code for p, _ in out})
        if missing:
            raise DomainError(
                f"平台企业 {'、'.join(missing)} 在 {month} 未纳入保障（未纳入试点或保障尚未开始）", field="platforms"
            )
    return out


def _check_month(month: Any) -> str:
    month = parse_month(month)
    first, _ = month_bounds(month)
    if first > clock.today():
        raise DomainError(f"订单月份 {month} 尚未开始，不能核定", field="month")
    if first < parameters.PILOT_START:
        raise DomainError(f"广西试点自 {parameters.PILOT_START:%Y-%m} 起，{month} 没有保障费可核定", field="month")
    return month


def _lock_declarations(session: Session) -> None:
    """One declaration run at a time, whatever the month: two months computed at once could both
    carry the same late orders of an earlier month. Runs are rare and short; waiting is cheap."""
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


# ---- the monthly declaration -----------------------------------------------------------------------


@dataclass
class DeclareResult:
    month: str
    declarations: list[Declaration]
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    frozen: int = 0
    warnings: list[str] = field(default_factory=list)
    engine: str = "duckdb"
    seconds: float = 0.0

    def rows(self) -> list[dict]:
        """What ``oip premiums declare`` prints: one object per platform."""
        return [
            {
                "platform_code": d.platform.code,
                "orders": d.orders,
                "base_yuan": platforms.yuan_str(d.base_yuan),
                "k": d.k,
                "rate_yuan": calc.rate_str(d.rate_yuan),
                "amount_fen": d.amount_fen,
            }
            for d in self.declarations
        ]


def _snapshot(d: Declaration) -> dict:
    return {
        "orders": d.orders,
        "base_yuan": d.base_yuan,
        "k": d.k,
        "rate_yuan": d.rate_yuan,
        "amount_fen": d.amount_fen,
        "adjustment_orders": d.adjustment_orders,
        "adjustment_fen": d.adjustment_fen,
        "total_fen": d.total_fen,
        "covered_from": d.covered_from,
        "billable_statuses": list(d.billable_statuses),
        "due_date": d.due_date,
        "adjustments": [
            {"origin_month": a.origin_month, "orders": a.orders, "amount_fen": a.amount_fen}
            for a in sorted(d.adjustments, key=lambda a: a.origin_month)
        ],
    }


def declare(
    session: Session, actor, month: Any, engine: str = "duckdb", platforms_: Sequence[str] | None = None
) -> DeclareResult:
    """Compute (or recompute) the declarations of ``month``; idempotent. See the module docstring."""
    t0 = time.perf_counter()
    month = _check_month(month)
    if engine not in ENGINES:
        raise DomainError(f"计算引擎应为 {' 或 '.join(ENGINES)}", field="engine")
    parameters.ensure_defaults(session)
    _lock_declarations(session)
    first, _ = month_bounds(month)
    statuses = tuple(parameters.get(session, "premium.billable_statuses", first))
    due_day = parameters.get(session, "premium.payment_due_day", first_day(next_month(month)))
    due = calc.due_date(month, due_day, calendar.current(session))
    covered = covered_platforms(session, month, platforms_)
    result = DeclareResult(month, [], engine=engine)
    if not covered:
        return result
    ids = [p.id for p, _ in covered]
    existing = {
        d.platform_id: d
        for d in session.scalars(
            select(Declaration)
            .where(Declaration.month == month, Declaration.platform_id.in_(ids))
            .with_for_update(of=Declaration)
        )
    }
    open_ = [(p, start) for p, start in covered if existing.get(p.id) is None or existing[p.id].status == "draft"]
    open_ids = [p.id for p, _ in open_]
    origins: dict[int, list[Declaration]] = defaultdict(list)
    for o in (
        session.scalars(
            select(Declaration)
            .where(Declaration.platform_id.in_(open_ids), Declaration.month < month, Declaration.status.in_(SENT))
            .order_by(Declaration.month)
        )
        if open_ids
        else ()
    ):
        origins[o.platform_id].append(o)
    origin_ids = [o.id for os_ in origins.values() for o in os_]
    adj_by_origin: dict[int, list[DeclarationAdjustment]] = defaultdict(list)
    if origin_ids:
        for a in session.scalars(
            select(DeclarationAdjustment)
            .where(DeclarationAdjustment.origin_id.in_(origin_ids))
            .order_by(DeclarationAdjustment.id)
        ):
            adj_by_origin[a.origin_id].append(a)

    # What has to be counted: this month for every open platform; an earlier, sent month only when
    # the ledger changed for it since it was last counted.
    code_of = {p.id: p.code for p, _ in covered}
    marks = ledger_marks(
        session,
        [(p.code, month) for p, _ in open_]
        + [(code_of[o.platform_id], o.month) for os_ in origins.values() for o in os_],
    )
    wanted: set[_Count] = {_Count(p.code, month, statuses, start) for p, start in open_}
    recount: dict[int, _Count] = {}
    for os_ in origins.values():
        for o in os_:
            last = max([o, *adj_by_origin[o.id]], key=lambda r: (r is not o, r.id))
            if (last.ledger_mark or {}) != marks[(code_of[o.platform_id], o.month)]:
                c = _Count(code_of[o.platform_id], o.month, tuple(o.billable_statuses), o.covered_from)
                wanted.add(c)
                recount[o.id] = c
    codes = tuple(sorted({w.code for w in wanted})) if platforms_ is not None else None
    counts, by_group = _run_counts(session, engine, wanted, codes)

    now = clock.now()
    for p, start in covered:
        d = existing.get(p.id)
        if d is not None and d.status != "draft":
            result.frozen += 1
            result.declarations.append(d)
            continue
        base = p.base_on(start)
        if base is None:
            problem = f"平台企业 {p.display_name(start)}（{p.code}）在 {start} 没有有效的缴费基准额，未核定；请先在平台企业名录中补充"
            if platforms_ is not None:
                raise DomainError(problem, field="platforms")
            result.warnings.append(problem)
            continue
        origins_in = []
        for o in origins[p.id]:
            mine = [a for a in adj_by_origin[o.id] if d is not None and a.declaration_id == d.id]
            others = [a for a in adj_by_origin[o.id] if d is None or a.declaration_id != d.id]
            origins_in.append(
                rules.Origin(
                    o.id,
                    o.month,
                    o.orders,
                    o.amount_fen,
                    o.base_yuan,
                    o.k,
                    o.rate_yuan,
                    earlier=tuple((a.orders, a.amount_fen) for a in others),
                    mine_orders=sum(a.orders for a in mine),
                    recounted=counts[recount[o.id]] if o.id in recount else None,
                )
            )
        plan = rules.plan_declaration(
            orders=counts[_Count(p.code, month, statuses, start)],
            base_yuan=base,
            k=p.k_for(first.year),
            covered_from=start,
            statuses=statuses,
            due_date=due,
            origins=origins_in,
        )
        values, mark = plan.values, marks[(p.code, month)]
        adjustments = [
            DeclarationAdjustment(
                origin_id=a.origin_id,
                origin_month=a.origin_month,
                orders=a.orders,
                rate_yuan=a.rate_yuan,
                amount_fen=a.amount_fen,
                ledger_mark=marks[(p.code, a.origin_month)],
            )
            for a in plan.adjustments
        ]
        if d is not None and rules.same(_snapshot(d), values):
            if d.ledger_mark != mark:
                d.ledger_mark = mark  # same figures from a grown ledger (e.g. a cancelled order): no event
            for a in d.adjustments:
                a.ledger_mark = marks.get((p.code, a.origin_month), a.ledger_mark)
            result.unchanged += 1
            result.declarations.append(d)
            continue
        before = _snapshot(d) if d is not None else None
        if d is None:
            d = Declaration(platform_id=p.id, month=month, status="draft")
            d.platform = p
            session.add(d)
            result.created += 1
        else:
            result.changed += 1
        for key in (
            "orders",
            "base_yuan",
            "k",
            "rate_yuan",
            "amount_fen",
            "adjustment_orders",
            "adjustment_fen",
            "total_fen",
            "covered_from",
            "billable_statuses",
            "due_date",
        ):
            setattr(d, key, values[key])
        kept = {a.origin_id: a for a in d.adjustments}
        merged = []
        for a in adjustments:  # update in place: (declaration, origin) is unique
            k = kept.pop(a.origin_id, None)
            if k is not None:
                k.orders, k.rate_yuan, k.amount_fen, k.ledger_mark = a.orders, a.rate_yuan, a.amount_fen, a.ledger_mark
                a = k
            merged.append(a)
        d.adjustments = merged
        d.engine, d.computed_at, d.computed_by, d.ledger_mark = engine, now, getattr(actor, "user_id", None), mark
        session.flush()
        b, a = audit.diff(before, values) if before else (None, values)
        audit.record(
            session,
            actor,
            "premium.declare",
            entity_type="premium_declaration",
            entity_id=f"{p.code}/{month}",
            before=b,
            after={**a, "engine": engine},
        )
        result.declarations.append(d)

    result.warnings += rules.stray_warnings(by_group, month, statuses, {p.code for p, _ in covered})
    result.declarations.sort(key=lambda d: d.platform.code)
    result.seconds = time.perf_counter() - t0
    return result


# ---- sending to the tax bureau -----------------------------------------------------------------------


def _record(d: Declaration) -> tax.DeclarationRecord:
    p = d.platform
    if not p.uscc:
        raise DomainError(
            f"平台企业 {p.display_name(d.covered_from)}（{p.code}）未登记统一社会信用代码，不能推送税务",
            field="platforms",
        )
    return tax.DeclarationRecord(
        platform_code=p.code,
        uscc=p.uscc,
        platform_name=p.display_name(d.covered_from),
        month=d.month,
        orders=d.orders,
        base_yuan=platforms.yuan_str(d.base_yuan),
        k=d.k,
        rate_yuan=calc.rate_str(d.rate_yuan),
        amount_fen=d.amount_fen,
        adjustment_orders=d.adjustment_orders,
        adjustment_fen=d.adjustment_fen,
        total_fen=d.total_fen,
        due_date=d.due_date.isoformat(),
        adjustments=tuple(
            {
                "origin_month": a.origin_month,
                "orders": a.orders,
                "rate_yuan": calc.rate_str(a.rate_yuan),
                "amount_fen": a.amount_fen,
            }
            for a in d.adjustments
        ),
    )


def _next_message_id(session: Session, month: str) -> str:
    prefix = f"DECL-{month.replace('-', '')}-"
    used = session.scalar(
        select(func.count()).select_from(exchange.OutboxItem).where(exchange.OutboxItem.message_id.startswith(prefix))
    )
    return f"{prefix}{used + 1:03d}"


def queue(session: Session, actor, month: str, drafts: list[Declaration]) -> exchange.OutboxItem:
    """Put the drafts into one signed message in the outbox and freeze them (status queued)."""
    message_id = _next_message_id(session, month)
    records = [_record(d) for d in sorted(drafts, key=lambda d: d.platform.code)]
    message = tax.declarations_message(message_id, month, records, clock.now())
    try:
        with session.begin_nested():
            item = exchange.enqueue(session, "tax", "declarations", message)
    except IntegrityError:
        raise Conflict("另一位经办人员正在推送同一月份，请稍后刷新查看", field="month") from None
    for d in drafts:
        d.status, d.message_id = "queued", message_id
    session.flush()
    audit.record(
        session,
        actor,
        "premium.queue",
        entity_type="exchange_message",
        entity_id=message_id,
        after={
            "month": month,
            "platforms": [r.platform_code for r in records],
            "total_fen": sum(r.total_fen for r in records),
            "sha256": item.sha256,
        },
    )
    return item


def deliver_pending(session: Session, actor, gateway: tax.TaxGateway | None = None) -> list[exchange.Delivery]:
    """Hand every undelivered declarations message to the gateway (oldest first). A confirmed
    delivery marks its declarations sent; a failure leaves them queued for the next attempt.
    Each outcome is committed at once, so that a crash later cannot forget a delivery that the
    tax bureau has already confirmed."""
    if not exchange.undelivered(session, "tax", "declarations"):
        return []
    gw = gateway or tax.gateway_from_settings()
    out: list[exchange.Delivery] = []
    tried: set[int] = set()
    try:
        while (item := exchange.next_undelivered(session, "tax", "declarations", tried)) is not None:
            tried.add(item.id)
            res = exchange.deliver(session, item, gw)
            out.append(res)
            if res.ok:
                decls = list(session.scalars(select(Declaration).where(Declaration.message_id == item.message_id)))
                for d in decls:
                    if d.status == "queued":
                        d.status, d.sent_at = "sent", res.receipt.at
                session.flush()
                audit.record(
                    session,
                    actor,
                    "premium.sent",
                    entity_type="exchange_message",
                    entity_id=item.message_id,
                    after={
                        "platforms": sorted(d.platform.code for d in decls),
                        "location": res.receipt.location,
                        "reference": res.receipt.reference,
                        "attempts": item.attempts,
                    },
                )
            session.commit()
    finally:
        if gateway is None and hasattr(gw, "close"):
            gw.close()
    return out


def withdraw(session: Session, actor, message_id: str, reason: Any) -> exchange.OutboxItem:
    """Take back a message the tax bureau refused (a failed outbox item, never delivered): its
    declarations return to draft, so that they are recomputed and go out in a new message.
    Only after confirming with the tax bureau that the message was not received — the new message
    has another id, so the receiver could not tell a repeat."""
    reason = str(reason or "").strip()
    if not reason:
        raise DomainError("请填写撤回理由（如税务部门拒收的原因和核实情况）", field="reason")
    item = session.scalar(
        select(exchange.OutboxItem).where(exchange.OutboxItem.message_id == message_id).with_for_update()
    )
    if item is None:
        raise NotFound(f"发件箱中没有消息 {message_id}", field="message_id")
    if item.status != "failed":
        raise Conflict(
            f"消息 {message_id} 的状态为“{exchange.OUTBOX_STATUSES.get(item.status, item.status)}”，"
            f"只能撤回发送失败的消息",
            field="message_id",
        )
    decls = list(
        session.scalars(select(Declaration).where(Declaration.message_id == message_id).with_for_update(of=Declaration))
    )
    for d in decls:
        d.status, d.message_id = "draft", None
    item.status = "withdrawn"
    session.flush()
    audit.record(
        session,
        actor,
        "premium.withdraw",
        entity_type="exchange_message",
        entity_id=message_id,
        after={"platforms": sorted(d.platform.code for d in decls), "reason": reason, "last_error": item.last_error},
    )
    return item


@dataclass
class SendResult:
    month: str
    message_id: str | None
    queued: list[str]
    deliveries: list[exchange.Delivery]
    declare: DeclareResult

    def as_dict(self) -> dict:
        return {
            "month": self.month,
            "message_id": self.message_id,
            "queued_platforms": self.queued,
            "deliveries": [
                {
                    "message_id": d.item.message_id,
                    "status": d.item.status,
                    "attempts": d.item.attempts,
                    "location": d.receipt.location if d.receipt else None,
                    "error": d.error,
                }
                for d in self.deliveries
            ],
            "warnings": self.declare.warnings,
        }


def send(
    session: Session,
    actor,
    month: Any,
    *,
    platforms_: Sequence[str] | None = None,
    engine: str = "duckdb",
    gateway: tax.TaxGateway | None = None,
) -> SendResult:
    """Recompute the month's drafts, queue them in one message, **commit**, and deliver everything
    undelivered (this message and any earlier one that failed). The commit before delivery is the
    outbox pattern: a message is never delivered without being on record."""
    month = parse_month(month)
    next_first = first_day(next_month(month))
    if next_first > clock.today():
        raise DomainError(f"订单月份 {month} 尚未结束，{next_first} 起方可推送税务", field="month")
    res = declare(session, actor, month, engine=engine, platforms_=platforms_)
    drafts = [d for d in res.declarations if d.status == "draft"]
    item = queue(session, actor, month, drafts) if drafts else None
    session.commit()
    deliveries = deliver_pending(session, actor, gateway)
    return SendResult(
        month, item.message_id if item else None, sorted(d.platform.code for d in drafts), deliveries, res
    )


# ---- reads -------------------------------------------------------------------------------------------


def list_declarations(
    session: Session, actor, month: str | None = None, platform_code: str | None = None
) -> list[Declaration]:
    """Declarations in the caller's scope (``scope.declaration_condition``). A platform and the tax
    bureau see them once they were pushed to the tax bureau (drafts are the agency's work in progress)."""
    q = select(Declaration).join(Platform, Platform.id == Declaration.platform_id).where(declaration_condition(actor))
    if month:
        q = q.where(Declaration.month == parse_month(month))
    if platform_code:
        q = q.where(Platform.code == platform_code)
    return list(session.scalars(q.order_by(Declaration.month.desc(), Platform.code)))
