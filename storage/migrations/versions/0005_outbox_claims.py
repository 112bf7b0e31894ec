"""The outbox remembers which sender claimed a message (``claimed_by``), so a restarted sender
puts its own interrupted claims back at once instead of waiting for their lease.

Revision ID: 0005_outbox_claims
Revises: 0004_join_codes
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_outbox_claims"
down_revision: str | Sequence[str] | None = "0004_join_codes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")
