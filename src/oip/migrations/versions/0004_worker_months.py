"""per-worker-month summaries replace per-worker-day ones

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 05:00:00

The import writes one summary row per worker account, month and county (with the orders of each day
in ``day_orders``) instead of one per worker-day: ~15 times fewer rows for PostgreSQL to index in the
import's transaction. Existing summaries are carried over.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_months",
        sa.Column("platform_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("day_orders", sa.ARRAY(sa.Integer()), nullable=False),
        sa.Column("day_first", sa.ARRAY(sa.Integer()), nullable=False),
        sa.Column("day_last", sa.ARRAY(sa.Integer()), nullable=False),
        sa.Column("first_accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["platform_id"], ["platforms.id"], name=op.f("fk_worker_months_platform_id_platforms")),
        sa.PrimaryKeyConstraint("platform_id", "account_id", "month", "county_code", name=op.f("pk_worker_months")),
    )
    op.create_index(op.f("ix_worker_months_month"), "worker_months", ["month"], unique=False)
    op.execute("""
        INSERT INTO worker_months (platform_id, account_id, month, county_code, person_id, orders, completed,
                                   day_orders, day_first, day_last, first_accepted_at, last_finished_at)
        SELECT platform_id, account_id, month, county_code, person_id, orders, completed,
               ARRAY(SELECT COALESCE((per_day ->> g::text)::int, 0) FROM generate_series(1, 31) g),
               ARRAY(SELECT (firsts ->> g::text)::int FROM generate_series(1, 31) g),
               ARRAY(SELECT (lasts ->> g::text)::int FROM generate_series(1, 31) g),
               first_at, last_at
        FROM (SELECT platform_id, account_id, date_trunc('month', day)::date AS month, county_code,
                     max(person_id) AS person_id, sum(orders)::int AS orders, sum(completed)::int AS completed,
                     jsonb_object_agg(extract(day FROM day)::int, orders) AS per_day,
                     jsonb_object_agg(extract(day FROM day)::int, floor(extract(epoch FROM first_accepted_at
                         - (day::timestamp AT TIME ZONE 'Asia/Shanghai')))) AS firsts,
                     jsonb_object_agg(extract(day FROM day)::int, ceil(extract(epoch FROM last_finished_at
                         - (day::timestamp AT TIME ZONE 'Asia/Shanghai')))) AS lasts,
                     min(first_accepted_at) AS first_at, max(last_finished_at) AS last_at
              FROM worker_days GROUP BY 1, 2, 3, 4) s""")
    op.drop_index(op.f("ix_worker_days_person_id"), table_name="worker_days")
    op.drop_index(op.f("ix_worker_days_day"), table_name="worker_days")
    op.drop_table("worker_days")


def downgrade() -> None:
    op.create_table(
        "worker_days",
        sa.Column("platform_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("first_accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["platform_id"], ["platforms.id"], name=op.f("fk_worker_days_platform_id_platforms")),
        sa.PrimaryKeyConstraint("platform_id", "account_id", "day", "county_code", name=op.f("pk_worker_days")),
    )
    op.create_index(op.f("ix_worker_days_day"), "worker_days", ["day"], unique=False)
    op.create_index(op.f("ix_worker_days_person_id"), "worker_days", ["person_id"], unique=False)
    # The months do not keep per-day completed counts: a day's count is exact only when the month
    # had no cancellations (else 0).
    op.execute("""
        INSERT INTO worker_days (platform_id, account_id, day, county_code, person_id, orders, completed,
                                 first_accepted_at, last_finished_at)
        SELECT w.platform_id, w.account_id, w.month + (d.i - 1)::int, w.county_code, w.person_id, d.n,
               CASE WHEN w.completed = w.orders THEN d.n ELSE 0 END,
               ((w.month + (d.i - 1)::int)::timestamp AT TIME ZONE 'Asia/Shanghai') + make_interval(secs => d.f),
               ((w.month + (d.i - 1)::int)::timestamp AT TIME ZONE 'Asia/Shanghai') + make_interval(secs => d.l)
        FROM worker_months w, unnest(w.day_orders, w.day_first, w.day_last) WITH ORDINALITY AS d(n, f, l, i)
        WHERE d.n > 0""")
    op.drop_index(op.f("ix_worker_months_month"), table_name="worker_months")
    op.drop_table("worker_months")
