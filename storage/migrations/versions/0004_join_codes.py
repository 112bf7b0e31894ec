"""Join codes resist guessing: a selector, counted wrong tries, revocation; every try recorded.

Codes made before this revision (8 characters, no selector) are revoked: a colleague asks for
a new one.

Revision ID: 0004_join_codes
Revises: 0003_engine
Create Date: 2026-11-29 20:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_join_codes"
down_revision: str | Sequence[str] | None = "0003_engine"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("join_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("selector", sa.String(length=8), nullable=True))
        batch_op.add_column(
            sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_join_codes_selector"), ["selector"], unique=False)
    with op.batch_alter_table("join_codes", schema=None) as batch_op:
        batch_op.alter_column("failed_attempts", server_default=None)
    op.execute(
        "UPDATE join_codes SET revoked_at = CURRENT_TIMESTAMP "
        "WHERE used_at IS NULL AND revoked_at IS NULL"
    )
    op.create_table(
        "join_attempts",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("join_code_id", ID, nullable=True),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["join_code_id"],
            ["join_codes.id"],
            name=op.f("fk_join_attempts_join_code_id_join_codes"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_join_attempts_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_join_attempts")),
    )
    op.create_index("ix_join_attempts_user_id_at", "join_attempts", ["user_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_join_attempts_user_id_at", table_name="join_attempts")
    op.drop_table("join_attempts")
    with op.batch_alter_table("join_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_join_codes_selector"))
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("failed_attempts")
        batch_op.drop_column("selector")
