"""The console's lists and search: producers and products keep their name folded
(``search_name``: lower case, without diacritics, as :func:`storage.text.fold` makes it), filled
here for the rows already there; indexes for keyset paging within an area, for the phone, the
product set and the dossier state.

Revision ID: 0011_search
Revises: 0010_review
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.text import fold

revision: str = "0011_search"
down_revision: str | Sequence[str] | None = "0010_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("producers", "products")
INDEXES = (
    ("ix_producers_commune_id_id", "producers", ["commune_id", "id"]),
    ("ix_producers_province_id_id", "producers", ["province_id", "id"]),
    ("ix_producers_phone", "producers", ["phone"]),
    ("ix_products_product_set_id", "products", ["product_set", "id"]),
    ("ix_dossiers_status_product_id", "dossiers", ["status", "product_id"]),
)
BATCH = 5000


def _fill(table_name: str) -> None:
    """Fold the names already stored, a batch at a time."""
    table = sa.table(
        table_name, sa.column("id", sa.Integer), sa.column("name"), sa.column("search_name")
    )
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(table.c.id, table.c.name)
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            sa.update(table).where(table.c.id == sa.bindparam("row_id")),
            [{"row_id": row_id, "search_name": fold(name or "")} for row_id, name in rows],
        )
        last = rows[-1][0]


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("search_name", sa.String(length=300), nullable=False, server_default="")
            )
        _fill(table)
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("search_name")
