"""State words checked by the database: each status, kind and role column takes only its own
words (CHECK constraints, as ``storage/states.py`` defines them today).

The word lists are written out here on purpose: this migration must stay what it was when
an enum later gains a member (that change brings its own migration).

Revision ID: 0006_state_checks
Revises: 0005_outbox_claims
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_state_checks"
down_revision: str | Sequence[str] | None = "0005_outbox_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table → [(constraint name without the "ck_<table>_" prefix, column, allowed words)]
CHECKS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "inbox": [("status", "status", ("pending", "done", "failed", "parked"))],
    "outbox": [
        (
            "status",
            "status",
            ("pending", "sending", "sent", "failed", "expired", "unreachable"),
        ),
        ("kind", "kind", ("reply", "notification")),
    ],
    "transcript": [("direction", "direction", ("in", "out"))],
    "audit_log": [("actor_kind", "actor_kind", ("user", "official", "system"))],
    "producers": [("status", "status", ("registered",))],
    "producer_members": [("role", "role", ("owner", "member"))],
    "dossiers": [
        (
            "status",
            "status",
            ("draft", "submitted", "has_issues", "edited", "approved", "rejected"),
        )
    ],
    "dossier_documents": [
        ("status", "status", ("received", "has_issues", "edited", "approved", "rejected"))
    ],
}


def _condition(column: str, words: tuple[str, ...]) -> str:
    listed = ", ".join(f"'{word}'" for word in words)
    return f"{column} IN ({listed})"


def upgrade() -> None:
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, recreate="auto") as batch_op:
            for name, column, words in checks:
                batch_op.create_check_constraint(
                    op.f(f"ck_{table}_{name}"), _condition(column, words)
                )


def downgrade() -> None:
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, recreate="auto") as batch_op:
            for name, _column, _words in checks:
                batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
