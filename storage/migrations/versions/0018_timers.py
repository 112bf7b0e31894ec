"""Timed work: the ``timers`` table (reminders and other work that falls due at a time),
claimed by the scheduler loop under a lease.

The state words are written out here on purpose (see 0006_state_checks).

Revision ID: 0018_timers
Revises: 0017_rounds
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_timers"
down_revision: str | Sequence[str] | None = "0017_rounds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("deadline_reminder", "rerating_opens", "rerating_closing")
STATUSES = ("pending", "claimed", "done", "cancelled", "failed")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _words(words: Sequence[str]) -> str:
    return ", ".join(f"'{word}'" for word in words)


def upgrade() -> None:
    op.create_table(
        "timers",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(f"kind IN ({_words(KINDS)})", name=op.f("ck_timers_kind")),
        sa.CheckConstraint(f"status IN ({_words(STATUSES)})", name=op.f("ck_timers_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timers")),
        sa.UniqueConstraint("key", name=op.f("uq_timers_key")),
    )
    op.create_index("ix_timers_due", "timers", ["status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_timers_due", table_name="timers")
    op.drop_table("timers")
