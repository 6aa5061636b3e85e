"""appraisal on the case: appraisals (劳动能力鉴定) and their panel draws (appraisal_draws)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 17:10:00

An appraisal belongs to a case (initial, re-appraisal at the regional committee, review), with its
acceptance, due date and one extension, and its conclusion (grade 1-10 or none, self-care
dependency). A draw stores its seed, candidates (with their specialties), exclusions and panel, so
it can be re-run and compared.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appraisals",
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("previous_id", sa.BigInteger(), nullable=True),
        sa.Column("committee_code", sa.String(length=6), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("applicant", sa.String(length=16), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("treatment_ended_on", sa.Date(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("registered_by", sa.BigInteger(), nullable=True),
        sa.Column("accepted_on", sa.Date(), nullable=True),
        sa.Column("accepted_by", sa.BigInteger(), nullable=True),
        sa.Column("needed_specialties", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("panel_size", sa.SmallInteger(), nullable=True),
        sa.Column("original_due_on", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("extended_on", sa.Date(), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("extended_by", sa.BigInteger(), nullable=True),
        sa.Column("grade", sa.SmallInteger(), nullable=True),
        sa.Column("dependency", sa.String(length=16), nullable=True),
        sa.Column("concluded_on", sa.Date(), nullable=True),
        sa.Column("conclusion_received_on", sa.Date(), nullable=True),
        sa.Column("conclusion_note", sa.Text(), nullable=True),
        sa.Column("concluded_by", sa.BigInteger(), nullable=True),
        sa.Column("letter_id", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "dependency IS NULL OR dependency IN ('complete', 'most', 'partial', 'none')",
            name=op.f("ck_appraisals_dependency"),
        ),
        sa.CheckConstraint("kind IN ('initial', 'reappraisal', 'review')", name=op.f("ck_appraisals_kind")),
        sa.CheckConstraint("status IN ('applied', 'accepted', 'concluded')", name=op.f("ck_appraisals_status")),
        sa.CheckConstraint("grade IS NULL OR grade BETWEEN 1 AND 10", name=op.f("ck_appraisals_grade")),
        sa.ForeignKeyConstraint(["accepted_by"], ["users.id"], name=op.f("fk_appraisals_accepted_by_users")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_appraisals_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["committee_code"], ["regions.code"], name=op.f("fk_appraisals_committee_code_regions")
        ),
        sa.ForeignKeyConstraint(["concluded_by"], ["users.id"], name=op.f("fk_appraisals_concluded_by_users")),
        sa.ForeignKeyConstraint(["extended_by"], ["users.id"], name=op.f("fk_appraisals_extended_by_users")),
        sa.ForeignKeyConstraint(["letter_id"], ["case_letters.id"], name=op.f("fk_appraisals_letter_id_case_letters")),
        sa.ForeignKeyConstraint(["previous_id"], ["appraisals.id"], name=op.f("fk_appraisals_previous_id_appraisals")),
        sa.ForeignKeyConstraint(["registered_by"], ["users.id"], name=op.f("fk_appraisals_registered_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisals")),
        sa.UniqueConstraint("number", name=op.f("uq_appraisals_number")),
    )
    op.create_index(op.f("ix_appraisals_case_id"), "appraisals", ["case_id"], unique=False)
    op.create_index("ix_appraisals_worklist", "appraisals", ["status", "committee_code", "due_on"], unique=False)
    op.create_table(
        "appraisal_draws",
        sa.Column("appraisal_id", sa.BigInteger(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.SmallInteger(), nullable=False),
        sa.Column("needed_specialties", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("candidates", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("excluded", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("panel", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("covers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drawn_by", sa.BigInteger(), nullable=True),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appraisal_id"], ["appraisals.id"], name=op.f("fk_appraisal_draws_appraisal_id_appraisals")
        ),
        sa.ForeignKeyConstraint(["drawn_by"], ["users.id"], name=op.f("fk_appraisal_draws_drawn_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal_draws")),
    )
    op.create_index(op.f("ix_appraisal_draws_appraisal_id"), "appraisal_draws", ["appraisal_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_appraisal_draws_appraisal_id"), table_name="appraisal_draws")
    op.drop_table("appraisal_draws")
    op.drop_index("ix_appraisals_worklist", table_name="appraisals")
    op.drop_index(op.f("ix_appraisals_case_id"), table_name="appraisals")
    op.drop_table("appraisals")
