"""Evaluation rounds and their results: rounds (calendar, level, rule set) and the areas each
covers, dossiers entered in a round with the council's outcome, council members and their score
sheets, certificates; and the officials who may sit on a council (``officials.council``).

The state words are written out here on purpose (see 0006_state_checks).

Revision ID: 0017_rounds
Revises: 0016_audit_indexes
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_rounds"
down_revision: str | Sequence[str] | None = "0016_audit_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rounds",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("submission_deadline", sa.Date(), nullable=False),
        sa.Column("evaluation_deadline", sa.Date(), nullable=False),
        sa.Column("results_on", sa.Date(), nullable=False),
        sa.Column("ceremony_on", sa.Date(), nullable=True),
        sa.Column("rules_version", sa.String(length=20), nullable=False),
        sa.Column("scores_closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("level IN ('province', 'central')", name=op.f("ck_rounds_level")),
        sa.CheckConstraint(
            "opens_on <= submission_deadline AND submission_deadline <= evaluation_deadline "
            "AND evaluation_deadline <= results_on",
            name=op.f("ck_rounds_calendar"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["officials.id"], name=op.f("fk_rounds_created_by_officials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rounds")),
    )
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rounds_submission_deadline", ["submission_deadline"], unique=False
        )

    op.create_table(
        "council_members",
        sa.Column(
            "round_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "official_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("chair", sa.Boolean(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["official_id"],
            ["officials.id"],
            name=op.f("fk_council_members_official_id_officials"),
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_council_members_round_id_rounds")
        ),
        sa.PrimaryKeyConstraint("round_id", "official_id", name=op.f("pk_council_members")),
    )
    op.create_table(
        "round_areas",
        sa.Column(
            "round_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("area_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_round_areas_area_id_areas")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_round_areas_round_id_rounds")
        ),
        sa.PrimaryKeyConstraint("round_id", "area_id", name=op.f("pk_round_areas")),
    )
    with op.batch_alter_table("round_areas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_round_areas_area_id"), ["area_id"], unique=False)

    op.create_table(
        "round_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "round_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "dossier_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "producer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column(
            "assigned_to", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("stars_by_points", sa.Integer(), nullable=True),
        sa.Column("stars", sa.Integer(), nullable=True),
        sa.Column("capped_by", sa.JSON(), nullable=True),
        sa.Column("knocked_out", sa.JSON(), nullable=True),
        sa.Column("potential_five_star", sa.Boolean(), nullable=False),
        sa.Column("rules_version", sa.String(length=20), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "status IN ('submitted', 'in_review', 'scored', 'published')",
            name=op.f("ck_round_entries_status"),
        ),
        sa.ForeignKeyConstraint(
            ["assigned_to"], ["officials.id"], name=op.f("fk_round_entries_assigned_to_officials")
        ),
        sa.ForeignKeyConstraint(
            ["dossier_id"], ["dossiers.id"], name=op.f("fk_round_entries_dossier_id_dossiers")
        ),
        sa.ForeignKeyConstraint(
            ["producer_id"], ["producers.id"], name=op.f("fk_round_entries_producer_id_producers")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_round_entries_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_round_entries_round_id_rounds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_entries")),
        sa.UniqueConstraint("dossier_id", name=op.f("uq_round_entries_dossier_id")),
    )
    with op.batch_alter_table("round_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_round_entries_producer_id"), ["producer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_round_entries_product_id"), ["product_id"], unique=False
        )
        batch_op.create_index(
            "ix_round_entries_round_id_status", ["round_id", "status"], unique=False
        )

    op.create_table(
        "certificates",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "producer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=False),
        sa.Column("rules_version", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column(
            "issued_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.Column("revoked_ground", sa.String(length=20), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.Column(
            "revoked_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "revoked_ground IS NULL OR revoked_ground IN ('forged_dossier', 'criteria_not_met', "
            "'law_violation', 'mark_misuse', 'production_stopped', 'other')",
            name=op.f("ck_certificates_revoked_ground"),
        ),
        sa.CheckConstraint("status IN ('valid', 'revoked')", name=op.f("ck_certificates_status")),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["round_entries.id"], name=op.f("fk_certificates_entry_id_round_entries")
        ),
        sa.ForeignKeyConstraint(
            ["issued_by"], ["officials.id"], name=op.f("fk_certificates_issued_by_officials")
        ),
        sa.ForeignKeyConstraint(
            ["producer_id"], ["producers.id"], name=op.f("fk_certificates_producer_id_producers")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_certificates_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by"], ["officials.id"], name=op.f("fk_certificates_revoked_by_officials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_certificates_entry_id")),
        sa.UniqueConstraint("number", name=op.f("uq_certificates_number")),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certificates_expires_on"), ["expires_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_certificates_producer_id"), ["producer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_certificates_product_id"), ["product_id"], unique=False
        )

    op.create_table(
        "score_sheets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "official_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("minimums_met", sa.JSON(), nullable=False),
        sa.Column("knockouts", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["round_entries.id"], name=op.f("fk_score_sheets_entry_id_round_entries")
        ),
        sa.ForeignKeyConstraint(
            ["official_id"], ["officials.id"], name=op.f("fk_score_sheets_official_id_officials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_sheets")),
        sa.UniqueConstraint(
            "entry_id", "official_id", name=op.f("uq_score_sheets_entry_id_official_id")
        ),
    )
    with op.batch_alter_table("score_sheets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_score_sheets_official_id"), ["official_id"], unique=False
        )

    with op.batch_alter_table("officials", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("council", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("officials", schema=None) as batch_op:
        batch_op.drop_column("council")

    with op.batch_alter_table("score_sheets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_score_sheets_official_id"))

    op.drop_table("score_sheets")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificates_product_id"))
        batch_op.drop_index(batch_op.f("ix_certificates_producer_id"))
        batch_op.drop_index(batch_op.f("ix_certificates_expires_on"))

    op.drop_table("certificates")
    with op.batch_alter_table("round_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_round_entries_round_id_status")
        batch_op.drop_index(batch_op.f("ix_round_entries_product_id"))
        batch_op.drop_index(batch_op.f("ix_round_entries_producer_id"))

    op.drop_table("round_entries")
    with op.batch_alter_table("round_areas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_round_areas_area_id"))

    op.drop_table("round_areas")
    op.drop_table("council_members")
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_index("ix_rounds_submission_deadline")

    op.drop_table("rounds")
