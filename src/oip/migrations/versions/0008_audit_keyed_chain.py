"""audit: events queued without a lock, linked by one chainer into a keyed chain

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 09:00:00

``audit_events.seq`` comes from a sequence; an AFTER INSERT trigger queues every new event in
``audit_pending`` (same transaction); the chainer links queued events into ``audit_chain``
(HMAC-SHA256 with a key kept outside the database) and deletes their queue rows. ``audit_head``
and the unkeyed ``prev_hash``/``hash`` columns go: every existing event is queued, so the first
chainer run links them all with the key, in ``seq`` order. ``audit_chain`` is append-only like
``audit_events``; ``audit_pending`` allows DELETE (the chainer's).
"""

import datetime as dt
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE SEQUENCE audit_events_seq AS bigint OWNED BY audit_events.seq;
        SELECT setval('audit_events_seq', COALESCE((SELECT MAX(seq) FROM audit_events), 0) + 1, false);
        ALTER TABLE audit_events ALTER COLUMN seq SET DEFAULT nextval('audit_events_seq');
    """)
    op.drop_column("audit_events", "prev_hash")
    op.drop_column("audit_events", "hash")
    op.drop_table("audit_head")
    op.create_table(
        "audit_pending",
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_seq"], ["audit_events.seq"], name=op.f("fk_audit_pending_event_seq_audit_events")
        ),
        sa.PrimaryKeyConstraint("event_seq", name=op.f("pk_audit_pending")),
    )
    op.create_table(
        "audit_chain",
        sa.Column("pos", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_seq"], ["audit_events.seq"], name=op.f("fk_audit_chain_event_seq_audit_events")
        ),
        sa.PrimaryKeyConstraint("pos", name=op.f("pk_audit_chain")),
        sa.UniqueConstraint("event_seq", name=op.f("uq_audit_chain_event_seq")),
    )
    op.execute("""
        INSERT INTO audit_pending (event_seq) SELECT seq FROM audit_events ORDER BY seq;

        CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP;
        END $$;
        CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE ON audit_chain
          FOR EACH ROW EXECUTE FUNCTION audit_append_only();
        CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
          FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

        -- Every event is queued for the chainer in the transaction that records it.
        CREATE FUNCTION audit_queue() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO audit_pending (event_seq) VALUES (NEW.seq);
          RETURN NULL;
        END $$;
        CREATE TRIGGER audit_events_queue AFTER INSERT ON audit_events
          FOR EACH ROW EXECUTE FUNCTION audit_queue();
    """)


def _content(r) -> dict:
    return {
        "seq": r.seq,
        "at": r.at.astimezone(dt.UTC).isoformat(),
        "actor_user_id": r.actor_user_id,
        "actor": r.actor,
        "action": r.action,
        "entity_type": r.entity_type,
        "entity_id": r.entity_id,
        "subjects": list(r.subjects or []),
        "purpose": r.purpose,
        "before": r.before,
        "after": r.after,
        "ip": r.ip,
    }


def downgrade() -> None:
    """Back to the unkeyed chain of 0001: recompute it over the events in seq order."""
    op.execute("""
        DROP TRIGGER audit_events_queue ON audit_events;
        DROP FUNCTION audit_queue();
        DROP TRIGGER audit_chain_no_truncate ON audit_chain;
        DROP TRIGGER audit_chain_append_only ON audit_chain;
        CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP;
        END $$;
    """)
    op.drop_table("audit_chain")
    op.drop_table("audit_pending")
    op.execute("ALTER TABLE audit_events ALTER COLUMN seq DROP DEFAULT; DROP SEQUENCE audit_events_seq")
    op.add_column("audit_events", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_events", sa.Column("hash", sa.String(length=64), nullable=True))
    op.create_table(
        "audit_head",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    conn = op.get_bind()
    conn.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
    # 0001's chain wants seq 1, 2, 3 … without gaps, which a sequence does not promise: renumber.
    rows = conn.execute(sa.text("SELECT * FROM audit_events ORDER BY seq")).all()
    prev, seq = "0" * 64, 0
    for r in rows:
        seq += 1
        content = _content(r) | {"seq": seq}
        body = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        h = hashlib.sha256((prev + body).encode()).hexdigest()
        conn.execute(
            sa.text("UPDATE audit_events SET seq = :new, prev_hash = :p, hash = :h WHERE seq = :old"),
            {"new": seq, "p": prev, "h": h, "old": r.seq},
        )
        prev = h
    if seq:
        conn.execute(sa.text("INSERT INTO audit_head (id, seq, hash) VALUES (1, :s, :h)"), {"s": seq, "h": prev})
    conn.execute(sa.text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
    op.alter_column("audit_events", "prev_hash", nullable=False)
    op.alter_column("audit_events", "hash", nullable=False)
