"""Conversations in the console: producers' questions to the office (``questions``), and on
each transcript line the outbox row it went out as (its delivery status) and the official who
wrote it from the console.

The status words are written out here on purpose (see 0006_state_checks).

Revision ID: 0013_questions
Revises: 0011_search
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0013_questions"
down_revision: str | Sequence[str] | None = "0011_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("open", "answered", "closed")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("transcript", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outbox_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("official_id", sa.BigInteger(), nullable=True))
    statuses = ", ".join(f"'{status}'" for status in STATUSES)
    op.create_table(
        "questions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("producer_id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        _time("created_at"),
        sa.Column("answered_by", BIG_ID, nullable=True),
        _time("answered_at", nullable=True),
        sa.CheckConstraint(f"status IN ({statuses})", name=op.f("ck_questions_status")),
        sa.ForeignKeyConstraint(
            ["producer_id"], ["producers.id"], name=op.f("fk_questions_producer_id_producers")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_questions_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["answered_by"], ["officials.id"], name=op.f("fk_questions_answered_by_officials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questions")),
    )
    op.create_index(op.f("ix_questions_producer_id"), "questions", ["producer_id"])
    op.create_index("ix_questions_status_created_at", "questions", ["status", "created_at"])


def downgrade() -> None:
    op.drop_table("questions")
    with op.batch_alter_table("transcript", schema=None) as batch_op:
        batch_op.drop_column("official_id")
        batch_op.drop_column("outbox_id")
