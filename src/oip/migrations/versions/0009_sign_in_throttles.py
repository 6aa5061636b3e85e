"""sign-in back-off per (account, address), address and account; forced password change

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 12:40:00

``sign_in_throttles`` replaces counting failed sign-ins per username in ``login_attempts`` (which
locked an account for everyone after five failures; the public check still counts there).
``users.must_change_password`` marks a password an administrator chose (new account, reset): the
user must choose their own at next sign-in. Existing users are not marked.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_throttles",
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_throttles")),
    )
    op.create_index(
        op.f("ix_sign_in_throttles_last_failure_at"), "sign_in_throttles", ["last_failure_at"], unique=False
    )
    op.add_column("users", sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False))
    # Sign-ins were counted here under the username; the public check's rows stay.
    op.execute("DELETE FROM login_attempts WHERE username NOT LIKE 'check:%'")


def downgrade() -> None:
    op.drop_column("users", "must_change_password")
    op.drop_index(op.f("ix_sign_in_throttles_last_failure_at"), table_name="sign_in_throttles")
    op.drop_table("sign_in_throttles")
