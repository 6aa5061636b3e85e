"""appraisal: the appraisal committees' expert pools (appraisal_experts) and the ties experts stand aside for (appraisal_expert_ties)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 15:23:36

An expert belongs to a city's labour-capacity appraisal committee (its region code) or to the
regional committee (450000). A tie names a platform or a person (resident ID number: encrypted,
blind index, masked) the expert must stand aside for; ties are ended, never deleted.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appraisal_experts",
        sa.Column("committee_code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("specialty_code", sa.String(length=32), nullable=False),
        sa.Column("organisation", sa.String(length=128), nullable=False),
        sa.Column("title", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("inactive_reason", sa.Text(), nullable=True),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=True),
        sa.Column("phone_hint", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["committee_code"], ["regions.code"], name=op.f("fk_appraisal_experts_committee_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal_experts")),
    )
    op.create_index(op.f("ix_appraisal_experts_committee_code"), "appraisal_experts", ["committee_code"], unique=False)
    op.create_index(op.f("ix_appraisal_experts_specialty_code"), "appraisal_experts", ["specialty_code"], unique=False)
    op.create_table(
        "appraisal_expert_ties",
        sa.Column("expert_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("platform_id", sa.BigInteger(), nullable=True),
        sa.Column("person_id", sa.BigInteger(), nullable=True),
        sa.Column("person_name", sa.String(length=64), nullable=False),
        sa.Column("id_enc", sa.LargeBinary(), nullable=True),
        sa.Column("id_bidx", sa.LargeBinary(), nullable=True),
        sa.Column("id_masked", sa.String(length=18), nullable=False),
        sa.Column("relation", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_by", sa.BigInteger(), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "(kind = 'platform' AND platform_id IS NOT NULL) OR (kind = 'person' AND id_bidx IS NOT NULL)",
            name=op.f("ck_appraisal_expert_ties_tie_target"),
        ),
        sa.ForeignKeyConstraint(["added_by"], ["users.id"], name=op.f("fk_appraisal_expert_ties_added_by_users")),
        sa.ForeignKeyConstraint(
            ["expert_id"], ["appraisal_experts.id"], name=op.f("fk_appraisal_expert_ties_expert_id_appraisal_experts")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_appraisal_expert_ties_person_id_persons")),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_appraisal_expert_ties_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(["removed_by"], ["users.id"], name=op.f("fk_appraisal_expert_ties_removed_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal_expert_ties")),
    )
    op.create_index(op.f("ix_appraisal_expert_ties_expert_id"), "appraisal_expert_ties", ["expert_id"], unique=False)
    op.create_index(op.f("ix_appraisal_expert_ties_id_bidx"), "appraisal_expert_ties", ["id_bidx"], unique=False)
    op.create_index(op.f("ix_appraisal_expert_ties_person_id"), "appraisal_expert_ties", ["person_id"], unique=False)
    op.create_index(
        op.f("ix_appraisal_expert_ties_platform_id"), "appraisal_expert_ties", ["platform_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_appraisal_expert_ties_platform_id"), table_name="appraisal_expert_ties")
    op.drop_index(op.f("ix_appraisal_expert_ties_person_id"), table_name="appraisal_expert_ties")
    op.drop_index(op.f("ix_appraisal_expert_ties_id_bidx"), table_name="appraisal_expert_ties")
    op.drop_index(op.f("ix_appraisal_expert_ties_expert_id"), table_name="appraisal_expert_ties")
    op.drop_table("appraisal_expert_ties")
    op.drop_index(op.f("ix_appraisal_experts_specialty_code"), table_name="appraisal_experts")
    op.drop_index(op.f("ix_appraisal_experts_committee_code"), table_name="appraisal_experts")
    op.drop_table("appraisal_experts")
