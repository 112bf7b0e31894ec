"""Review versions: every dossier and dossier document counts its changes (``version``), so an
official's decision made on a page showing an older state is refused instead of silently
overwriting another official's decision or a producer's re-upload.

Revision ID: 0010_review
Revises: 0009_officials
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_review"
down_revision: str | Sequence[str] | None = "0009_officials"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("dossiers", "dossier_documents")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("version", sa.Integer(), nullable=False, server_default="1")
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("version")
