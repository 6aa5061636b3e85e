"""The tax bureau's returns, reconciliation and arrears (对账与欠费).

- ``import_messages`` / ``fetch_returns`` / ``upload_returns``: the tax bureau's returns (declared
  and paid amounts with dates), verified, de-duplicated and imported all or nothing per message
  (docs/interfaces/tax-v1.md §3); the platforms and months they touch are reconciled at once.
- ``reconcile``: per platform and order month, orders in the ledger (all statuses, billable now)
  against orders declared, the amount due against what was declared and paid at the tax bureau,
  payment dates against the due date. Differences become flags (FLAG_NAMES) that officers work on
  the worklist (``list_flags``, ``handle_flag``) and platforms see in their portal (``statement``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.auth.scope import out_of_scope
from oip.core import audit, clock, events
from oip.core.errors import Conflict, DomainError
from oip.core.months import first_day, month_bounds, next_month, parse_month
from oip.exchange import service as exchange, tax
from oip.orders import engines, ledger
from oip.orders.engines import billable_before_sql, reported_orders_sql
from oip.platforms.models import Platform
from oip.platforms.scope import platform_condition
from oip.premiums import calc, rules
from oip.premiums.models import (
    FLAG_NAMES,
    Declaration,
    DeclarationAdjustment,
    Reconciliation,
    ReconciliationFlag,
    TaxReturn,
)
from oip.premiums.service import SENT, open_engine
from oip.reference import calendar, parameters
from oip.reference.service import PROVINCE_CODE

# ---- the tax bureau's returns ------------------------------------------------------------------------


def _received(session: Session, t: TaxReturn) -> None:
    """The premium the tax bureau collected reaches the fund (oip.fund posts it from this event)."""
    if t.paid_fen <= 0:
        return
    events.emit(
        session,
        "premium.received",
        source_type="tax_return",
        source_id=t.id,
        occurred_on=t.paid_on or clock.today(),
        region_code=PROVINCE_CODE,
        amount_fen=t.paid_fen,
        payload={"platform_id": t.platform_id, "month": t.month, "tax_reference": t.tax_reference},
    )


def _import_handler(session: Session, actor, msg: tax.InboundMessage, touched: set[tuple[int, str]]):
    def handle(log_row) -> dict:
        try:
            parsed = tax.parse_returns(msg.body, msg.fmt)
        except tax.ReturnsFormatError as e:
            raise exchange.Refused(str(e)) from None
        errors = list(parsed.errors)
        by_uscc = {
            p.uscc: p
            for p in session.scalars(
                select(Platform).where(Platform.uscc.in_({r.uscc for r in parsed.records if r.uscc}))
            )
        }
        by_code = {
            p.code: p
            for p in session.scalars(
                select(Platform).where(Platform.code.in_({r.platform_code for r in parsed.records if r.platform_code}))
            )
        }
        refs = {r.tax_reference for r in parsed.records if r.tax_reference}
        known = {
            t.tax_reference: t for t in session.scalars(select(TaxReturn).where(TaxReturn.tax_reference.in_(refs)))
        }
        seen: set[str] = set()
        rows, duplicates = [], 0
        for r in parsed.records:
            where = f"第 {r.line} 条记录"
            plat = by_uscc.get(r.uscc) if r.uscc else None
            if r.uscc and plat is None:
                errors.append(f"{where}：统一社会信用代码 {r.uscc} 不是已登记的平台企业")
                continue
            if r.platform_code:
                other = by_code.get(r.platform_code)
                if other is None:
                    errors.append(f"{where}：平台企业编码 {r.platform_code} 不存在")
                    continue
                if plat is not None and other.id != plat.id:
                    errors.append(f"{where}：统一社会信用代码 {r.uscc} 与平台企业编码 {r.platform_code} 不是同一企业")
                    continue
                plat = other
            if plat is None:
                continue
            if r.tax_reference in seen:
                errors.append(f"{where}：税务凭证号 {r.tax_reference} 在文件中重复")
                continue
            seen.add(r.tax_reference)
            prior = known.get(r.tax_reference)
            if prior is not None:
                same = (
                    prior.platform_id,
                    prior.month,
                    prior.declared_fen,
                    prior.paid_fen,
                    prior.declared_on,
                    prior.paid_on,
                ) == (plat.id, r.month, r.declared_fen, r.paid_fen, r.declared_on, r.paid_on)
                if not same:
                    errors.append(
                        f"{where}：税务凭证号 {r.tax_reference} 已于 {clock.fmt(prior.imported_at)} 导入，"
                        f"内容与本次不同"
                    )
                else:
                    duplicates += 1
                continue
            rows.append((plat, r))
        if errors:
            more = f"（另有 {len(errors) - 20} 处问题）" if len(errors) > 20 else ""
            raise exchange.Refused("；".join(errors[:20]) + more)
        now = clock.now()
        added: list[TaxReturn] = []
        for plat, r in rows:
            added.append(
                TaxReturn(
                    platform_id=plat.id,
                    month=r.month,
                    declared_fen=r.declared_fen,
                    paid_fen=r.paid_fen,
                    declared_on=r.declared_on,
                    paid_on=r.paid_on,
                    tax_reference=r.tax_reference,
                    exchange_message_id=log_row.id,
                    imported_at=now,
                )
            )
            touched.add((plat.id, r.month))
        session.add_all(added)
        session.flush()
        for t in added:
            _received(session, t)
        for d in session.scalars(
            select(Declaration).where(
                Declaration.status == "sent", Declaration.platform_id.in_({p.id for p, _ in rows} or {-1})
            )
        ):
            if (d.platform_id, d.month) in touched:
                d.status, d.acknowledged_at = "acknowledged", now
        audit.record(
            session,
            actor,
            "premium.returns_import",
            entity_type="exchange_message",
            entity_id=log_row.id,
            after={
                "file": msg.name,
                "message_id": parsed.message_id,
                "records": len(rows),
                "duplicates": duplicates,
                "sha256": tax.sha256(msg.body),
            },
        )
        return {"records": len(rows), "duplicates": duplicates, "message_id": parsed.message_id}

    return handle


@dataclass
class ImportReport:
    received: list[exchange.Received]
    reconciled: list[str]
    gateway: tax.TaxGateway | None = None

    def settle(self) -> None:
        """File away what was read (after the caller committed the import)."""
        if self.gateway is None:
            return
        for r in self.received:
            self.gateway.settle(r.message, r.status != "rejected", r.reason)

    def as_dict(self) -> dict:
        return {
            "messages": [
                {
                    "name": r.message.name,
                    "status": r.status,
                    "records": r.records,
                    "reason": r.reason,
                    "log_id": r.log_id,
                }
                for r in self.received
            ],
            "reconciled_months": self.reconciled,
        }


def import_messages(
    session: Session,
    actor,
    messages: list[tax.InboundMessage],
    *,
    engine: str = "duckdb",
    gateway: tax.TaxGateway | None = None,
) -> ImportReport:
    """Import returns messages (verified, de-duplicated, each all or nothing), then reconcile the
    platforms and months they touched."""
    parameters.ensure_defaults(session)
    require = parameters.get(session, "exchange.tax.signing", clock.today())["require_signed_returns"]
    touched: set[tuple[int, str]] = set()
    received = [
        exchange.receive(
            session, "tax", "returns", m, require_signature=require, handler=_import_handler(session, actor, m, touched)
        )
        for m in messages
    ]
    months: dict[str, set[int]] = defaultdict(set)
    for pid, month in touched:
        months[month].add(pid)
    for month, pids in sorted(months.items()):
        codes = list(session.scalars(select(Platform.code).where(Platform.id.in_(pids))))
        reconcile(session, actor, month, platforms_=codes, engine=engine)
    return ImportReport(received, sorted(months), gateway)


def fetch_returns(session: Session, actor, gateway: tax.TaxGateway | None = None) -> ImportReport:
    """Import what the gateway has for us (the inbox directory, or the HTTP service since the last
    cursor). Call ``report.settle()`` after committing."""
    gw = gateway or tax.gateway_from_settings()
    since = exchange.last_cursor(session, "tax", "returns")
    try:
        msgs = gw.fetch_returns(since)
    except tax.DeliveryFailed as e:
        raise DomainError(e.reason, field="gateway") from None
    msgs = [m for m in msgs if not (gw.name == "http" and _empty(m))]
    return import_messages(session, actor, msgs, gateway=gw)


def _empty(m: tax.InboundMessage) -> bool:
    try:
        return not tax.parse_returns(m.body, m.fmt).records
    except tax.ReturnsFormatError:
        return False


def upload_returns(session: Session, actor, filename: str, body: bytes, signature: str | None) -> ImportReport:
    """A returns file an officer received by other means (same format, same checks)."""
    name = (filename or "").strip() or "upload"
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in ("json", "csv"):
        raise DomainError("回执文件应为 .json 或 .csv", field="file")
    if not body:
        raise DomainError("回执文件为空", field="file")
    sig = (signature or "").strip() or None
    return import_messages(session, actor, [tax.InboundMessage(f"upload:{name}", body, sig, suffix)])


# ---- reconciliation ----------------------------------------------------------------------------------


def reconcile(
    session: Session, actor, month: Any, *, platforms_: Sequence[str] | None = None, engine: str = "duckdb"
) -> list[Reconciliation]:
    """Reconcile ``month`` for every platform with a sent declaration or a tax return: orders in the
    ledger against orders declared, the amount due against what was declared and paid at the tax
    bureau. Stores the figures and opens, updates or resolves the flags (FLAG_NAMES)."""
    month = parse_month(month)
    parameters.ensure_defaults(session)
    q_decl = select(Declaration).where(Declaration.month == month, Declaration.status.in_(SENT))
    q_ret = select(TaxReturn).where(TaxReturn.month == month)
    if platforms_ is not None:
        pids = list(session.scalars(select(Platform.id).where(Platform.code.in_(list(platforms_)))))
        q_decl, q_ret = q_decl.where(Declaration.platform_id.in_(pids)), q_ret.where(TaxReturn.platform_id.in_(pids))
    decls = {d.platform_id: d for d in session.scalars(q_decl)}
    returns: dict[int, list[TaxReturn]] = defaultdict(list)
    for r in session.scalars(q_ret.order_by(TaxReturn.id)):
        returns[r.platform_id].append(r)
    pids = sorted(set(decls) | set(returns))
    if not pids:
        return []
    plats = {p.id: p for p in session.scalars(select(Platform).where(Platform.id.in_(pids)))}
    first, _ = month_bounds(month)
    statuses_now = tuple(parameters.get(session, "premium.billable_statuses", first))
    due_day = parameters.get(session, "premium.payment_due_day", first_day(next_month(month)))

    # Ledger: all orders and billable ones (under the statuses each declaration was made with).
    codes = tuple(sorted(plats[i].code for i in pids))
    eng = open_engine(session, engine, ledger.Slice(months=(month,), platforms=codes))
    try:
        reported = {c: int(n) for c, n in eng.query(reported_orders_sql(month))}
        billable: dict[tuple[str, tuple], int] = {}
        groups = {tuple(d.billable_statuses) for d in decls.values()} | {statuses_now}
        for st in groups:
            for c, n in eng.query(engines.billable_orders_sql(month, st)):
                billable[(c, st)] = int(n)
        for d in decls.values():  # coverage that began inside the month
            st = tuple(d.billable_statuses)
            if d.covered_from > first and billable.get((d.platform.code, st)):
                before = eng.query(billable_before_sql(month, st, d.platform.code, d.covered_from))
                billable[(d.platform.code, st)] -= int(before[0][1]) if before else 0
    finally:
        eng.close()

    adjustments = defaultdict(int)
    pending: dict[int, str] = {}
    if decls:
        for a, carrier in session.execute(
            select(DeclarationAdjustment, Declaration)
            .join(Declaration, Declaration.id == DeclarationAdjustment.declaration_id)
            .where(DeclarationAdjustment.origin_id.in_([d.id for d in decls.values()]))
        ):
            if carrier.status in SENT:
                adjustments[a.origin_id] += a.orders
            else:
                pending[a.origin_id] = carrier.month
    existing = {
        r.platform_id: r
        for r in session.scalars(
            select(Reconciliation)
            .where(Reconciliation.month == month, Reconciliation.platform_id.in_(pids))
            .with_for_update(of=Reconciliation)
        )
    }
    flags = {
        (f.platform_id, f.kind): f
        for f in session.scalars(
            select(ReconciliationFlag)
            .where(ReconciliationFlag.month == month, ReconciliationFlag.platform_id.in_(pids))
            .with_for_update(of=ReconciliationFlag)
        )
    }
    now, today = clock.now(), clock.today()
    cal = calendar.current(session) if len(decls) < len(pids) else None
    out, summary = [], defaultdict(int)
    for pid in pids:
        p, d, rets = plats[pid], decls.get(pid), returns.get(pid, [])
        st = tuple(d.billable_statuses) if d else statuses_now
        n_billable = billable.get((p.code, st), 0)
        declared_orders = d.orders + adjustments[d.id] if d else 0
        due = d.total_fen if d else 0
        due_date = d.due_date if d else calc.due_date(month, due_day, cal)
        found = rules.findings(
            due=due,
            due_date=due_date,
            declared_orders=declared_orders if d else None,
            billable=n_billable if d else None,
            returns=rets,
            today=today,
            pending_adjustment=pending.get(d.id) if d else None,
        )
        fig = rules.figures(
            reported=reported.get(p.code, 0),
            billable=n_billable,
            declared_orders=declared_orders,
            due=due,
            due_date=due_date,
            returns=rets,
        )
        rec = existing.get(pid) or Reconciliation(platform_id=pid, month=month)
        rec.platform = p
        for key, value in vars(fig).items():
            setattr(rec, key, value)
        rec.reconciled_at = now
        session.add(rec)
        out.append(rec)
        for kind in FLAG_NAMES:
            f, hit = flags.get((pid, kind)), found.get(kind)
            step = rules.flag_transition(f.status if f is not None else None, hit is not None)
            if hit is not None:
                summary[kind] += 1
            if step == "open":
                f = ReconciliationFlag(platform_id=pid, month=month, kind=kind, status="open", opened_at=now, note="")
                session.add(f)
            elif step == "reopen":
                f.status, f.resolved_at, f.opened_at = "open", None, now
            elif step == "resolve":
                f.status, f.resolved_at, f.updated_at = "resolved", now, now
            if hit is not None:
                f.detail, f.amount_fen, f.updated_at = hit.detail, hit.amount_fen, now
    session.flush()
    audit.record(
        session,
        actor,
        "premium.reconcile",
        entity_type="premium_month",
        entity_id=month,
        after={"platforms": [plats[i].code for i in pids], "engine": engine, "flags": dict(summary)},
    )
    return out


def list_flags(
    session: Session,
    actor,
    *,
    month: str | None = None,
    platform_code: str | None = None,
    kind: str | None = None,
    status: str | None = "unresolved",
    limit: int = 500,
) -> list[ReconciliationFlag]:
    """The worklist (in the caller's scope: a platform sees only its own)."""
    q = (
        select(ReconciliationFlag)
        .join(Platform, Platform.id == ReconciliationFlag.platform_id)
        .where(platform_condition(actor))
    )
    if month:
        q = q.where(ReconciliationFlag.month == parse_month(month))
    if platform_code:
        q = q.where(Platform.code == platform_code)
    if kind:
        if kind not in FLAG_NAMES:
            raise DomainError(f"差异类型应为 {', '.join(FLAG_NAMES)} 之一", field="flag")
        q = q.where(ReconciliationFlag.kind == kind)
    if status == "unresolved":
        q = q.where(ReconciliationFlag.status != "resolved")
    elif status:
        if status not in ("open", "handled", "resolved"):
            raise DomainError("处理状态应为 open、handled、resolved 或 unresolved", field="status")
        q = q.where(ReconciliationFlag.status == status)
    return list(
        session.scalars(
            q.order_by(ReconciliationFlag.month.desc(), Platform.code, ReconciliationFlag.kind).limit(limit)
        )
    )


def handle_flag(session: Session, actor, flag_id: int, note: Any) -> ReconciliationFlag:
    note = str(note or "").strip()
    if not note:
        raise DomainError("请填写处理情况（如已电话催缴、已核实为迟报订单）", field="note")
    if len(note) > 1000:
        raise DomainError("处理情况不能超过 1000 个字符", field="note")
    f = session.scalar(
        select(ReconciliationFlag)
        .join(Platform, Platform.id == ReconciliationFlag.platform_id)
        .where(ReconciliationFlag.id == flag_id, platform_condition(actor))
        .with_for_update(of=ReconciliationFlag)
    )
    if f is None:
        raise out_of_scope("对账差异")
    if f.status == "resolved":
        raise Conflict("该差异在最近一次对账中已消除，无需处理", field="id")
    before = {"status": f.status, "note": f.note}
    f.status, f.note, f.handled_by, f.handled_at, f.updated_at = (
        "handled",
        note,
        actor.user_id,
        clock.now(),
        clock.now(),
    )
    session.flush()
    audit.record(
        session,
        actor,
        "premium.flag_handle",
        entity_type="premium_flag",
        entity_id=f.id,
        before=before,
        after={"status": "handled", "note": note, "platform": f.platform.code, "month": f.month, "kind": f.kind},
    )
    return f


def reconciliations(
    session: Session, actor, month: str | None = None, platform_code: str | None = None
) -> list[Reconciliation]:
    q = (
        select(Reconciliation)
        .join(Platform, Platform.id == Reconciliation.platform_id)
        .where(platform_condition(actor))
    )
    if month:
        q = q.where(Reconciliation.month == parse_month(month))
    if platform_code:
        q = q.where(Platform.code == platform_code)
    return list(session.scalars(q.order_by(Reconciliation.month.desc(), Platform.code)))


@dataclass
class StatementRow:
    """One sent month of a platform: what it owes and where it stands."""

    declaration: Declaration
    paid_fen: int
    owed_fen: int
    state: str  # 已缴清 / 待缴 / 欠费 / 逾期缴清 / 多缴
    overdue: bool
    last_paid_on: dt.date | None


@dataclass
class Statement:
    rows: list[StatementRow]
    owed_overdue_fen: int
    owed_not_due_fen: int
    flags: list[ReconciliationFlag]


def statement(session: Session, actor, platform: Platform) -> Statement:
    """A platform's account: every month pushed to the tax bureau, paid, owed, open differences."""
    if actor.role.scope == "platform" and actor.platform_id != platform.id:
        raise out_of_scope("平台企业")
    decls = list(
        session.scalars(
            select(Declaration)
            .where(Declaration.platform_id == platform.id, Declaration.status.in_(SENT))
            .order_by(Declaration.month.desc())
        )
    )
    paid: dict[str, list[TaxReturn]] = defaultdict(list)
    for r in session.scalars(select(TaxReturn).where(TaxReturn.platform_id == platform.id)):
        paid[r.month].append(r)
    today = clock.today()
    rows, overdue_sum, not_due_sum = [], 0, 0
    for d in decls:
        rets = paid.get(d.month, [])
        state, p, owed, overdue = rules.statement_state(
            total_fen=d.total_fen, returns=rets, due_date=d.due_date, today=today
        )
        overdue_sum += owed if overdue else 0
        not_due_sum += owed if not overdue else 0
        rows.append(
            StatementRow(
                d, p, owed, state, overdue, max((r.paid_on for r in rets if r.paid_fen > 0 and r.paid_on), default=None)
            )
        )
    flags = list(
        session.scalars(
            select(ReconciliationFlag)
            .where(ReconciliationFlag.platform_id == platform.id, ReconciliationFlag.status != "resolved")
            .order_by(ReconciliationFlag.month.desc(), ReconciliationFlag.kind)
        )
    )
    return Statement(rows, overdue_sum, not_due_sum, flags)
