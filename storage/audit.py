"""The audit log: one entry next to every change, in the change's own transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry
from storage.states import ActorKind

__all__ = ["audit"]


def audit(
    session: AsyncSession,
    *,
    actor_kind: ActorKind,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    **details: Any,
) -> AuditEntry:
    """Add an audit entry to ``session`` (committed with the change it describes)."""
    entry = AuditEntry(
        actor_kind=actor_kind,
        actor_id=actor_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        details=details,
    )
    session.add(entry)
    return entry
