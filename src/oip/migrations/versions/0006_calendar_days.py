"""calendar_days: holiday arrangements loaded by officers; due dates moved off rest days

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 10:00:00

A payment deadline that falls on a rest day moves to the next working day (税收征管法实施细则
art. 109). Declarations and reconciliations computed before stored the 15th as it was; their due
dates are moved here on the chinese-calendar package's data (years it does not know are left as
they are: none can be stored yet, computing one now fails until the year is loaded).
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _moved(day: dt.date) -> dt.date | None:
    import chinese_calendar

    d = day
    for _ in range(60):
        try:
            if chinese_calendar.is_workday(d):
                return d if d != day else None
        except NotImplementedError:
            return None
        d += dt.timedelta(days=1)
    return None


def upgrade() -> None:
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("loaded_by", sa.String(length=128), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('holiday', 'workday')", name=op.f("ck_calendar_days_kind")),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_days")),
    )
    conn = op.get_bind()
    for table in ("premium_declarations", "premium_reconciliations"):
        days = [
            r[0] for r in conn.execute(sa.text(f"SELECT DISTINCT due_date FROM {table} WHERE due_date IS NOT NULL"))
        ]
        for day in days:
            new = _moved(day)
            if new is not None:
                conn.execute(
                    sa.text(f"UPDATE {table} SET due_date = :new WHERE due_date = :old"), {"new": new, "old": day}
                )


def downgrade() -> None:
    op.drop_table("calendar_days")
