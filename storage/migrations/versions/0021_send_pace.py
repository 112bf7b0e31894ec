"""Broadcasts through the outbox: the ``send_pace`` table (each channel's next free send slot
and pause, shared by every sender process), the outbox's ``announcement`` kind and
``cancelled`` status, the deliveries' ``gave_up`` reason, and an index on
``deliveries.outbox_id`` (the sender writes each copy's outcome back by it).

The state words are written out here on purpose (see 0006_state_checks).

Revision ID: 0021_send_pace
Revises: 0020_announcements
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_send_pace"
down_revision: str | Sequence[str] | None = "0020_announcements"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "expired", "unreachable")
OUTBOX_KINDS = ("reply", "notification")
DELIVERY_REASONS = ("blocked", "deleted", "outside_window", "refused")
# table → [(column, its words before, its words after)]
CHECKS: dict[str, list[tuple[str, tuple[str, ...], tuple[str, ...]]]] = {
    "outbox": [
        ("status", OUTBOX_STATUSES, (*OUTBOX_STATUSES, "cancelled")),
        ("kind", OUTBOX_KINDS, (*OUTBOX_KINDS, "announcement")),
    ],
    "deliveries": [("reason", DELIVERY_REASONS, (*DELIVERY_REASONS, "gave_up"))],
}


def _condition(table: str, column: str, words: Sequence[str]) -> str:
    listed = ", ".join(f"'{word}'" for word in words)
    if table == "deliveries":
        return f"{column} IS NULL OR {column} IN ({listed})"
    return f"{column} IN ({listed})"


def _replace_checks(index: int) -> None:
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, recreate="auto") as batch:
            for column, before, after in checks:
                name = op.f(f"ck_{table}_{column}")
                batch.drop_constraint(name, type_="check")
                batch.create_check_constraint(
                    name, _condition(table, column, (before, after)[index])
                )


def upgrade() -> None:
    op.create_table(
        "send_pace",
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("next_slot_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_send_pace")),
    )
    _replace_checks(1)
    op.create_index("ix_deliveries_outbox_id", "deliveries", ["outbox_id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_outbox_id", table_name="deliveries")
    _replace_checks(0)
    op.drop_table("send_pace")
