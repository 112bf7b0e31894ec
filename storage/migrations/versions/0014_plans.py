"""Provinces' yearly OCOP plans and their targets (entered by administrators in the console).

Revision ID: 0014_plans
Revises: 0013_questions
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0014_plans"
down_revision: str | Sequence[str] | None = "0013_questions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("area_id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_by", BIG_ID, nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name=op.f("fk_plans_area_id_areas")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["officials.id"], name=op.f("fk_plans_created_by_officials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("area_id", "year", name=op.f("uq_plans_area_id_year")),
    )
    op.create_index(op.f("ix_plans_area_id"), "plans", ["area_id"])
    op.create_table(
        "plan_targets",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("plan_id", BIG_ID, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("min_stars", sa.Integer(), nullable=True),
        sa.Column("product_set", sa.Integer(), nullable=True),
        sa.Column("product_group", sa.String(length=10), nullable=True),
        sa.Column("tourism", sa.Boolean(), nullable=False),
        sa.Column("area_id", BIG_ID, nullable=True),
        _time("created_at"),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_plan_targets_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_plan_targets_area_id_areas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_targets")),
    )
    op.create_index(op.f("ix_plan_targets_plan_id"), "plan_targets", ["plan_id"])


def downgrade() -> None:
    op.drop_table("plan_targets")
    op.drop_table("plans")
