"""finance may return a submitted final account: the status ``returned``

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 01:20:00

A final account (决算) submitted to finance could only be approved. Finance now returns it with a
reason (``note``); the centre redraws or resubmits it, as with a budget.
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint(op.f("ck_fund_final_accounts_status"), "fund_final_accounts", type_="check")
    op.create_check_constraint(
        op.f("ck_fund_final_accounts_status"),
        "fund_final_accounts",
        "status IN ('draft', 'submitted', 'returned', 'approved')",
    )


def downgrade() -> None:
    op.execute("UPDATE fund_final_accounts SET status = 'draft' WHERE status = 'returned'")
    op.drop_constraint(op.f("ck_fund_final_accounts_status"), "fund_final_accounts", type_="check")
    op.create_check_constraint(
        op.f("ck_fund_final_accounts_status"), "fund_final_accounts", "status IN ('draft', 'submitted', 'approved')"
    )
