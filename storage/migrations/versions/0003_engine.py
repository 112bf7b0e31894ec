"""Inbox: platform order (``seq``), the downloaded file of a file event and its download lease.

Revision ID: 0003_engine
Revises: 0002
Create Date: 2026-11-29 20:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_engine"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("seq", sa.BigInteger(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(sa.Column("file_result", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("fetch_lease_until", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.alter_column("seq", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_column("fetch_lease_until")
        batch_op.drop_column("file_result")
        batch_op.drop_column("seq")
