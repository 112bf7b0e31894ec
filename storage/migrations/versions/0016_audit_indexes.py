"""The audit log as the console reads it: each entry names the producer it is about
(``audit_log.producer_id``, filled from the entity for the entries already written), and
indexes for its filters (producer, official, action, date), each ending in ``id`` for the
newest-first keyset paging.

Revision ID: 0016_audit_indexes
Revises: 0015_official_chats
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_audit_indexes"
down_revision: str | Sequence[str] | None = "0015_official_chats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The entries written before this revision: the producer of each entity.
BACKFILL = {
    "producer": "SELECT p.id FROM producers p WHERE p.id = audit_log.entity_id",
    "product": "SELECT p.producer_id FROM products p WHERE p.id = audit_log.entity_id",
    "dossier": (
        "SELECT p.producer_id FROM dossiers d JOIN products p ON p.id = d.product_id "
        "WHERE d.id = audit_log.entity_id"
    ),
    "dossier_document": (
        "SELECT p.producer_id FROM dossier_documents x JOIN dossiers d ON d.id = x.dossier_id "
        "JOIN products p ON p.id = d.product_id WHERE x.id = audit_log.entity_id"
    ),
}


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("producer_id", sa.BigInteger(), nullable=True))
    for entity, producer in BACKFILL.items():
        op.execute(
            sa.text(
                f"UPDATE audit_log SET producer_id = ({producer}) WHERE entity = :entity"
            ).bindparams(entity=entity)
        )
    op.create_index("ix_audit_producer", "audit_log", ["producer_id", "action", "id"])
    op.create_index("ix_audit_actor", "audit_log", ["actor_kind", "actor_id", "id"])
    op.create_index("ix_audit_action", "audit_log", ["action", "id"])
    op.create_index("ix_audit_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_at", table_name="audit_log")
    op.drop_index("ix_audit_action", table_name="audit_log")
    op.drop_index("ix_audit_actor", table_name="audit_log")
    op.drop_index("ix_audit_producer", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("producer_id")
