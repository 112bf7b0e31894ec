"""Zalo: each Official Account's OAuth pair (``zalo_tokens``: the access token, the single-use
refresh token, the refresher's lease, a refused refresh) and one-time codes that link a second
channel to a person (``link_codes``, hashed).

Revision ID: 0022_zalo
Revises: 0021_send_pace
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_zalo"
down_revision: str | Sequence[str] | None = "0021_send_pace"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "zalo_tokens",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("access_expires_at", UTC, nullable=True),
        sa.Column("refreshed_at", UTC, nullable=True),
        sa.Column("lease_owner", sa.String(length=120), nullable=True),
        sa.Column("lease_until", UTC, nullable=True),
        sa.Column("failed_at", UTC, nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_zalo_tokens")),
    )
    op.create_table(
        "link_codes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("used_at", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_link_codes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_link_codes_code_hash")),
    )
    op.create_index(op.f("ix_link_codes_user_id"), "link_codes", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_link_codes_user_id"), table_name="link_codes")
    op.drop_table("link_codes")
    op.drop_table("zalo_tokens")
