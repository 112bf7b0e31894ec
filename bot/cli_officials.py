"""``ocop-bot officials add | list | disable | reset-password | council``: the console's accounts.

Passwords are asked at a prompt (twice) or read from standard input with ``--password-stdin``,
never taken from the command line (it would stay in the shell's history and in ``ps``). Areas
are given by code or by name: provinces as the chat finds them, communes by code or by name
within ``--province``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import LOCALES
from bot.settings import Settings
from storage.areas import areas_with_code, find_commune, find_province
from storage.clock import SYSTEM_CLOCK
from storage.db import Database
from storage.models import Area
from storage.officials import (
    OfficialError,
    add_official,
    disable_official,
    list_officials,
    official_by_username,
    set_council,
    set_password,
)
from storage.passwords import PasswordError, check_new_password
from storage.states import OfficialRole
from storage.text import fold, strip_area_prefix

__all__ = ["run_officials"]


class CommandError(Exception):
    """What the operator did wrong, said on stderr; the command exits with 1."""


def read_password(from_stdin: bool) -> str:
    """The new password: one line of standard input, or typed twice at a hidden prompt."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        if not sys.stdin.isatty():
            raise CommandError("no terminal to ask the password at: use --password-stdin")
        password = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != password:
            raise CommandError("the two passwords differ")
    try:
        check_new_password(password)
    except PasswordError as exc:
        raise CommandError(str(exc)) from None
    return password


def _same(area: Area, typed: str) -> bool:
    code = typed.strip()
    if code.isdigit() and area.code.isdigit():
        return area.code.lstrip("0") == code.lstrip("0")
    name, want = fold(area.name), fold(typed)
    return name == want or strip_area_prefix(name) == strip_area_prefix(want)


def _one(typed: str, candidates: Sequence[Area], kind: str) -> Area:
    exact = [a for a in candidates if _same(a, typed)]
    if len(exact) == 1:
        return exact[0]
    listed = "; ".join(f"{a.code} {a.name}" for a in (exact or candidates))
    if exact:
        raise CommandError(f"{typed!r} names several {kind}s: {listed}. Give the code.")
    hint = f" Closest: {listed}." if listed else ""
    raise CommandError(f"no {kind} {typed!r}.{hint}")


async def _provinces(session: AsyncSession, typed: str) -> list[Area]:
    return [match.area for match in await find_province(session, typed)]


async def resolve_areas(
    session: AsyncSession, role: OfficialRole, typed: Sequence[str], province: str | None
) -> list[Area]:
    """The areas named on the command line, each matched exactly (by code or name)."""
    if role is OfficialRole.PROVINCE:
        return [_one(t, await _provinces(session, t), "province") for t in typed]
    if role is OfficialRole.ADMIN:
        return []
    parent = _one(province, await _provinces(session, province), "province") if province else None
    found = []
    for t in typed:
        if parent is not None:
            candidates = [m.area for m in await find_commune(session, parent.id, t)]
        elif t.strip().isdigit():
            candidates = [a for a in await areas_with_code(session, t) if a.parent_id]
        else:
            raise CommandError(f"give --province to find the commune {t!r} by name (or its code)")
        found.append(_one(t, candidates, "commune"))
    return found


async def _add(db: Database, args: argparse.Namespace) -> str:
    if args.locale not in LOCALES:
        raise CommandError(f"--locale is one of {', '.join(LOCALES)}")
    role = OfficialRole(args.role)
    async with db.sessions() as session:
        areas = await resolve_areas(session, role, args.area or [], args.province)
        if await official_by_username(session, args.username) is not None:
            raise CommandError(f"the username {args.username!r} is taken")
    password = read_password(args.password_stdin)  # outside any transaction: a person types
    async with db.transaction() as session:
        official = await add_official(
            session,
            username=args.username,
            display_name=args.name,
            role=role,
            areas=areas,
            locale=args.locale,
            password=password,
            clock=SYSTEM_CLOCK,
            council=args.council,
        )
    where = ", ".join(f"{a.name} ({a.code})" for a in areas) or "every area"
    council = ", council member" if official.council else ""
    return f"Added {official.username} ({role}: {where}{council})."


async def _list(db: Database) -> str:
    async with db.sessions() as session:
        officials = await list_officials(session)
    if not officials:
        return "No officials yet: add one with `ocop-bot officials add`."
    lines = []
    for official, areas in officials:
        state = "disabled" if official.disabled_at else "active"
        where = ", ".join(f"{a.name} ({a.code})" for a in areas) or "every area"
        role = f"{official.role}, council" if official.council else official.role
        lines.append(
            f"{official.username}\t{official.display_name}\t{role}\t{where}\t"
            f"{official.locale}\t{state}"
        )
    return "\n".join(["username\tname\trole\tareas\tlocale\tstate", *lines])


async def _change(db: Database, args: argparse.Namespace) -> str:
    async with db.sessions() as session:
        if await official_by_username(session, args.username) is None:
            raise CommandError(f"no official {args.username!r}")
    resetting = args.officials_command == "reset-password"
    password = read_password(args.password_stdin) if resetting else ""
    async with db.transaction() as session:
        official = await official_by_username(session, args.username)
        if official is None:
            raise CommandError(f"no official {args.username!r}")
        if not resetting:
            await disable_official(session, official, SYSTEM_CLOCK)
            return f"Disabled {official.username}: signed out everywhere, cannot sign in."
        await set_password(session, official, password, SYSTEM_CLOCK)
        return f"New password set for {official.username}; their sessions were ended."


async def _council(db: Database, args: argparse.Namespace) -> str:
    on = args.state == "on"
    async with db.transaction() as session:
        official = await official_by_username(session, args.username)
        if official is None:
            raise CommandError(f"no official {args.username!r}")
        changed = await set_council(session, official, on, SYSTEM_CLOCK)
    if not changed:
        return f"{official.username} already {'has' if on else 'does not have'} the council role."
    if on:
        return f"{official.username} may now sit on evaluation councils."
    return f"{official.username} no longer has the council role (councils they sit on keep them)."


async def run_officials(settings: Settings, args: argparse.Namespace) -> int:
    """The ``officials`` command; 0 on success, 1 with the reason on stderr."""
    db = Database(settings.database_url)
    try:
        if args.officials_command == "add":
            message = await _add(db, args)
        elif args.officials_command == "list":
            message = await _list(db)
        elif args.officials_command == "council":
            message = await _council(db, args)
        else:
            message = await _change(db, args)
    except (CommandError, OfficialError, PasswordError) as exc:
        print(f"Nothing was changed: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    print(message)
    return 0
