"""order_files: the range of order ids in each file

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 10:10:00

An order_id is unique per platform for ever: an import compares its orders with the stored ones of
any month through the ledger's order-id index. The smallest and largest order_id of each file let
it skip the index of every file whose range cannot hold one of the batch's ids (platforms number
their orders in time order, so files of other months rarely overlap). NULL for files written
before: their index is always read.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("order_files", sa.Column("min_order_id", sa.String(length=64), nullable=True))
    op.add_column("order_files", sa.Column("max_order_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("order_files", "max_order_id")
    op.drop_column("order_files", "min_order_id")
