"""Payment (待遇支付): batches with maker-checker, the bank file, result import, failures, reversals.

The one write path of payment batches and lines. Each act takes the acting principal, checks its
permission and region scope, moves the payables only through oip.benefits.payables, and audits in
the caller's transaction; acts on a case also go on its timeline.

**Never paid twice.** Each payable is on at most one live line (pending, sent or paid: the partial
unique index ``uq_payment_lines_live``); the line's ``idempotency_key`` (``<payable key>#<attempt>``)
is fixed when the batch is made and is what the bank pays by. The batch file is built once, stored,
and every (re-)send hands the bank the same bytes; a send that timed out after the bank received it
is simply sent again; a result file is applied once (by SHA-256) and each result once per line
(``rules.result_effect``). A failed or reversed line frees the payable for a later batch under a
new key (attempt + 1).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, func, select
from sqlalchemy.orm import Session

from oip.auth import limits, permissions as P
from oip.auth.models import User
from oip.auth.scope import out_of_scope
from oip.auth.service import Principal
from oip.benefits import payables
from oip.benefits.calc import ITEM_NAMES
from oip.benefits.models import Determination, DeterminationLine, Payable
from oip.cases import service as cases
from oip.cases.models import Case
from oip.cases.scope import code_prefix
from oip.core import audit, clock, events
from oip.core.db import paginate
from oip.core.errors import DomainError, Forbidden, IllegalTransition
from oip.core.pagination import Page
from oip.core.validation import clean_text
from oip.payments import bank, payees, rules
from oip.payments.models import BankFile, PayeeAccount, PaymentBatch, PaymentLine
from oip.payments.parameters import APPROVAL_LIMITS
from oip.reference import parameters
from oip.reference.models import Region

audit.register_actions(
    {
        "payment.batch.make": "生成支付批次",
        "payment.batch.approve": "复核审批支付批次",
        "payment.batch.send": "报送银行代发文件",
        "payment.batch.send_failed": "报送银行失败（待重发）",
        "payment.result.import": "导入银行回盘",
        "payment.result.duplicate": "重复导入银行回盘（未改变任何记录）",
        "payment.line.reverse": "登记退汇",
        "payment.view": "查看待遇支付",
    }
)
cases.register_event_names(
    {
        "payment_batched": "待遇纳入支付批次",
        "payment_approved": "支付批次复核通过",
        "payment_sent": "支付批次报送银行",
        "payment_paid": "银行支付成功",
        "payment_failed": "银行支付失败",
        "payment_reversed": "退汇",
    }
)


# ---- scope ---------------------------------------------------------------------------------------


def _region_scope(actor: Principal) -> str | None:
    """The region prefix the actor's payments are in (None: no payment data)."""
    return actor.region_prefix if actor.role.scope == "region" else None


def payable_condition(actor: Principal) -> ColumnElement[bool]:
    prefix = _region_scope(actor)
    return code_prefix(Payable.region_code, prefix) if prefix is not None else false()


def batch_condition(actor: Principal) -> ColumnElement[bool]:
    prefix = _region_scope(actor)
    return code_prefix(PaymentBatch.region_code, prefix) if prefix is not None else false()


def _need(actor: Principal, permission: str, what: str) -> None:
    if not actor.can(permission):
        raise Forbidden(f"您无权{what}")


def get_batch(session: Session, actor: Principal, batch_id: int, *, for_update: bool = False) -> PaymentBatch:
    q = select(PaymentBatch).where(PaymentBatch.id == batch_id, batch_condition(actor))
    if for_update:
        q = q.with_for_update()
    b = session.scalar(q)
    if b is None:
        raise out_of_scope("支付批次")
    return b


def get_line(session: Session, actor: Principal, line_id: int, *, for_update: bool = False) -> PaymentLine:
    q = (
        select(PaymentLine)
        .join(PaymentBatch, PaymentBatch.id == PaymentLine.batch_id)
        .where(PaymentLine.id == line_id, batch_condition(actor))
    )
    if for_update:
        q = q.with_for_update(of=PaymentLine)
    line = session.scalar(q)
    if line is None:
        raise out_of_scope("支付明细")
    return line


def lines_of(session: Session, batch: PaymentBatch) -> list[PaymentLine]:
    return list(session.scalars(select(PaymentLine).where(PaymentLine.batch_id == batch.id).order_by(PaymentLine.id)))


def _events(session: Session, actor: Principal, lines: list[PaymentLine], action: str, note: str, **detail) -> None:
    """One timeline event per case of ``lines``."""
    by_case: dict[int, list[PaymentLine]] = defaultdict(list)
    for x in lines:
        by_case[x.case_id].append(x)
    for case_id, rows in by_case.items():
        case = session.get(Case, case_id)
        cases.record_event(
            session,
            actor,
            case,
            action,
            note=note,
            detail={
                **detail,
                "lines": [{"key": x.idempotency_key, "amount_fen": x.amount_fen, "status": x.status} for x in rows],
            },
            audit_action=f"case.{action}",
        )


# ---- the worklist --------------------------------------------------------------------------------


@dataclass
class WorkItem:
    payable: Payable
    case_number: str
    payee_name: str
    account: PayeeAccount | None
    problem: str | None  # 无收款账户, the bank's reason, or why it is held

    def as_dict(self) -> dict:
        p = self.payable
        return {
            "payable_id": p.id,
            "key": p.key,
            "case_id": p.case_id,
            "case_number": self.case_number,
            "item": p.item,
            "item_name": ITEM_NAMES.get(p.item, p.item),
            "kind": p.kind,
            "kind_name": payables.KIND_NAMES.get(p.kind, p.kind),
            "period": p.period.strftime("%Y-%m") if p.period else None,
            "amount_fen": p.amount_fen,
            "due_on": p.due_on.isoformat(),
            "status": p.status,
            "status_name": payables.STATUS_NAMES.get(p.status, p.status),
            "payee_name": self.payee_name,
            "card": self.account.card_masked if self.account else None,
            "problem": self.problem,
        }


@dataclass
class Worklist:
    page: Page[WorkItem]
    due_count: int
    due_fen: int
    without_account: int
    failed: int


def worklist(session: Session, actor: Principal, *, only: str | None = None, page: int = 1, size: int = 50) -> Worklist:
    """What is owed in the actor's scope and not yet with the bank: due and held payables, with the
    bank's reason for a failed one and 无收款账户 for one nobody can be paid yet. ``only``:
    ``no_account`` or ``failed``."""
    _need(actor, P.PAYMENT_READ, "查看待遇支付")
    base = [Payable.status.in_(("due", "held")), payable_condition(actor)]
    q = select(Payable).where(*base)
    if only == "no_account":
        q = q.where(payees.without_account_condition())
    elif only == "failed":
        q = q.where(Payable.status == "due", Payable.failure_reason.is_not(None))
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = list(session.scalars(q.order_by(Payable.due_on, Payable.id).offset((page - 1) * size).limit(size)))
    items = []
    for p in rows:
        case = session.get(Case, p.case_id)
        acc = payees.for_payable(session, p)
        problem = p.failure_reason
        if acc is None:
            problem = rules.NO_ACCOUNT + (f"；{problem}" if problem else "")
        items.append(WorkItem(p, case.number, payees.payee_name(session, p), acc, problem))
    due = select(func.count(), func.coalesce(func.sum(Payable.amount_fen), 0)).where(
        Payable.status == "due", payable_condition(actor)
    )
    due_count, due_fen = session.execute(due).one()
    no_acc = session.scalar(select(func.count()).where(*base).where(payees.without_account_condition())) or 0
    failed = (
        session.scalar(
            select(func.count()).where(
                Payable.status == "due", Payable.failure_reason.is_not(None), payable_condition(actor)
            )
        )
        or 0
    )
    return Worklist(Page(items, total, page, size), int(due_count), int(due_fen), int(no_acc), int(failed))


# ---- making and approving a batch ----------------------------------------------------------------


def _attempt(session: Session, payable: Payable) -> int:
    before = session.scalar(
        select(func.count()).where(PaymentLine.payable_id == payable.id, PaymentLine.status.in_(("failed", "reversed")))
    )
    return int(before or 0) + 1


def make_batch(
    session: Session,
    actor: Principal,
    region_code: str | None = None,
    *,
    due_by: dt.date | None = None,
    note: str = "",
) -> PaymentBatch:
    """Gather the due payables inside ``region_code`` (default: the actor's region; a city's batch takes
    its counties' payables, the region's all of Guangxi) due by ``due_by`` (default today) whose payee
    has an account in force, one line each, into a draft batch."""
    _need(actor, P.PAYMENT_MANAGE, "生成支付批次")
    prefix = _region_scope(actor)
    region_code = region_code or actor.region_code
    region = session.get(Region, region_code)
    if prefix is None or not region_code.startswith(prefix) or region is None:
        raise DomainError(f"区划 {region_code} 不在您的数据范围内", field="region_code")
    day = due_by or clock.today()
    note = clean_text(note, "note", "备注", 500)
    due = list(
        session.scalars(
            select(Payable)
            .where(
                Payable.status == "due",
                code_prefix(Payable.region_code, region.scope_prefix),
                Payable.due_on <= day,
                ~payees.without_account_condition(),
            )
            .order_by(Payable.due_on, Payable.id)
            .with_for_update(skip_locked=True)
        )
    )
    if not due:
        raise DomainError("没有可纳入批次的应付明细（未到期、暂缓支付或无收款账户的不纳入）", field="region_code")
    now = clock.now()
    batch = PaymentBatch(
        number=f"tmp-{now.timestamp()}-{actor.user_id}",
        region_code=region_code,
        status="draft",
        made_by=actor.user_id,
        made_at=now,
        note=note,
    )
    session.add(batch)
    session.flush()
    batch.number = f"ZF{clock.today():%Y%m%d}{batch.id:06d}"
    lines = []
    for p in due:
        acc = payees.for_payable(session, p)
        attempt = _attempt(session, p)
        line = PaymentLine(
            batch_id=batch.id,
            payable_id=p.id,
            case_id=p.case_id,
            account_id=acc.id,
            attempt=attempt,
            idempotency_key=f"{p.key}#{attempt}",
            amount_fen=p.amount_fen,
            status="pending",
        )
        payables.batch(p)
        session.add(line)
        lines.append(line)
    batch.line_count = len(lines)
    batch.total_fen = sum(x.amount_fen for x in lines)
    session.flush()
    audit.record(
        session,
        actor,
        "payment.batch.make",
        entity_type="payment_batch",
        entity_id=batch.id,
        after={
            "number": batch.number,
            "region_code": region_code,
            "lines": batch.line_count,
            "total_fen": batch.total_fen,
        },
    )
    _events(session, actor, lines, "payment_batched", f"纳入支付批次 {batch.number}", batch=batch.number)
    return batch


def approval_limits(session: Session, batch: PaymentBatch) -> dict[str, int | None]:
    """The limits by role in force today for the batch's region (oip.auth.limits reads them)."""
    return parameters.get(session, APPROVAL_LIMITS, clock.today(), batch.region_code)


def approve(session: Session, actor: Principal, batch_id: int, *, note: str = "") -> PaymentBatch:
    """The checker approves a draft batch: never its maker, and within the checker's role limit."""
    _need(actor, P.PAYMENT_APPROVE, "审批支付批次")
    batch = get_batch(session, actor, batch_id, for_update=True)
    if batch.status != "draft":
        raise IllegalTransition(f"批次 {batch.number} 当前为“{rules.BATCH_STATUS_NAMES[batch.status]}”，不能审批")
    if batch.made_by == actor.user_id:
        raise Forbidden("不得审批本人生成的支付批次（须由另一名经办人员复核）")
    allowed, limit = limits.limit_for(approval_limits(session, batch), actor.role.code)
    if not limits.within(approval_limits(session, batch), actor.role.code, batch.total_fen):
        shown = "未设置" if not allowed else f"{rules.yuan(limit)} 元"
        raise Forbidden(
            f"批次金额 {rules.yuan(batch.total_fen)} 元超过您（{actor.role.name}）的审批限额（{shown}），请提交上级经办机构审批"
        )
    note = clean_text(note, "note", "审批意见", 500)
    batch.status = "approved"
    batch.approved_by = actor.user_id
    batch.approved_at = clock.now()
    if note:
        batch.note = (batch.note + "\n" if batch.note else "") + f"复核：{note}"
    audit.record(
        session,
        actor,
        "payment.batch.approve",
        entity_type="payment_batch",
        entity_id=batch.id,
        before={"status": "draft"},
        after={"status": "approved", "total_fen": batch.total_fen, "limit_fen": limit, "note": note},
    )
    _events(
        session,
        actor,
        lines_of(session, batch),
        "payment_approved",
        f"支付批次 {batch.number} 复核通过",
        batch=batch.number,
    )
    return batch


# ---- sending -------------------------------------------------------------------------------------


@dataclass
class SendOutcome:
    batch: PaymentBatch
    ok: bool
    location: str | None = None
    error: str | None = None
    first: bool = False  # the file was built by this send


def _build_file(session: Session, actor: Principal, batch: PaymentBatch) -> bank.BatchFile:
    lines = lines_of(session, batch)
    out = []
    subjects = set()
    for x in lines:
        acc = session.get(PayeeAccount, x.account_id)
        case = session.get(Case, x.case_id)
        payable = session.get(Payable, x.payable_id)
        purpose = ITEM_NAMES.get(payable.item, payable.item)
        if payable.period:
            purpose += f" {payable.period:%Y-%m}"
        out.append(
            bank.BatchLine(
                x.idempotency_key,
                acc.holder_name,
                acc.bank_name,
                payees.full_card(acc),
                x.amount_fen,
                purpose,
                case.number,
            )
        )
        subjects.add(case.person_id)
    audit.record(
        session,
        actor,
        "payee.card_read",
        entity_type="payment_batch",
        entity_id=batch.id,
        after={"batch": batch.number, "accounts": sorted({x.account_id for x in lines})},
        purpose="生成银行代发文件",
        subjects=sorted(subjects),
    )
    return bank.batch_file(batch.number, batch.region_code, out, clock.now())


def send(session: Session, actor: Principal, batch_id: int, gateway: bank.BankGateway) -> SendOutcome:
    """Hand the batch's file to the bank. The file is built and stored by the first send; every
    later send (after a timeout, a crash, or to be sure) delivers the same bytes with the same keys.
    A delivery failure is recorded (not raised): the caller commits and may send again."""
    _need(actor, P.PAYMENT_MANAGE, "报送银行代发文件")
    batch = get_batch(session, actor, batch_id, for_update=True)
    if batch.status not in ("approved", "sent"):
        raise IllegalTransition(f"批次 {batch.number} 当前为“{rules.BATCH_STATUS_NAMES[batch.status]}”，不能报送银行")
    first = batch.file_content is None
    if first:
        f = _build_file(session, actor, batch)
        batch.file_name, batch.file_sha256, batch.file_content = f.filename, bank.sha256(f.body), f.body
    else:
        body = batch.file_content
        f = bank.BatchFile(batch.number, batch.file_name, body, bank.sign(body))
    batch.send_attempts += 1
    log = BankFile(
        direction="out",
        batch_id=batch.id,
        file_name=batch.file_name,
        sha256=batch.file_sha256,
        signature_ok=True,
        received=batch.line_count,
        at=clock.now(),
        by=actor.user_id,
    )
    session.add(log)
    try:
        location = gateway.send(f)
    except bank.DeliveryFailed as e:
        log.problems = e.reason
        session.flush()
        audit.record(
            session,
            actor,
            "payment.batch.send_failed",
            entity_type="payment_batch",
            entity_id=batch.id,
            after={
                "number": batch.number,
                "attempt": batch.send_attempts,
                "sha256": batch.file_sha256,
                "error": e.reason,
            },
        )
        return SendOutcome(batch, False, error=e.reason, first=first)
    log.applied = batch.line_count
    was = batch.status
    sent_lines = [x for x in lines_of(session, batch) if x.status == "pending"]
    for x in sent_lines:
        x.status = "sent"
    if batch.status == "approved":
        batch.status, batch.sent_at = "sent", clock.now()
    session.flush()
    audit.record(
        session,
        actor,
        "payment.batch.send",
        entity_type="payment_batch",
        entity_id=batch.id,
        before={"status": was},
        after={
            "status": batch.status,
            "attempt": batch.send_attempts,
            "file": batch.file_name,
            "sha256": batch.file_sha256,
            "gateway": gateway.name,
            "location": location,
        },
    )
    if sent_lines:
        _events(session, actor, sent_lines, "payment_sent", f"支付批次 {batch.number} 已报送银行", batch=batch.number)
    return SendOutcome(batch, True, location=location, first=first)


# ---- results -------------------------------------------------------------------------------------


@dataclass
class ImportOutcome:
    file: BankFile
    duplicate_file: bool = False
    received: int = 0
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "bank_file_id": self.file.id,
            "file_name": self.file.file_name,
            "sha256": self.file.sha256,
            "duplicate_file": self.duplicate_file,
            "received": self.received,
            "applied": self.applied,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "problems": self.problems,
        }


def _mark_received(batch: PaymentBatch) -> None:
    """A result for a batch whose send we never saw confirmed: the bank evidently has the file."""
    if batch.status == "approved":
        batch.status, batch.sent_at = "sent", clock.now()


def _apply(session: Session, actor: Principal, line: PaymentLine, r: bank.ResultLine) -> None:
    payable = session.scalar(select(Payable).where(Payable.id == line.payable_id).with_for_update())
    line.result_at = clock.now()
    if r.bank_ref:
        line.bank_ref = r.bank_ref
    if r.status == "paid":
        line.status, line.paid_on = "paid", r.paid_on
        payables.paid(payable, r.paid_on)
        _money_event(session, "benefit.paid", line, payable, r.paid_on)
    elif r.status == "failed":
        line.status, line.failure_code, line.failure_reason = "failed", r.failure_code, r.failure_reason
        code = f"（{r.failure_code}）" if r.failure_code else ""
        payables.failed(payable, f"银行支付失败：{r.failure_reason}{code}")
    else:
        _reverse(session, line, payable, r.reversed_on or clock.today(), r.reversal_reason or "银行退汇")


def _reverse(session: Session, line: PaymentLine, payable: Payable, on: dt.date, reason: str) -> None:
    line.status, line.reversed_on, line.reversal_reason = "reversed", on, reason
    payables.reversed_(payable, f"退汇：{reason}")
    _money_event(session, "benefit.reversed", line, payable, on)


def _money_event(session: Session, kind: str, line: PaymentLine, payable: Payable, on: dt.date) -> None:
    """Money left (or came back to) the fund's expenditure account: oip.fund books it from this event."""
    batch = session.get(PaymentBatch, line.batch_id)
    events.emit(
        session,
        kind,
        source_type="payment_line",
        source_id=line.id,
        occurred_on=on,
        region_code=payable.region_code,
        amount_fen=line.amount_fen,
        payload={
            "item": payable.item,
            "case_id": line.case_id,
            "payable_id": payable.id,
            "batch_id": line.batch_id,
            "batch_number": batch.number,
            "paying_region": batch.region_code,
            "key": line.idempotency_key,
        },
    )


def _settle(session: Session, batch_ids: set[int]) -> None:
    for bid in sorted(batch_ids):
        batch = session.get(PaymentBatch, bid)
        open_ = session.scalar(
            select(func.count()).where(PaymentLine.batch_id == bid, PaymentLine.status.in_(("pending", "sent")))
        )
        if batch.status == "sent" and not open_:
            batch.status, batch.settled_at = "settled", clock.now()


def import_result(
    session: Session, actor: Principal, body: bytes, signature: str | None, name: str = "result.json"
) -> ImportOutcome:
    """Apply a bank result file: its signature first, then each line once. A file imported before
    (same SHA-256) changes nothing; its lines are counted as duplicates. ``received = applied +
    duplicates + rejected``."""
    _need(actor, P.PAYMENT_MANAGE, "导入银行回盘")
    name = (name or "result.json")[-128:]
    if not bank.verify(body, signature):
        raise DomainError("回盘文件签名无效或缺少签名（.sig），未导入：请向银行核实文件来源", field="signature")
    digest = bank.sha256(body)
    before = session.scalar(select(BankFile).where(BankFile.direction == "in", BankFile.sha256 == digest))
    if before is not None:
        audit.record(
            session,
            actor,
            "payment.result.duplicate",
            entity_type="payment_bank_file",
            entity_id=before.id,
            after={"file": name, "sha256": digest, "first_imported": before.at.isoformat()},
        )
        return ImportOutcome(before, True, before.received, 0, before.received, 0)
    parsed = bank.parse_result(body)
    f = BankFile(direction="in", file_name=name, sha256=digest, signature_ok=True, at=clock.now(), by=actor.user_id)
    session.add(f)
    session.flush()  # takes the file's place (unique SHA-256) before anything is applied
    out = ImportOutcome(f, received=len(parsed.lines) + len(parsed.errors))
    out.rejected = len(parsed.errors)
    out.problems = list(parsed.errors)
    touched: set[int] = set()
    applied: dict[str, list[PaymentLine]] = defaultdict(list)
    for r in parsed.lines:
        where = f"第 {r.line} 条（{r.idempotency_key}）"
        line = session.scalar(
            select(PaymentLine)
            .join(PaymentBatch, PaymentBatch.id == PaymentLine.batch_id)
            .where(PaymentLine.idempotency_key == r.idempotency_key, batch_condition(actor))
            .with_for_update(of=PaymentLine)
        )
        if line is None:
            out.rejected += 1
            out.problems.append(f"{where}：没有这个幂等键的支付明细（或不在您的数据范围内）")
            continue
        batch = session.get(PaymentBatch, line.batch_id)
        effect = rules.result_effect(line.status, r.status)
        if effect == "apply" and batch.file_sha256 is None:
            effect = "reject"
        if effect == "duplicate":
            out.duplicates += 1
            continue
        if effect == "reject":
            out.rejected += 1
            out.problems.append(
                f"{where}：明细当前为“{rules.LINE_STATUS_NAMES[line.status]}”，不能记为“{r.status}”"
                + ("（批次尚未报送）" if batch.file_sha256 is None else "")
            )
            continue
        _mark_received(batch)
        _apply(session, actor, line, r)
        out.applied += 1
        touched.add(batch.id)
        applied[r.status].append(line)
        f.batch_id = f.batch_id or batch.id
    session.flush()
    _settle(session, touched)
    f.received, f.applied, f.duplicates, f.rejected = out.received, out.applied, out.duplicates, out.rejected
    f.problems = "\n".join(out.problems)
    session.flush()
    audit.record(
        session,
        actor,
        "payment.result.import",
        entity_type="payment_bank_file",
        entity_id=f.id,
        after={
            "file": name,
            "sha256": digest,
            "batch": parsed.batch_number,
            **{k: v for k, v in out.as_dict().items() if k in ("received", "applied", "duplicates", "rejected")},
        },
    )
    names = {
        "paid": ("payment_paid", "银行支付成功"),
        "failed": ("payment_failed", "银行支付失败，重新列入待支付"),
        "reversed": ("payment_reversed", "银行退汇，重新列入待支付"),
    }
    for status, rows in applied.items():
        action, note = names[status]
        _events(session, actor, rows, action, note, file=name)
    return out


def import_from_bank(
    session: Session, actor: Principal, gateway: bank.BankGateway, batch_number: str | None = None
) -> list[tuple[bank.InboundFile, ImportOutcome | None, str | None]]:
    """Import every result file the bank has for us; the caller commits, then calls
    ``gateway.settle`` for each (a refused file: with its reason)."""
    out = []
    for f in gateway.fetch_results(batch_number):
        sp = session.begin_nested()
        try:
            res = import_result(session, actor, f.body, f.signature, f.name.rsplit("/", 1)[-1])
        except DomainError as e:
            sp.rollback()
            out.append((f, None, e.reason))
            continue
        sp.commit()
        out.append((f, res, None))
    return out


def reverse(session: Session, actor: Principal, line_id: int, *, reason: str, on: dt.date | None = None) -> PaymentLine:
    """An officer records a reversal (退汇) of a paid line: the payable is owed again."""
    _need(actor, P.PAYMENT_MANAGE, "登记退汇")
    line = get_line(session, actor, line_id, for_update=True)
    reason = clean_text(reason, "reason", "退汇原因", 500, required=True)
    on = on or clock.today()
    if on > clock.today():
        raise DomainError("退汇日期不能晚于今天", field="on")
    if line.status != "paid":
        raise IllegalTransition(f"支付明细当前为“{rules.LINE_STATUS_NAMES[line.status]}”，只有已支付的明细可以登记退汇")
    if line.paid_on and on < line.paid_on:
        raise DomainError("退汇日期不能早于支付日期", field="on")
    payable = session.scalar(select(Payable).where(Payable.id == line.payable_id).with_for_update())
    _reverse(session, line, payable, on, reason)
    line.result_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor,
        "payment.line.reverse",
        entity_type="payment_line",
        entity_id=line.id,
        before={"status": "paid"},
        after={"status": "reversed", "key": line.idempotency_key, "on": on, "reason": reason},
    )
    _events(session, actor, [line], "payment_reversed", f"登记退汇：{reason}")
    return line


# ---- reading -------------------------------------------------------------------------------------


def list_batches(
    session: Session, actor: Principal, *, status: str | None = None, page: int = 1, size: int = 30
) -> Page[PaymentBatch]:
    _need(actor, P.PAYMENT_READ, "查看待遇支付")
    q = select(PaymentBatch).where(batch_condition(actor))
    if status in rules.BATCH_STATUS_NAMES:
        q = q.where(PaymentBatch.status == status)
    return paginate(session, q.order_by(PaymentBatch.id.desc()), page, size)


def bank_files(session: Session, actor: Principal, *, page: int = 1, size: int = 30) -> Page[BankFile]:
    _need(actor, P.PAYMENT_READ, "查看待遇支付")
    scoped = select(PaymentBatch.id).where(batch_condition(actor))
    q = select(BankFile).where(
        BankFile.batch_id.in_(scoped) | (BankFile.batch_id.is_(None) & (BankFile.by == actor.user_id))
    )
    return paginate(session, q.order_by(BankFile.id.desc()), page, size)


def _user_name(session: Session, user_id: int | None) -> str | None:
    u = session.get(User, user_id) if user_id else None
    return u.display_name if u else None


def batch_dict(session: Session, b: PaymentBatch) -> dict:
    return {
        "id": b.id,
        "number": b.number,
        "region_code": b.region_code,
        "status": b.status,
        "status_name": rules.BATCH_STATUS_NAMES[b.status],
        "line_count": b.line_count,
        "total_fen": b.total_fen,
        "made_by": _user_name(session, b.made_by),
        "made_at": clock.local(b.made_at).isoformat(timespec="minutes"),
        "approved_by": _user_name(session, b.approved_by),
        "approved_at": clock.local(b.approved_at).isoformat(timespec="minutes") if b.approved_at else None,
        "sent_at": clock.local(b.sent_at).isoformat(timespec="minutes") if b.sent_at else None,
        "send_attempts": b.send_attempts,
        "file_name": b.file_name,
        "file_sha256": b.file_sha256,
        "settled_at": clock.local(b.settled_at).isoformat(timespec="minutes") if b.settled_at else None,
        "note": b.note,
    }


def line_dict(session: Session, x: PaymentLine) -> dict:
    acc = session.get(PayeeAccount, x.account_id)
    payable = session.get(Payable, x.payable_id)
    dline = session.get(DeterminationLine, payable.line_id)
    det = session.get(Determination, dline.determination_id)
    case = session.get(Case, x.case_id)
    return {
        "id": x.id,
        "batch_id": x.batch_id,
        "batch_number": session.get(PaymentBatch, x.batch_id).number,
        "idempotency_key": x.idempotency_key,
        "attempt": x.attempt,
        "case_id": x.case_id,
        "case_number": case.number,
        "payee_name": payees.payee_name(session, acc),
        "holder_name": acc.holder_name,
        "bank_name": acc.bank_name,
        "card": acc.card_masked,
        "amount_fen": x.amount_fen,
        "status": x.status,
        "status_name": rules.LINE_STATUS_NAMES[x.status],
        "bank_ref": x.bank_ref,
        "paid_on": x.paid_on.isoformat() if x.paid_on else None,
        "failure_code": x.failure_code,
        "failure_reason": x.failure_reason,
        "reversed_on": x.reversed_on.isoformat() if x.reversed_on else None,
        "reversal_reason": x.reversal_reason,
        "trace": {
            "payable_id": payable.id,
            "payable_key": payable.key,
            "item": payable.item,
            "item_name": ITEM_NAMES.get(payable.item, payable.item),
            "period": payable.period.strftime("%Y-%m") if payable.period else None,
            "determination_line_id": dline.id,
            "determination_id": det.id,
            "determination_version": det.version,
            "determination_status": det.status,
        },
    }


def file_dict(session: Session, f: BankFile) -> dict:
    return {
        "id": f.id,
        "direction": f.direction,
        "direction_name": "报送" if f.direction == "out" else "回盘",
        "batch_number": session.get(PaymentBatch, f.batch_id).number if f.batch_id else None,
        "file_name": f.file_name,
        "sha256": f.sha256,
        "signature_ok": f.signature_ok,
        "received": f.received,
        "applied": f.applied,
        "duplicates": f.duplicates,
        "rejected": f.rejected,
        "problems": f.problems,
        "at": clock.local(f.at).isoformat(timespec="seconds"),
        "by": _user_name(session, f.by),
    }


def case_lines(session: Session, case: Case) -> list[PaymentLine]:
    return list(
        session.scalars(select(PaymentLine).where(PaymentLine.case_id == case.id).order_by(PaymentLine.id.desc()))
    )


def paid_total(session: Session, case_id: int) -> int:
    """Fen paid to the case's payees (paid lines; reversed ones came back)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(PaymentLine.amount_fen), 0)).where(
                PaymentLine.case_id == case_id, PaymentLine.status == "paid"
            )
        )
        or 0
    )


def view_audit(session: Session, actor: Principal, what: str, entity_id=None) -> None:
    audit.record(
        session,
        actor,
        "payment.view",
        entity_type="payment",
        entity_id=entity_id,
        after={"view": what},
        purpose="待遇支付",
    )
