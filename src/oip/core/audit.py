"""The audit trail: every write, and every read of personal data, in the same transaction.

Recording is cheap and takes no lock: ``record`` inserts the event (``seq`` from a sequence, i.e.
insertion order) in the caller's transaction, and a trigger queues it in ``audit_pending`` in the
same transaction. A write and its event therefore commit or roll back together, and requests that
audit (every read of personal data) never wait on each other: the old design serialised them all
through one advisory lock held until commit, which is how the server wedged under load (issue 10).

One chainer at a time (``chain_pending``: a transaction-level advisory *try*-lock, so chainers in
several server processes skip rather than wait) links the committed, queued events into the
append-only ``audit_chain``: ``hash = HMAC-SHA256(audit key, prev_hash + canonical(event))``, and
deletes their queue rows in the same transaction. The chain's order is the chainer's order — the
order in which events became visible (commit order, roughly), not necessarily ``seq`` order: an
event of a transaction that commits late is simply linked later. The key lives outside the
database (``oip.core.config.get_keys``, like the data keys), so the database's owner can neither
rewrite an event nor recompute the chain without it.

What the key cannot give — the tail: deleting the newest links (and events) leaves a shorter chain
that is still valid. So ``checkpoint`` anchors the head outside the database: a line
``{"pos","hash","events","at","sig"}`` signed with the key, appended (O_APPEND, fsync) to a file
that belongs on append-only storage or is shipped off the machine. ``verify`` recomputes every
link, checks that every event is linked or still queued, checks every checkpoint's signature and
that the chain still holds the checkpointed hash at its position (truncation, rollback and
re-chaining are found), and warns about events after the last checkpoint (not yet anchored).
The chainer itself refuses to extend a chain that no longer matches the last checkpoint, so it
cannot be used to re-link a chain that someone cut back.

Limits (docs/audit.md): whoever holds both the database and the key can forge anything; events
after the last checkpoint can be dropped unseen; an event and its queue row deleted (or an event
altered) before the chainer links it — a window of about the chainer's interval — go unseen.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import hmac
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from oip.core import clock
from oip.core.audit_models import AuditEvent, AuditLink, AuditPending
from oip.core.config import get_keys, get_settings

log = logging.getLogger(__name__)

# Chinese names of audit actions, for the pages; each domain adds its own (register_actions).
ACTION_NAMES = {
    "auth.sign_in": "登录",
    "auth.sign_out": "退出登录",
    "auth.sign_in_failed": "登录失败",
    "auth.sign_in_throttled": "登录受限（失败次数过多）",
    "auth.token_issued": "签发访问令牌",
    "auth.token_refused": "拒绝签发访问令牌",
    "user.create": "建立用户",
    "user.set_password": "设置密码",
    "reference.load": "加载参考数据",
    "industry.create": "登记试点行业",
    "industry.update": "修改试点行业",
    "insurer.assign": "分派受托保险机构",
    "worker.view": "查看人员详情（脱敏）",
    "worker.view_full": "查看完整证件号码/手机号",
    "worker.list": "查询人员名册",
    "worker.register": "报送人员信息",
    "worker.status": "变更人员状态",
    "worker.self_check": "本人公开查询",
}


def register_actions(names: dict[str, str]) -> None:
    ACTION_NAMES.update(names)


# What the audited objects are, in Chinese, for the page (the code stays in a muted second line).
ENTITY_KINDS = {
    "person": "人员",
    "platform_account": "平台账号",
    "registration_batch": "人员报送批次",
    "user": "用户",
    "organisation": "机构",
    "api_credential": "接口凭证",
    "insurer_assignment": "受托分派",
    "platform": "平台企业",
    "admission": "试点纳入申请",
    "industry": "试点行业",
    "reference": "参考数据",
    "parameter": "业务参数",
    "order_batch": "订单数据批次",
    "premium_declaration": "保障费核定",
    "premium_month": "保障费核定月份",
    "premium_flag": "对账差异",
    "float_year": "年度浮动档次",
    "exchange_message": "数据交换消息",
}

# kind -> function(session, ids) -> {id: name}: each domain names its own objects (register_entity_names).
_NAMERS: dict[str, Callable[[Session, list[str]], dict[str, str]]] = {}


def register_entity_names(
    kind: str, label: str, namer: Callable[[Session, list[str]], dict[str, str]] | None = None
) -> None:
    """A domain's audited object kind: its Chinese label and, optionally, how to name objects by id
    (one query for a page of events)."""
    ENTITY_KINDS[kind] = label
    if namer is not None:
        _NAMERS[kind] = namer


def entity_labels(session: Session, events: list[AuditEvent]) -> dict[int, dict]:
    """For each event (by seq): the object's kind in Chinese, its name where known, and the raw
    kind and id (for a muted line)."""
    wanted: dict[str, set[str]] = {}
    for e in events:
        if e.entity_type in _NAMERS and e.entity_id:
            wanted.setdefault(e.entity_type, set()).add(e.entity_id)
    names = {kind: _NAMERS[kind](session, sorted(ids)) for kind, ids in wanted.items()}
    return {
        e.seq: {
            "kind": ENTITY_KINDS.get(e.entity_type or "", e.entity_type or ""),
            "name": names.get(e.entity_type or "", {}).get(e.entity_id or "", ""),
            "code": " ".join(x for x in (e.entity_type, e.entity_id) if x),
        }
        for e in events
    }


GENESIS = "0" * 64
_CHAIN_LOCK = 0x0A0D1C  # pg_try_advisory_xact_lock key of the chainer (its own: the ledger publishes under 0x0A0D18)


class Actor(Protocol):
    user_id: int | None
    label: str
    ip: str | None


@dataclass
class SystemActor:
    label: str = "system"
    user_id: int | None = None
    ip: str | None = None


SYSTEM = SystemActor()


def _default(o: Any) -> Any:
    if isinstance(o, (dt.date, dt.datetime)):
        return o.isoformat()
    if isinstance(o, decimal.Decimal):
        return str(o)
    if isinstance(o, bytes):
        return o.hex()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def jsonable(d: dict | None) -> dict | None:
    return None if d is None else json.loads(json.dumps(d, default=_default, ensure_ascii=False))


def _canonical(d: dict) -> str:
    return json.dumps(d, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_default)


def _content(e: Any) -> dict:
    """What a link covers: every column of the stored event, its ``seq`` included."""
    return {
        "seq": e.seq,
        "at": e.at.astimezone(dt.UTC).isoformat(),
        "actor_user_id": e.actor_user_id,
        "actor": e.actor,
        "action": e.action,
        "entity_type": e.entity_type,
        "entity_id": e.entity_id,
        "subjects": list(e.subjects or []),
        "purpose": e.purpose,
        "before": e.before,
        "after": e.after,
        "ip": e.ip,
    }


def _key(key: bytes | None) -> bytes:
    return key if key is not None else get_keys().audit_key


def link_hash(prev_hash: str, event: Any, key: bytes | None = None) -> str:
    """``HMAC-SHA256(key, prev_hash + canonical(event))`` in hex."""
    return hmac.new(_key(key), (prev_hash + _canonical(_content(event))).encode(), hashlib.sha256).hexdigest()


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    entity_type: str | None = None,
    entity_id: Any = None,
    before: dict | None = None,
    after: dict | None = None,
    purpose: str | None = None,
    subjects: list[int] | None = None,
) -> AuditEvent:
    """Record one event inside the caller's transaction: no lock, no hash. The event gets its
    ``seq`` from a sequence and a trigger queues it for the chainer (``audit_pending``)."""
    ev = AuditEvent(
        at=clock.now().replace(microsecond=0),
        actor_user_id=actor.user_id,
        actor=actor.label,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        subjects=sorted(set(subjects or [])),
        purpose=purpose,
        before=jsonable(before),
        after=jsonable(after),
        ip=getattr(actor, "ip", None),
    )
    session.add(ev)
    session.flush()
    return ev


def diff(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the fields that changed, for an event's before/after."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


# ---- checkpoints: the chain's head, signed, outside the database ---------------------------------


class AuditChainError(Exception):
    """The chain no longer matches the last checkpoint: the chainer will not extend it."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def checkpoint_path() -> Path:
    return get_settings().audit_checkpoint_path


def _sign_checkpoint(body: dict, key: bytes | None = None) -> str:
    msg = "oip-audit-checkpoint:" + _canonical({k: v for k, v in body.items() if k != "sig"})
    return hmac.new(_key(key), msg.encode(), hashlib.sha256).hexdigest()


def _parse_checkpoint(line: str) -> dict | None:
    """The checkpoint of one line if it is well formed and its signature holds, else None."""
    try:
        cp = json.loads(line)
        ok = isinstance(cp, dict) and isinstance(cp.get("pos"), int) and isinstance(cp.get("hash"), str)
        sig = cp.get("sig") if ok else None
    except ValueError:
        return None
    if not isinstance(sig, str) or not hmac.compare_digest(_sign_checkpoint(cp), sig):
        return None
    return cp


def read_checkpoints(path: Path | None = None) -> list[tuple[int, str, dict | None]]:
    """Every line of the checkpoint file: (line number, text, checkpoint or None if forged/unreadable)."""
    path = path or checkpoint_path()
    if not path.exists():
        return []
    out = []
    with path.open(encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                out.append((n, line.rstrip("\n"), _parse_checkpoint(line)))
    return out


def last_checkpoint(path: Path | None = None) -> dict | None:
    """The last well-signed checkpoint (reads only the file's tail)."""
    path = path or checkpoint_path()
    if not path.exists():
        return None
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 65536))
        tail = f.read().decode("utf-8", errors="replace").splitlines()
    for line in reversed(tail):
        cp = _parse_checkpoint(line)
        if cp is not None:
            return cp
    return None


def _head(session: Session) -> tuple[int, str]:
    row = session.execute(select(AuditLink.pos, AuditLink.hash).order_by(AuditLink.pos.desc()).limit(1)).first()
    return (row.pos, row.hash) if row else (0, GENESIS)


def _check_against(session: Session, cp: dict | None, head_pos: int) -> None:
    if cp is None:
        return
    if head_pos < cp["pos"]:
        raise AuditChainError(
            "chain_truncated",
            f"审计链只有 {head_pos} 个链接，少于检查点（{cp.get('at')}）记载的 {cp['pos']} 个：链尾被删除或回滚",
        )
    at = session.scalar(select(AuditLink.hash).where(AuditLink.pos == cp["pos"]))
    if at != cp["hash"]:
        raise AuditChainError(
            "chain_rewritten",
            f"审计链第 {cp['pos']} 个链接与检查点（{cp.get('at')}）不符：链被重新计算或回滚后重新链接",
        )


def chain_pending(session: Session, batch: int = 1000, *, checkpoints: Path | None = None) -> int:
    """Link the committed, queued events into the chain, ``batch`` per transaction, until the queue
    is empty; returns how many were linked. Skips (returns 0) when another chainer holds the lock.
    Commits the session. Raises ``AuditChainError`` (and links nothing) when the chain no longer
    matches the last checkpoint."""
    total, checked = 0, False
    while True:
        if not session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK}):
            session.rollback()
            return total
        pos, prev = _head(session)
        if not checked:
            try:
                _check_against(session, last_checkpoint(checkpoints), pos)
            except AuditChainError:
                session.rollback()
                raise
            checked = True
        cols = AuditEvent.__table__.c
        rows = session.execute(
            select(*cols).join(AuditPending, AuditPending.event_seq == cols.seq).order_by(cols.seq).limit(batch)
        ).all()
        if not rows:
            session.commit()
            return total
        key, links = get_keys().audit_key, []
        for e in rows:
            pos += 1
            h = link_hash(prev, e, key)
            links.append({"pos": pos, "event_seq": e.seq, "prev_hash": prev, "hash": h})
            prev = h
        session.execute(insert(AuditLink), links)
        session.execute(delete(AuditPending).where(AuditPending.event_seq.in_([e.seq for e in rows])))
        session.commit()
        total += len(rows)
        if len(rows) < batch:
            return total


def checkpoint(session: Session, *, path: Path | None = None) -> dict | None:
    """Append a signed checkpoint of the chain's head to the checkpoint file (O_APPEND, fsync'd)
    when the head moved since the last one; returns it, or None when there was nothing new."""
    path = path or checkpoint_path()
    pos, h = _head(session)
    session.rollback()
    last = last_checkpoint(path)
    if pos == 0 or (last and last["pos"] == pos and last["hash"] == h):
        return None
    cp: dict[str, Any] = {"pos": pos, "hash": h, "events": pos, "at": clock.now().isoformat()}
    cp["sig"] = _sign_checkpoint(cp)
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (_canonical(cp) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:  # the new directory entry, durable too
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    return cp


# ---- verification -----------------------------------------------------------------------------


@dataclass
class Problem:
    code: str
    reason: str
    seq: int | None = None


@dataclass
class VerifyResult:
    ok: bool
    checked: int  # links recomputed
    broken_seq: int | None = None
    problem: str | None = None
    code: str | None = None
    pending: int = 0  # events recorded, not yet linked
    anchored: int = 0  # links covered by the last good checkpoint
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def verify(session: Session, batch: int = 5000, *, checkpoints: Path | None = None) -> VerifyResult:
    """Recompute every link with the key; check that every event is linked or still queued; check
    every checkpoint's signature and that the chain still holds its hash at its position."""
    problems: list[Problem] = []
    lines = read_checkpoints(checkpoints)
    wanted: dict[int, list[tuple[int, dict]]] = {}
    for n, _, cp in lines:
        if cp is None:
            problems.append(Problem("checkpoint_forged", f"检查点文件第 {n} 行无法读取或签名不符（被改动或伪造）"))
        else:
            wanted.setdefault(cp["pos"], []).append((n, cp))

    key = get_keys().audit_key
    cols = AuditEvent.__table__.c
    prev, expected, last_pos = GENESIS, 1, 0
    broken = False
    while not broken:
        rows = session.execute(
            select(AuditLink.pos, AuditLink.prev_hash, AuditLink.hash, AuditLink.event_seq, *cols)
            .join_from(AuditLink, AuditEvent, AuditEvent.seq == AuditLink.event_seq, isouter=True)
            .where(AuditLink.pos > last_pos)
            .order_by(AuditLink.pos)
            .limit(batch)
        ).all()
        if not rows:
            break
        for r in rows:
            bad = None
            if r.pos != expected:
                bad = Problem("link_missing", f"审计链第 {expected} 个链接缺失（下一个是第 {r.pos} 个）")
            elif r.prev_hash != prev:
                bad = Problem("link_broken", f"审计链第 {r.pos} 个链接没有接在前一个之后", r.event_seq)
            elif r.seq is None:
                bad = Problem("event_removed", f"事件 {r.event_seq}（第 {r.pos} 个链接）已被删除", r.event_seq)
            elif not hmac.compare_digest(link_hash(prev, r, key), r.hash):
                bad = Problem("event_altered", f"事件 {r.seq} 已被篡改（第 {r.pos} 个链接的校验码不符）", r.seq)
            if bad is not None:
                problems.append(bad)
                broken = True
                break
            for n, cp in wanted.get(r.pos, ()):
                if cp["hash"] != r.hash:
                    problems.append(
                        Problem(
                            "chain_rewritten",
                            f"审计链第 {r.pos} 个链接与检查点（第 {n} 行，{cp.get('at')}）不符：链被重新计算或回滚后重新链接",
                        )
                    )
            prev, expected, last_pos = r.hash, r.pos + 1, r.pos
    checked = last_pos
    if not broken:
        head_pos = session.scalar(select(func.max(AuditLink.pos))) or 0
        for pos in sorted(p for p in wanted if p > head_pos):
            n, cp = wanted[pos][0]
            problems.append(
                Problem(
                    "chain_truncated",
                    f"审计链只有 {head_pos} 个链接，检查点（第 {n} 行，{cp.get('at')}）记载了 {pos} 个：链尾被删除或回滚",
                )
            )

    unlinked = session.scalar(
        select(AuditEvent.seq)
        .where(~select(AuditLink.pos).where(AuditLink.event_seq == AuditEvent.seq).exists())
        .where(~select(AuditPending.event_seq).where(AuditPending.event_seq == AuditEvent.seq).exists())
        .order_by(AuditEvent.seq)
        .limit(1)
    )
    if unlinked is not None:
        problems.append(
            Problem(
                "event_unchained",
                f"事件 {unlinked} 既不在审计链中也不在待链接队列中（队列记录被删除，或事件绕过系统写入）",
                unlinked,
            )
        )
    lost = session.scalar(
        select(AuditPending.event_seq)
        .where(~select(AuditEvent.seq).where(AuditEvent.seq == AuditPending.event_seq).exists())
        .order_by(AuditPending.event_seq)
        .limit(1)
    )
    if lost is not None:
        problems.append(Problem("event_removed", f"事件 {lost} 在等待链接时被删除", lost))

    pending = session.scalar(select(func.count()).select_from(AuditPending)) or 0
    good = [cp for _, _, cp in lines if cp is not None]
    anchored = max((cp["pos"] for cp in good), default=0)
    warnings = []
    if not good:
        warnings.append(f"尚无有效的检查点（{checkpoints or checkpoint_path()}）：链尾的删除无法发现")
    if checked - anchored + pending > 0:
        warnings.append(
            f"{checked - anchored + pending} 个事件在最后一个检查点之后，尚未锚定（其中 {pending} 个等待链接）"
        )
    first = problems[0] if problems else None
    return VerifyResult(
        ok=not problems,
        checked=checked,
        broken_seq=first.seq if first else None,
        problem=first.reason if first else None,
        code=first.code if first else None,
        pending=pending,
        anchored=min(anchored, checked),
        checkpoints=len(good),
        problems=problems,
        warnings=warnings,
    )


# ---- the server's chainer ---------------------------------------------------------------------


CHAINER_THREAD = "oip-audit-chainer"  # the name of its thread (tests that count a request's queries leave it out)


class BackgroundChainer:
    """A daemon thread that links queued events every ``interval`` seconds and writes a checkpoint
    every ``checkpoint_interval`` seconds (when the head moved), and once more when stopped."""

    def __init__(
        self, make_session: sessionmaker, interval: float, checkpoint_interval: float, checkpoints: Path | None = None
    ):
        self.make_session = make_session
        self.interval = interval
        self.checkpoint_interval = checkpoint_interval
        self.checkpoints = checkpoints
        self._stop = threading.Event()
        self._last_checkpoint = time.monotonic()
        self._refused: str | None = None
        self._thread = threading.Thread(target=self._run, name=CHAINER_THREAD, daemon=True)

    def start(self) -> BackgroundChainer:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def run_once(self, *, final: bool = False) -> None:
        with self.make_session() as s:
            try:
                chain_pending(s, checkpoints=self.checkpoints)
                self._refused = None
            except AuditChainError as e:
                if self._refused != e.code:
                    log.error("审计链未继续链接（%s）：%s", e.code, e.reason)
                self._refused = e.code
                return
            if final or time.monotonic() - self._last_checkpoint >= self.checkpoint_interval:
                checkpoint(s, path=self.checkpoints)
                self._last_checkpoint = time.monotonic()

    def _run(self) -> None:
        while True:
            stopping = self._stop.wait(self.interval)
            try:
                self.run_once(final=stopping)
            except Exception as e:  # the database may be down: try again next time
                log.warning("audit chainer: %s: %s", type(e).__name__, e)
            if stopping:
                return


def start_background_chainer(
    make_session: sessionmaker | None = None,
    interval: float | None = None,
    checkpoint_interval: float | None = None,
    checkpoints: Path | None = None,
) -> BackgroundChainer | None:
    """Start the server's chainer (None when ``audit_chain_interval`` is 0); ``.stop()`` ends it."""
    s = get_settings()
    interval = s.audit_chain_interval if interval is None else interval
    if interval <= 0:
        return None
    if make_session is None:
        from oip.core.db import get_sessionmaker

        make_session = get_sessionmaker()
    every = s.audit_checkpoint_interval if checkpoint_interval is None else checkpoint_interval
    return BackgroundChainer(make_session, interval, every, checkpoints).start()
