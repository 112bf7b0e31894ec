"""Areas keep the other names they are found by: ``aliases`` (spellings people type) and
``merged_from`` (units merged into them on 1 July 2025), one name a line, empty by default.

Revision ID: 0007_area_names
Revises: 0006_state_checks
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_area_names"
down_revision: str | Sequence[str] | None = "0006_state_checks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("aliases", "merged_from")


def upgrade() -> None:
    with op.batch_alter_table("areas", schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.add_column(sa.Column(column, sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("areas", schema=None) as batch_op:
        for column in reversed(COLUMNS):
            batch_op.drop_column(column)
