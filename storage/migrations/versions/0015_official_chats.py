"""Officials' chats for notifications: the linked chat and the preference, the one-time link
codes shown in the console, and the events waiting for a daily digest.

The state words are written out here on purpose (see 0006_state_checks).

Revision ID: 0015_official_chats
Revises: 0014_plans
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0015_official_chats"
down_revision: str | Sequence[str] | None = "0014_plans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MODES = ("every", "digest", "muted")
EVENTS = ("registered", "submitted", "reuploaded", "question")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _words(words: Sequence[str]) -> str:
    return ", ".join(f"'{word}'" for word in words)


def upgrade() -> None:
    op.create_table(
        "official_chats",
        sa.Column("official_id", BIG_ID, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("chat_id", sa.String(length=64), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        _time("linked_at", nullable=True),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("digest_hour", sa.Integer(), nullable=False),
        sa.Column("last_digest_on", sa.Date(), nullable=True),
        sa.CheckConstraint(f"mode IN ({_words(MODES)})", name=op.f("ck_official_chats_mode")),
        sa.ForeignKeyConstraint(
            ["official_id"], ["officials.id"], name=op.f("fk_official_chats_official_id_officials")
        ),
        sa.PrimaryKeyConstraint("official_id", name=op.f("pk_official_chats")),
    )
    op.create_table(
        "official_link_codes",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("official_id", BIG_ID, nullable=False),
        sa.Column("selector", sa.String(length=8), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        _time("created_at"),
        _time("expires_at"),
        _time("used_at", nullable=True),
        sa.Column("used_by", sa.BigInteger(), nullable=True),
        _time("revoked_at", nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["official_id"],
            ["officials.id"],
            name=op.f("fk_official_link_codes_official_id_officials"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_official_link_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_official_link_codes_code_hash")),
    )
    op.create_index(
        op.f("ix_official_link_codes_official_id"), "official_link_codes", ["official_id"]
    )
    op.create_index(op.f("ix_official_link_codes_selector"), "official_link_codes", ["selector"])
    op.create_table(
        "official_digest_items",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("official_id", BIG_ID, nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("producer_id", BIG_ID, nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=True),
        sa.Column("path", sa.String(length=200), nullable=False),
        _time("created_at"),
        _time("sent_at", nullable=True),
        sa.CheckConstraint(
            f"event IN ({_words(EVENTS)})", name=op.f("ck_official_digest_items_event")
        ),
        sa.ForeignKeyConstraint(
            ["official_id"],
            ["officials.id"],
            name=op.f("fk_official_digest_items_official_id_officials"),
        ),
        sa.ForeignKeyConstraint(
            ["producer_id"],
            ["producers.id"],
            name=op.f("fk_official_digest_items_producer_id_producers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_official_digest_items")),
    )
    op.create_index(
        "ix_official_digest_items_official_id_sent_at",
        "official_digest_items",
        ["official_id", "sent_at"],
    )


def downgrade() -> None:
    op.drop_table("official_digest_items")
    op.drop_table("official_link_codes")
    op.drop_table("official_chats")
