"""``ocop-bot broadcast send | watch | list | cancel``: announcements from the terminal.

``send`` writes an announcement as an official (``--as``), says how many people it reaches
(and how many are blocked or muted), asks to confirm, schedules it and, unless it is for later,
sends it from this process with a progress bar until every delivery is settled. Sending here is
safe beside a running ``serve``: the pace is shared through the database and every message is
claimed once. Stopping it (Ctrl-C) loses nothing: ``serve`` or ``watch --send`` finishes it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import select

from bot.broadcast import FILE_KINDS, MAX_FILE
from bot.cli_officials import CommandError, resolve_areas
from bot.filetypes import detect
from bot.round_announcement import round_announcement
from bot.settings import Settings
from storage.announcements import (
    AnnouncementError,
    AnnouncementFile,
    AnnouncementValues,
    Audience,
    Button,
    DeliveryCounts,
    audience_counts,
    cancel_announcement,
    create_announcement,
    delivery_counts,
    schedule_announcement,
)
from storage.blobs import LocalBlobStore
from storage.clock import LOCAL_TIMEZONE, SYSTEM_CLOCK
from storage.db import Database
from storage.models import Announcement, Round
from storage.officials import official_by_username, scope_of
from storage.states import (
    AnnouncementStatus,
    DeliveryReason,
    DeliveryStatus,
    DossierStatus,
    OfficialRole,
)

__all__ = ["Progress", "progress_line", "run_broadcast"]

BAR = 24


@dataclass(frozen=True)
class Progress:
    """An announcement's deliveries at one moment, and the rate since the previous moment."""

    counts: DeliveryCounts
    per_second: float

    @property
    def settled(self) -> int:
        open_ = self.counts.of(DeliveryStatus.WAITING) + self.counts.of(DeliveryStatus.QUEUED)
        return self.counts.total - open_


def progress_line(progress: Progress) -> str:
    """``[████████░░░░] 52% 5,210/10,000 · sent 5,100 · failed 110 (blocked 100) · …``."""
    counts, total = progress.counts, progress.counts.total
    share = progress.settled / total if total else 1.0
    filled = round(share * BAR)
    parts = [
        f"[{'█' * filled}{'░' * (BAR - filled)}] {share:4.0%} {progress.settled:,}/{total:,}",
        f"sent {counts.of(DeliveryStatus.SENT):,}",
    ]
    failed = counts.of(DeliveryStatus.FAILED)
    if failed:
        reasons = ", ".join(
            f"{DeliveryReason(reason).name.lower().replace('_', ' ')} {n:,}"
            for reason, n in sorted(counts.failed_by_reason.items())
        )
        parts.append(f"failed {failed:,} ({reasons})")
    for status in (DeliveryStatus.TOO_OLD, DeliveryStatus.CANCELLED):
        if counts.of(status):
            parts.append(f"{status.replace('_', ' ')} {counts.of(status):,}")
    waiting = total - progress.settled
    if waiting:
        parts.append(f"to go {waiting:,}")
        if progress.per_second > 0:
            parts.append(
                f"{progress.per_second:,.0f}/s, about {waiting / progress.per_second:,.0f} s left"
            )
    return " · ".join(parts)


def _local(text: str) -> datetime:
    """``2027-09-01 08:00`` (Vietnam time) → UTC."""
    try:
        naive = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"{text!r} is not a date and time like 2027-09-01 08:00") from None
    aware = naive if naive.tzinfo else naive.replace(tzinfo=LOCAL_TIMEZONE)
    return aware.astimezone(SYSTEM_CLOCK.now().tzinfo)


def _text(inline: str | None, path: Path | None, name: str) -> str | None:
    if inline is not None and path is not None:
        raise CommandError(f"give --{name} or --{name}-file, not both")
    if path is None:
        return inline
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from None


def _button(typed: str) -> Button:
    """``"📅 Xem hạn nộp|/deadlines|📅 See deadlines"`` (the English label is optional)."""
    parts = [p.strip() for p in typed.split("|")]
    if len(parts) not in (2, 3):
        raise CommandError(
            f"a button is 'LABEL|/command' or 'LABEL|/command|ENGLISH LABEL', not {typed!r}"
        )
    return Button(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


async def _file(settings: Settings, path: Path | None) -> AnnouncementFile | None:
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc}") from None
    if len(data) > MAX_FILE:
        raise CommandError(f"{path.name} is larger than {MAX_FILE // (1024 * 1024)} MB")
    found = await asyncio.to_thread(detect, data)
    if not found.accepted or found.kind not in FILE_KINDS or found.mime_type is None:
        raise CommandError(f"{path.name} is not a PDF, JPEG or PNG file")
    blob = await LocalBlobStore(settings.blob_dir).put(data)
    return AnnouncementFile(blob.sha256, path.name, found.mime_type)


async def _ready_made(db: Database, round_id: int | None) -> AnnouncementValues | None:
    """The round's ready-made announcement (``--announce-round``)."""
    if round_id is None:
        return None
    async with db.sessions() as session:
        round_ = await session.get(Round, round_id)
        if round_ is None:
            raise CommandError(f"no round {round_id}")
        return await round_announcement(session, round_)


async def _values(
    settings: Settings, db: Database, args: argparse.Namespace
) -> AnnouncementValues:
    """The announcement the arguments describe; with ``--announce-round``, the round's
    ready-made one with whatever the arguments give instead."""
    ready = await _ready_made(db, args.announce_round)
    text_vi = _text(args.text_vi, args.text_vi_file, "text-vi") or (ready and ready.text_vi)
    if not text_vi:
        raise CommandError("an announcement needs --text-vi, --text-vi-file or --announce-round")
    text_en = _text(args.text_en, args.text_en_file, "text-en") or (ready and ready.text_en)
    async with db.sessions() as session:
        provinces = await resolve_areas(session, OfficialRole.PROVINCE, args.area or [], None)
        communes = await resolve_areas(
            session, OfficialRole.COMMUNE, args.commune or [], args.province
        )
    audience = Audience(
        area_ids=frozenset(a.id for a in (*provinces, *communes)),
        product_sets=frozenset(args.set or ()),
        no_product=args.no_product,
        unfiled_for_round=args.unfiled_for_round,
        dossier_states=frozenset(DossierStatus(s) for s in args.dossier_state or ()),
        languages=frozenset(args.language or ()),
        channels=frozenset(args.channel or ()),
    )
    if ready is not None and audience == Audience():
        audience = ready.audience
    buttons = tuple(_button(b) for b in args.button or ()) or (ready.buttons if ready else ())
    expires = _local(args.expires) if args.expires else (ready.expires_at if ready else None)
    return AnnouncementValues(
        text_vi=text_vi,
        text_en=text_en or None,
        audience=audience,
        file=await _file(settings, args.file),
        buttons=buttons,
        round_id=args.round or args.announce_round,
        expires_at=expires,
    )


async def _send(settings: Settings, db: Database, args: argparse.Namespace, out: TextIO) -> int:
    values = await _values(settings, db, args)
    at = _local(args.at) if args.at else None
    async with db.sessions() as session:
        official = await official_by_username(session, args.as_official)
        if official is None or official.disabled_at is not None:
            raise CommandError(f"no active official {args.as_official!r}")
        scope = await scope_of(session, official)
        counts = await audience_counts(session, scope, values.audience)
    print(
        f"{counts.reachable:,} people will receive it ({counts.producers_reachable:,} of "
        f"{counts.producers:,} producers); {counts.unreachable:,} blocked the bot, "
        f"{counts.muted:,} muted announcements.",
        file=out,
    )
    if args.count:
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise CommandError("no terminal to confirm at: add --yes to send")
        if input("Send it? [y/N] ").strip().lower() not in ("y", "yes", "c", "co", "có"):
            print("Nothing was sent.", file=out)
            return 1
    now = SYSTEM_CLOCK.now()
    async with db.transaction() as session:
        announcement = await create_announcement(session, scope, values, now=now)
        await schedule_announcement(
            session, scope, announcement.id, at=at or now, version=1, now=now
        )
        announcement_id = announcement.id
    when = at.astimezone(LOCAL_TIMEZONE).strftime("%Y-%m-%d %H:%M") if at else "now"
    print(f"Announcement {announcement_id} scheduled for {when} (Vietnam time).", file=out)
    if (at and at > now) or args.no_send:
        return 0
    return await _watch(settings, db, announcement_id, send=True, out=out)


async def _watch(
    settings: Settings, db: Database, announcement_id: int, *, send: bool, out: TextIO
) -> int:
    """Shows the announcement's progress until every delivery is settled, sending from this
    process too when ``send``."""
    stop = asyncio.Event()
    tasks = await _start_sending(settings, db, stop) if send else []
    try:
        return await _progress(db, announcement_id, out)
    finally:
        stop.set()
        for task in tasks:
            with contextlib.suppress(Exception):
                await task


async def _start_sending(
    settings: Settings, db: Database, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    from bot.app import build_app

    if not settings.telegram_token:
        print(
            "OCOP_TELEGRAM_TOKEN is not set: this process cannot send; `ocop-bot serve` will.",
            file=sys.stderr,
        )
        return []
    from bot.channels.telegram import TelegramChannel

    app = build_app(settings, db=db)
    token = settings.telegram_token.get_secret_value()
    telegram = TelegramChannel(token, settings.telegram_api_url, app.engine,
                               blobs=LocalBlobStore(settings.blob_dir))  # fmt: skip
    await telegram.initialize()
    app.channels.add(telegram)  # only to send: the poller or webhook is serve's

    async def shut(task: asyncio.Task[None]) -> None:
        await task
        await telegram.shutdown()

    sender = asyncio.create_task(app.sender.run(stop))
    broadcaster = asyncio.create_task(app.broadcaster.run(stop))
    return [broadcaster, asyncio.create_task(shut(sender))]


async def _progress(db: Database, announcement_id: int, out: TextIO) -> int:
    tty = out.isatty()
    last_line, last_print = "", 0.0
    previous: tuple[float, int] | None = None
    while True:
        async with db.sessions() as session:
            announcement = await session.get(Announcement, announcement_id)
            if announcement is None:
                raise CommandError(f"no announcement {announcement_id}")
            counts = await delivery_counts(session, announcement_id)
        now = time.monotonic()
        sent = counts.of(DeliveryStatus.SENT)
        rate = (
            (sent - previous[1]) / (now - previous[0]) if previous and now > previous[0] else 0.0
        )
        previous = (now, sent) if previous is None or now - previous[0] >= 1.0 else previous
        line = progress_line(Progress(counts, rate))
        finished = announcement.status in (AnnouncementStatus.DONE, AnnouncementStatus.CANCELLED)
        if tty:
            print(f"\r\033[K{line}", end="", file=out, flush=True)
        elif line != last_line and (finished or now - last_print >= 5.0):
            print(line, file=out, flush=True)
            last_line, last_print = line, now
        if finished:
            if tty:
                print(file=out)
            print(f"Announcement {announcement_id}: {announcement.status}.", file=out)
            return 0
        await asyncio.sleep(0.5)


async def _list(db: Database, out: TextIO) -> int:
    async with db.sessions() as session:
        rows = (
            await session.scalars(select(Announcement).order_by(Announcement.id.desc()).limit(50))
        ).all()
        if not rows:
            print("No announcements yet: write one with `ocop-bot broadcast send`.", file=out)
            return 0
        print("id\tstatus\tscheduled (Vietnam)\tsent/recipients\ttext", file=out)
        for row in rows:
            counts = await delivery_counts(session, row.id)
            when = (
                row.scheduled_at.astimezone(LOCAL_TIMEZONE).strftime("%Y-%m-%d %H:%M")
                if row.scheduled_at
                else "-"
            )
            text = " ".join(row.text_vi.split())
            print(
                f"{row.id}\t{row.status}\t{when}\t{counts.of(DeliveryStatus.SENT):,}/"
                f"{counts.total:,}\t{text[:60]}",
                file=out,
            )
    return 0


async def _cancel(db: Database, args: argparse.Namespace, out: TextIO) -> int:
    async with db.transaction() as session:
        official = await official_by_username(session, args.as_official)
        if official is None or official.disabled_at is not None:
            raise CommandError(f"no active official {args.as_official!r}")
        announcement = await session.get(Announcement, args.id)
        if announcement is None:
            raise CommandError(f"no announcement {args.id}")
        scope = await scope_of(session, official)
        await cancel_announcement(
            session, scope, args.id, version=announcement.version, now=SYSTEM_CLOCK.now()
        )
    print(f"Announcement {args.id} cancelled: what had not gone will not go.", file=out)
    return 0


async def run_broadcast(
    settings: Settings, args: argparse.Namespace, out: TextIO = sys.stdout
) -> int:
    """The ``broadcast`` command; 0 on success, 1 with the reason on stderr."""
    db = Database(settings.database_url)
    try:
        if args.broadcast_command == "send":
            return await _send(settings, db, args, out)
        if args.broadcast_command == "watch":
            return await _watch(settings, db, args.id, send=args.send, out=out)
        if args.broadcast_command == "list":
            return await _list(db, out)
        return await _cancel(db, args, out)
    except (CommandError, AnnouncementError) as exc:
        nothing = "changed" if args.broadcast_command == "cancel" else "sent"
        print(f"Nothing was {nothing}: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
