"""Producers (chủ thể OCOP) and the users who speak for them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import audit
from storage.clock import utcnow
from storage.models import Producer, ProducerMember
from storage.states import ActorKind, MemberRole

__all__ = ["PROFILE_FIELDS", "create_producer", "producer_of_user", "update_producer"]

# The columns a producer fills in through the registration form.
PROFILE_FIELDS = (
    "org_type",
    "name",
    "tax_code",
    "business_reg_no",
    "rep_name",
    "rep_position",
    "rep_gender",
    "rep_ethnicity",
    "phone",
    "phone_verified",
    "province_id",
    "commune_id",
    "commune_name",
    "email",
)


async def producer_of_user(session: AsyncSession, user_id: int) -> Producer | None:
    """The producer ``user_id`` speaks for, if any."""
    return await session.scalar(
        select(Producer)
        .join(ProducerMember, ProducerMember.producer_id == Producer.id)
        .where(ProducerMember.user_id == user_id)
    )


async def create_producer(session: AsyncSession, user_id: int, values: dict[str, Any]) -> Producer:
    """Register a producer with ``user_id`` as its owner; audited."""
    producer = Producer(**{k: values.get(k) for k in PROFILE_FIELDS if k in values})
    session.add(producer)
    await session.flush()
    session.add(ProducerMember(producer_id=producer.id, user_id=user_id, role=MemberRole.OWNER))
    audit(
        session,
        actor_kind=ActorKind.USER,
        actor_id=user_id,
        action="producer.registered",
        entity="producer",
        entity_id=producer.id,
        values={k: values.get(k) for k in PROFILE_FIELDS if k in values},
    )
    return producer


async def update_producer(
    session: AsyncSession, producer: Producer, user_id: int, values: dict[str, Any]
) -> dict[str, tuple[Any, Any]]:
    """Change a producer's profile; returns and audits what changed (old, new)."""
    changes = {}
    for key in PROFILE_FIELDS:
        if key in values and getattr(producer, key) != values[key]:
            changes[key] = (getattr(producer, key), values[key])
            setattr(producer, key, values[key])
    if changes:
        producer.updated_at = utcnow()
        audit(
            session,
            actor_kind=ActorKind.USER,
            actor_id=user_id,
            action="producer.updated",
            entity="producer",
            entity_id=producer.id,
            changes={k: list(v) for k, v in changes.items()},
        )
    return changes
