"""cases: what the decision part records beside the foundation's columns — the authority a suspension
waits on and the conclusion it received, and the reason an appeal was registered after its window

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("case_suspensions", sa.Column("authority", sa.String(length=128), nullable=True))
    op.add_column("case_suspensions", sa.Column("end_note", sa.Text(), nullable=True))
    op.add_column("case_appeals", sa.Column("late_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("case_appeals", "late_reason")
    op.drop_column("case_suspensions", "end_note")
    op.drop_column("case_suspensions", "authority")
