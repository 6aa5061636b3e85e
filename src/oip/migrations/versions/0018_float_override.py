"""the float's figures come from the data: a typed row is an override with a reason

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 18:45:00

``platform_year_experience`` held figures typed by an officer (``source`` said from which ledger).
The figures now come from the cases and the payments of the year (oip.benefits.experience); a row
of this table overrides them, with ``source = 'override'`` and a mandatory ``reason``. Rows typed
before become overrides whose reason is the text they had as their source.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("platform_year_experience", sa.Column("reason", sa.Text(), nullable=False, server_default=""))
    op.execute("UPDATE platform_year_experience SET reason = source, source = 'override'")


def downgrade() -> None:
    op.execute("UPDATE platform_year_experience SET source = reason WHERE source = 'override' AND reason <> ''")
    op.drop_column("platform_year_experience", "reason")
