"""A dossier that concerns a certificate keeps the certificate's issue date
(``certificate_issued``), from which its expiry and re-rating window follow (Art. 7.6).

Revision ID: 0008_certificate_issue_date
Revises: 0007_area_names
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_certificate_issue_date"
down_revision: str | Sequence[str] | None = "0007_area_names"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("certificate_issued", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.drop_column("certificate_issued")
