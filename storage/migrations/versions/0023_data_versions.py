"""Static data kept in memory gets a change marker: ``data_versions`` (one row per kind of data,
a new random token at every change), first for the areas, which the chat flows read from memory
(storage/area_cache.py) and ``ocop-bot areas import`` may change from another process.

A later migration that changes the areas must give the ``areas`` row a new token
(:func:`storage.data_versions.mark_changed`).

Revision ID: 0023_data_versions
Revises: 0022_zalo
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_data_versions"
down_revision: str | Sequence[str] | None = "0022_zalo"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "data_versions",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_data_versions")),
    )
    op.bulk_insert(table, [{"name": "areas", "token": uuid.uuid4().hex}])


def downgrade() -> None:
    op.drop_table("data_versions")
