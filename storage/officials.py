"""Officials of the console: creating and changing them, and what each may see (their scope).

A commune official sees the producers of their commune(s), a province official those of their
province(s), an administrator every producer. Areas are matched by code, so an official keeps
their area when it gets a new version (a rename) in the area list.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import audit
from storage.clock import Clock
from storage.models import Area, ConsoleSession, Official, OfficialArea, Producer
from storage.passwords import PasswordError, check_new_password, hash_password, verify_password
from storage.states import ActorKind, OfficialRole

__all__ = [
    "OfficialError",
    "Scope",
    "WrongPassword",
    "add_official",
    "areas_of",
    "change_own_password",
    "disable_official",
    "fold_username",
    "get_official",
    "list_officials",
    "official_by_username",
    "revoke_sessions",
    "scope_of",
    "set_council",
    "set_password",
]

_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{2,59}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class OfficialError(ValueError):
    """A request about officials that cannot be done; the message says why."""


def fold_username(typed: str) -> str:
    """The stored form of a username: NFKC, trimmed, lower case (so "An.Nguyen" = "an.nguyen")."""
    return unicodedata.normalize("NFKC", typed).strip().casefold()


def _check_username(typed: str) -> str:
    username = fold_username(typed)
    if not _USERNAME.fullmatch(username):
        raise OfficialError(
            "a username has 3 to 60 characters: letters a-z, digits and . _ @ - "
            "(starting with a letter or digit)"
        )
    return username


def _check_display_name(typed: str) -> str:
    name = " ".join(_CONTROL.sub(" ", typed).split())
    if not name or len(name) > 200:
        raise OfficialError("a display name has 1 to 200 characters")
    return name


def _check_areas(role: OfficialRole, areas: Sequence[Area]) -> None:
    if role is OfficialRole.ADMIN:
        if areas:
            raise OfficialError("an administrator sees every area: give no areas")
        return
    if not areas:
        raise OfficialError(f"a {role} official needs at least one area")
    want_province = role is OfficialRole.PROVINCE
    wrong = [a.name for a in areas if (a.parent_id is None) != want_province]
    if wrong:
        kind = "provinces" if want_province else "communes"
        raise OfficialError(f"a {role} official's areas must be {kind}: not {', '.join(wrong)}")


async def add_official(
    session: AsyncSession,
    *,
    username: str,
    display_name: str,
    role: OfficialRole,
    areas: Sequence[Area],
    locale: str,
    password: str,
    clock: Clock,
    council: bool = False,
) -> Official:
    """A new official (audited); refuses a username already taken in any case. With
    ``council`` they may sit on rounds' evaluation councils."""
    name = _check_username(username)
    _check_areas(role, areas)
    check_new_password(password)
    if await official_by_username(session, name) is not None:
        raise OfficialError(f"the username {name} is taken")
    now = clock.now()
    official = Official(
        username=name,
        display_name=_check_display_name(display_name),
        role=role,
        locale=locale,
        password_hash=hash_password(password),
        council=council,
        created_at=now,
        updated_at=now,
    )
    session.add(official)
    await session.flush()
    session.add_all(OfficialArea(official_id=official.id, area_id=a.id) for a in areas)
    audit(
        session,
        actor_kind=ActorKind.SYSTEM,
        actor_id=None,
        action="official.add",
        entity="official",
        entity_id=official.id,
        role=str(role),
        areas=sorted(a.code for a in areas),
        council=council,
    )
    return official


async def set_council(session: AsyncSession, official: Official, on: bool, clock: Clock) -> bool:
    """Give or take the council role (audited); False when it was already so. Taking it does
    not remove the official from councils they sit on (see :mod:`storage.council`)."""
    if official.council == on:
        return False
    official.council = on
    official.updated_at = clock.now()
    audit(
        session,
        actor_kind=ActorKind.SYSTEM,
        actor_id=None,
        action="official.council_on" if on else "official.council_off",
        entity="official",
        entity_id=official.id,
    )
    return True


async def get_official(session: AsyncSession, official_id: int) -> Official | None:
    return await session.get(Official, official_id)


async def official_by_username(session: AsyncSession, typed: str) -> Official | None:
    """The official whose username is ``typed`` in any case, or None."""
    return await session.scalar(select(Official).where(Official.username == fold_username(typed)))


async def areas_of(session: AsyncSession, official_id: int) -> list[Area]:
    """The areas an official is responsible for, by name."""
    rows = await session.scalars(
        select(Area)
        .join(OfficialArea, OfficialArea.area_id == Area.id)
        .where(OfficialArea.official_id == official_id)
        .order_by(Area.name, Area.code)
    )
    return list(rows)


async def list_officials(session: AsyncSession) -> list[tuple[Official, list[Area]]]:
    """Every official with their areas, by username."""
    officials = await session.scalars(select(Official).order_by(Official.username))
    return [(o, await areas_of(session, o.id)) for o in officials]


async def revoke_sessions(session: AsyncSession, official_id: int, clock: Clock) -> None:
    """End every console session of the official now."""
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.official_id == official_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


async def disable_official(session: AsyncSession, official: Official, clock: Clock) -> None:
    """The official can no longer sign in, and their open sessions end (audited)."""
    now = clock.now()
    official.disabled_at = official.disabled_at or now
    official.updated_at = now
    await revoke_sessions(session, official.id, clock)
    audit(
        session,
        actor_kind=ActorKind.SYSTEM,
        actor_id=None,
        action="official.disable",
        entity="official",
        entity_id=official.id,
    )


async def set_password(
    session: AsyncSession, official: Official, password: str, clock: Clock
) -> None:
    """A new password; the official's open sessions end (audited, without the password)."""
    check_new_password(password)
    official.password_hash = hash_password(password)
    official.updated_at = clock.now()
    await revoke_sessions(session, official.id, clock)
    audit(
        session,
        actor_kind=ActorKind.SYSTEM,
        actor_id=None,
        action="official.reset_password",
        entity="official",
        entity_id=official.id,
    )


class WrongPassword(PasswordError):
    """The current password given to change it is not the official's."""


async def change_own_password(
    session: AsyncSession,
    official: Official,
    current: str,
    new: str,
    *,
    keep_session: int,
    clock: Clock,
) -> None:
    """The official changes their password (``current`` must match): their other sessions
    end, ``keep_session`` (the one they change it in) goes on; audited as theirs. Raises
    :class:`WrongPassword`, or :class:`PasswordError` for an unusable new one."""
    if not verify_password(official.password_hash, current):
        raise WrongPassword("the current password is wrong")
    check_new_password(new)
    now = clock.now()
    official.password_hash = hash_password(new)
    official.updated_at = now
    await session.execute(
        update(ConsoleSession)
        .where(
            ConsoleSession.official_id == official.id,
            ConsoleSession.id != keep_session,
            ConsoleSession.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    audit(
        session,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=official.id,
        action="official.change_password",
        entity="official",
        entity_id=official.id,
    )


@dataclass(frozen=True)
class Scope:
    """What one official may see: their role and the codes of their areas."""

    official_id: int
    role: OfficialRole
    codes: frozenset[str]

    @property
    def everything(self) -> bool:
        return self.role is OfficialRole.ADMIN

    def producers(self) -> ColumnElement[bool]:
        """A condition on :class:`Producer` rows: those this official may see."""
        if self.everything:
            return true()
        column = Producer.commune_id if self.role is OfficialRole.COMMUNE else Producer.province_id
        return column.in_(select(Area.id).where(Area.code.in_(self.codes)))

    async def count_producers(self, session: AsyncSession) -> int:
        """How many producers this official may see."""
        count = await session.scalar(
            select(func.count()).select_from(Producer).where(self.producers())
        )
        return int(count or 0)

    async def may_see_producer(self, session: AsyncSession, producer_id: int) -> bool:
        found = await session.scalar(
            select(Producer.id).where(Producer.id == producer_id, self.producers())
        )
        return found is not None

    async def may_see_area(self, session: AsyncSession, area_id: int) -> bool:
        """Whether the area is one of the official's or lies inside one of them."""
        if self.everything:
            return True
        area = await session.get(Area, area_id)
        seen: set[int] = set()
        while area is not None and area.id not in seen:
            if area.code in self.codes:
                return True
            seen.add(area.id)
            area = await session.get(Area, area.parent_id) if area.parent_id else None
        return False


async def scope_of(session: AsyncSession, official: Official) -> Scope:
    """The official's scope, read now (a change of areas applies to the next request)."""
    codes = await session.scalars(
        select(Area.code)
        .join(OfficialArea, OfficialArea.area_id == Area.id)
        .where(OfficialArea.official_id == official.id)
    )
    return Scope(official.id, OfficialRole(official.role), frozenset(codes))
