"""platform_accounts.reported_name: the name a platform sent when it differs from the name on file

Revision ID: 0010
Revises: 0007 (0008 once the audit migration is merged)
Create Date: 2026-12-06 12:40:00

A platform registering an ID number that another platform registered, with another name, is answered
like for a new person (it learns nothing of the other registration); the account is linked to the
person of that ID number and keeps the name the platform sent, which is all the platform is shown;
the agencies see both names and verify. NULL: the platform sent the name on file.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("platform_accounts", sa.Column("reported_name", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("platform_accounts", "reported_name")
