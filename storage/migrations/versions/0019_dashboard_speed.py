"""What the dashboard counts, stored where it changes: each document's ``waiting_since`` (set
while it waits for an official's review, with a partial index so "oldest first" is an index
walk) and the ``latest`` mark of each product's newest dossier (unique per product), both
filled from the rows already written.

Revision ID: 0019_dashboard_speed
Revises: 0018_timers
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_dashboard_speed"
down_revision: str | Sequence[str] | None = "0018_timers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The states as they are at this revision (storage/states.py: AWAITING_REVIEW, UNDER_REVIEW).
AWAITING_REVIEW = ("received", "edited")
UNDER_REVIEW = ("submitted", "has_issues", "edited")

# A waiting document has waited since the later of its last upload and its dossier's filing.
WAITING_SINCE = sa.text(
    "UPDATE dossier_documents SET waiting_since = ("
    " SELECT CASE WHEN d.submitted_at IS NULL OR dossier_documents.updated_at > d.submitted_at"
    " THEN dossier_documents.updated_at ELSE d.submitted_at END"
    " FROM dossiers d WHERE d.id = dossier_documents.dossier_id AND d.status IN :dossier)"
    " WHERE status IN :document"
).bindparams(
    sa.bindparam("dossier", UNDER_REVIEW, expanding=True),
    sa.bindparam("document", AWAITING_REVIEW, expanding=True),
)
NOT_LATEST = sa.text(
    "UPDATE dossiers SET latest = :no WHERE id < ("
    " SELECT max(n.id) FROM dossiers n WHERE n.product_id = dossiers.product_id)"
).bindparams(no=False)


def upgrade() -> None:
    op.add_column(
        "dossier_documents",
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "dossiers",
        sa.Column("latest", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.execute(WAITING_SINCE)
    op.execute(NOT_LATEST)
    op.create_index(
        "ix_dossier_documents_waiting",
        "dossier_documents",
        ["waiting_since", "id"],
        sqlite_where=sa.text("waiting_since IS NOT NULL"),
        postgresql_where=sa.text("waiting_since IS NOT NULL"),
    )
    op.create_index(
        "uq_dossiers_latest_product_id",
        "dossiers",
        ["product_id"],
        unique=True,
        sqlite_where=sa.text("latest"),
        postgresql_where=sa.text("latest"),
    )
    op.create_index("ix_dossiers_status_latest", "dossiers", ["status", "latest"])


def downgrade() -> None:
    op.drop_index("ix_dossiers_status_latest", table_name="dossiers")
    op.drop_index("uq_dossiers_latest_product_id", table_name="dossiers")
    op.drop_index("ix_dossier_documents_waiting", table_name="dossier_documents")
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("latest")
    with op.batch_alter_table("dossier_documents") as batch:
        batch.drop_column("waiting_since")
