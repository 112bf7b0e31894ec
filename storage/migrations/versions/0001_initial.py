"""Initial schema and the 34 provinces of 2025.

Tables: users, channel_identities, conversations, inbox, outbox, transcript, areas, producers,
producer_members, audit_log. Data: the provinces of storage/data/provinces-2025.json.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.areas import province_rows

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT (as in models.py).
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)  # storage.types.UTCDateTime stores this


def upgrade() -> None:
    _create_users()
    _create_messaging()
    _create_areas()
    _create_producers()
    _create_audit_log()
    _seed_provinces()


def _create_users() -> None:
    op.create_table(
        "users",
        sa.Column("id", ID, nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_table(
        "channel_identities",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("blocked_at", UTC, nullable=True),
        sa.Column("last_inbound_at", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_channel_identities_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_identities")),
        sa.UniqueConstraint(
            "channel", "chat_id", name=op.f("uq_channel_identities_channel_chat_id")
        ),
    )
    op.create_index(
        op.f("ix_channel_identities_user_id"), "channel_identities", ["user_id"], unique=False
    )
    op.create_table(
        "conversations",
        sa.Column("id", ID, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("flow", sa.String(length=40), nullable=False),
        sa.Column("step", sa.String(length=60), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_conversations_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("channel", "chat_id", name=op.f("uq_conversations_channel_chat_id")),
    )
    op.create_index(op.f("ix_conversations_user_id"), "conversations", ["user_id"], unique=False)


def _create_messaging() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", ID, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=80), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("received_at", UTC, nullable=False),
        sa.Column("processed_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("channel", "event_id", name=op.f("uq_inbox_channel_event_id")),
    )
    op.create_index(
        "ix_inbox_pending", "inbox", ["status", "channel", "chat_id", "id"], unique=False
    )
    op.create_table(
        "outbox",
        sa.Column("id", ID, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC, nullable=False),
        sa.Column("lease_until", UTC, nullable=True),
        sa.Column("expires_at", UTC, nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("platform_message_id", sa.String(length=64), nullable=True),
        sa.Column("inbox_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("sent_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_chat", "outbox", ["channel", "chat_id", "id"], unique=False)
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"], unique=False)
    op.create_table(
        "transcript",
        sa.Column("id", ID, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcript")),
    )
    op.create_index("ix_transcript_chat", "transcript", ["channel", "chat_id", "id"], unique=False)


def _create_areas() -> None:
    op.create_table(
        "areas",
        sa.Column("id", ID, nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("search_name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("parent_id", ID, nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["areas.id"], name=op.f("fk_areas_parent_id_areas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_areas")),
        sa.UniqueConstraint("code", "valid_from", name=op.f("uq_areas_code_valid_from")),
    )
    op.create_index(op.f("ix_areas_code"), "areas", ["code"], unique=False)
    op.create_index(op.f("ix_areas_parent_id"), "areas", ["parent_id"], unique=False)
    op.create_index(op.f("ix_areas_search_name"), "areas", ["search_name"], unique=False)


def _create_producers() -> None:
    op.create_table(
        "producers",
        sa.Column("id", ID, nullable=False),
        sa.Column("org_type", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("tax_code", sa.String(length=20), nullable=False),
        sa.Column("business_reg_no", sa.String(length=60), nullable=True),
        sa.Column("rep_name", sa.String(length=200), nullable=False),
        sa.Column("rep_position", sa.String(length=120), nullable=False),
        sa.Column("rep_gender", sa.String(length=10), nullable=False),
        sa.Column("rep_ethnicity", sa.String(length=60), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("phone_verified", sa.Boolean(), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("province_id", ID, nullable=False),
        sa.Column("commune_id", ID, nullable=True),
        sa.Column("commune_name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_id"], ["areas.id"], name=op.f("fk_producers_commune_id_areas")
        ),
        sa.ForeignKeyConstraint(
            ["province_id"], ["areas.id"], name=op.f("fk_producers_province_id_areas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_producers")),
    )
    op.create_index(op.f("ix_producers_tax_code"), "producers", ["tax_code"], unique=False)
    op.create_table(
        "producer_members",
        sa.Column("id", ID, nullable=False),
        sa.Column("producer_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("joined_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["producer_id"],
            ["producers.id"],
            name=op.f("fk_producer_members_producer_id_producers"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_producer_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_producer_members")),
        sa.UniqueConstraint(
            "producer_id", "user_id", name=op.f("uq_producer_members_producer_id_user_id")
        ),
        sa.UniqueConstraint("user_id", name=op.f("uq_producer_members_user_id")),
    )
    op.create_index(
        op.f("ix_producer_members_producer_id"), "producer_members", ["producer_id"], unique=False
    )


def _create_audit_log() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", ID, nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_entity", "audit_log", ["entity", "entity_id"], unique=False)


def _seed_provinces() -> None:
    """Data step: the 34 provinces of 2025 (storage/data/provinces-2025.json)."""
    areas = sa.table(
        "areas",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("search_name", sa.String),
        sa.column("level", sa.String),
        sa.column("parent_id", sa.Integer),
        sa.column("valid_from", sa.Date),
        sa.column("valid_to", sa.Date),
    )
    op.bulk_insert(areas, province_rows())


def downgrade() -> None:
    for table in (
        "audit_log",
        "producer_members",
        "producers",
        "areas",
        "transcript",
        "outbox",
        "inbox",
        "conversations",
        "channel_identities",
        "users",
    ):
        op.drop_table(table)
