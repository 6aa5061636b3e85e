"""insurer contracts (委托服务协议): the register of contracted commercial insurers' services by city

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 10:00:00

``insurer_contracts``: an insurer organisation, the agreement's document number, the services it
covers (a text array of investigation / material_collection / appraisal_support / payment_support),
its period (both days inclusive), status (active / terminated with the day the termination takes
effect and why), who registered it, notes, and a version counter for amendments.
``insurer_contract_cities``: the Guangxi cities (region codes) it covers.

``case_investigations`` (the insurer's investigation tasks, 0011) gains who submitted, the day and
reason of a withdrawal, and a version counter (a second writer of a task gets a conflict).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "insurer_contracts",
        sa.Column("organisation_id", sa.BigInteger(), nullable=False),
        sa.Column("document_no", sa.String(length=128), nullable=False),
        sa.Column("services", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("terminated_on", sa.Date(), nullable=True),
        sa.Column("termination_reason", sa.Text(), nullable=True),
        sa.Column("terminated_by", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("valid_to >= valid_from", name=op.f("ck_insurer_contracts_period")),
        sa.CheckConstraint("status IN ('active', 'terminated')", name=op.f("ck_insurer_contracts_status")),
        sa.CheckConstraint(
            "(status = 'terminated') = (terminated_on IS NOT NULL)", name=op.f("ck_insurer_contracts_terminated_on")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_insurer_contracts_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_insurer_contracts_created_by_users")),
        sa.ForeignKeyConstraint(["terminated_by"], ["users.id"], name=op.f("fk_insurer_contracts_terminated_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insurer_contracts")),
        sa.UniqueConstraint("document_no", name=op.f("uq_insurer_contracts_document_no")),
    )
    op.create_index(
        op.f("ix_insurer_contracts_organisation_id"), "insurer_contracts", ["organisation_id"], unique=False
    )
    op.create_index(op.f("ix_insurer_contracts_status"), "insurer_contracts", ["status"], unique=False)
    op.create_table(
        "insurer_contract_cities",
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("city_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["insurer_contracts.id"],
            name=op.f("fk_insurer_contract_cities_contract_id_insurer_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["city_code"], ["regions.code"], name=op.f("fk_insurer_contract_cities_city_code_regions")
        ),
        sa.PrimaryKeyConstraint("contract_id", "city_code", name=op.f("pk_insurer_contract_cities")),
    )
    op.create_index(
        op.f("ix_insurer_contract_cities_city_code"), "insurer_contract_cities", ["city_code"], unique=False
    )
    op.add_column("case_investigations", sa.Column("submitted_by", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_case_investigations_submitted_by_users"), "case_investigations", "users", ["submitted_by"], ["id"]
    )
    op.add_column("case_investigations", sa.Column("withdrawn_on", sa.Date(), nullable=True))
    op.add_column("case_investigations", sa.Column("withdrawn_reason", sa.Text(), nullable=True))
    op.add_column("case_investigations", sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    op.drop_column("case_investigations", "version")
    op.drop_column("case_investigations", "withdrawn_reason")
    op.drop_column("case_investigations", "withdrawn_on")
    op.drop_constraint(op.f("fk_case_investigations_submitted_by_users"), "case_investigations", type_="foreignkey")
    op.drop_column("case_investigations", "submitted_by")
    op.drop_index(op.f("ix_insurer_contract_cities_city_code"), table_name="insurer_contract_cities")
    op.drop_table("insurer_contract_cities")
    op.drop_index(op.f("ix_insurer_contracts_status"), table_name="insurer_contracts")
    op.drop_index(op.f("ix_insurer_contracts_organisation_id"), table_name="insurer_contracts")
    op.drop_table("insurer_contracts")
