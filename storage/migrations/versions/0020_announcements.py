"""Announcements to producers: the ``announcements`` table (an official's text, file, buttons,
audience and schedule), one ``deliveries`` row per recipient (unique per announcement, user and
channel), and ``users.announcements_muted_at`` for people who muted announcements.

The state words are written out here on purpose (see 0006_state_checks).

Revision ID: 0020_announcements
Revises: 0019_dashboard_speed
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_announcements"
down_revision: str | Sequence[str] | None = "0019_dashboard_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANNOUNCEMENT_STATUSES = ("draft", "scheduled", "sending", "done", "cancelled")
DELIVERY_STATUSES = ("waiting", "queued", "sent", "failed", "too_old", "cancelled")
DELIVERY_REASONS = ("blocked", "deleted", "outside_window", "refused")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _words(words: Sequence[str]) -> str:
    return ", ".join(f"'{word}'" for word in words)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("announcements_muted_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "announcements",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("created_by", BIG_ID, nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("text_vi", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=True),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("file_mime", sa.String(length=100), nullable=True),
        sa.Column("buttons", sa.JSON(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("round_id", BIG_ID, nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("materialized_after", sa.BigInteger(), nullable=True),
        sa.Column("materialized_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            f"status IN ({_words(ANNOUNCEMENT_STATUSES)})", name=op.f("ck_announcements_status")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["officials.id"], name=op.f("fk_announcements_created_by_officials")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_announcements_round_id_rounds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
    )
    op.create_index("ix_announcements_created_by", "announcements", ["created_by"])
    op.create_index("ix_announcements_round_id", "announcements", ["round_id"])
    op.create_index(
        "ix_announcements_status_scheduled_at", "announcements", ["status", "scheduled_at"]
    )
    op.create_table(
        "deliveries",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("announcement_id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("producer_id", BIG_ID, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=True),
        sa.Column("outbox_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            f"status IN ({_words(DELIVERY_STATUSES)})", name=op.f("ck_deliveries_status")
        ),
        sa.CheckConstraint(
            f"reason IS NULL OR reason IN ({_words(DELIVERY_REASONS)})",
            name=op.f("ck_deliveries_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_deliveries_announcement_id_announcements"),
        ),
        sa.ForeignKeyConstraint(
            ["producer_id"], ["producers.id"], name=op.f("fk_deliveries_producer_id_producers")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_deliveries_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint(
            "announcement_id",
            "user_id",
            "channel",
            name=op.f("uq_deliveries_announcement_id_user_id_channel"),
        ),
    )
    op.create_index("ix_deliveries_user_id", "deliveries", ["user_id"])
    op.create_index(
        "ix_deliveries_announcement_id_status", "deliveries", ["announcement_id", "status", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_announcement_id_status", table_name="deliveries")
    op.drop_index("ix_deliveries_user_id", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_announcements_status_scheduled_at", table_name="announcements")
    op.drop_index("ix_announcements_round_id", table_name="announcements")
    op.drop_index("ix_announcements_created_by", table_name="announcements")
    op.drop_table("announcements")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("announcements_muted_at")
