"""Announcements to producers: who they are for, how many that is, their deliveries and muting.

An official (province or administrator) writes an announcement (:func:`create_announcement`,
:func:`update_announcement`: versioned and audited) for an :class:`Audience` — filters on the
producers they may see (their :class:`~storage.officials.Scope`): areas, product sets, dossier
state, language and channel. :func:`audience_counts` says, in one aggregate query, how many
producers and people (chat identities) that is, and how many of them are reachable, blocked the
bot or muted announcements.

Sending starts with :func:`materialize_deliveries`: one :class:`~storage.models.Delivery` row per
recipient (a person's chat on one channel), made in batches of users by id with ``INSERT …
SELECT … ON CONFLICT DO NOTHING``. The batch's last user id is kept on the announcement in the
batch's transaction, so a run stopped anywhere resumes where it stopped, and a batch done twice
adds nothing (the unique ``(announcement_id, user_id, channel)``). People who muted
announcements get no delivery; a chat that blocked the bot gets a ``failed`` one (``blocked``),
so the console shows it. Putting deliveries in the outbox and sending them is the sender's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    distinct,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.audit import audit
from storage.deliveries import withdraw
from storage.models import (
    Announcement,
    Area,
    ChannelIdentity,
    Delivery,
    Dossier,
    Producer,
    ProducerMember,
    Product,
    User,
)
from storage.officials import Scope
from storage.rounds import covered_by, producers_with_unfiled_dossiers, round_in_scope
from storage.states import (
    ActorKind,
    AnnouncementStatus,
    DeliveryReason,
    DeliveryStatus,
    DossierStatus,
    OfficialRole,
)
from storage.types import UTCDateTime
from storage.versions import claim_version

__all__ = [
    "DEFAULT_LANGUAGE",
    "EDITABLE",
    "AnnouncementError",
    "AnnouncementFile",
    "AnnouncementPage",
    "AnnouncementValues",
    "Audience",
    "AudienceCounts",
    "Button",
    "DeliveryCounts",
    "DeliveryPage",
    "DeliveryRow",
    "Materialized",
    "StaleAnnouncement",
    "announcement_in_scope",
    "audience_counts",
    "cancel_announcement",
    "create_announcement",
    "delivery_counts",
    "delivery_page",
    "delivery_progress",
    "list_announcements",
    "materialize_deliveries",
    "may_announce",
    "may_see_announcement",
    "mute",
    "schedule_announcement",
    "scope_of_announcement",
    "unmute",
    "update_announcement",
]

DEFAULT_LANGUAGE = "vi"  # the language of a person who never chose one
TEXT_LIMIT = 4096  # Telegram's longest message
CAPTION_LIMIT = 1024  # Telegram's longest caption (the text sent with a file)
BUTTON_LIMIT = 6
LABEL_LIMIT = 40
COMMAND_LIMIT = 60  # a button's value is "<signature>|<command>", at most 64 bytes
# Announcements an official may still change.
EDITABLE = (AnnouncementStatus.DRAFT, AnnouncementStatus.SCHEDULED)


class AnnouncementError(ValueError):
    """An announcement (or audience) that cannot be stored or counted: ``field`` names what is
    wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class StaleAnnouncement(AnnouncementError):
    """The announcement changed since the official opened it; nothing was saved."""

    def __init__(self, announcement_id: int, expected: int) -> None:
        super().__init__(
            "version", f"announcement {announcement_id} is no longer at version {expected}"
        )
        self.announcement_id = announcement_id
        self.expected = expected


# --- the audience ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    """Who an announcement is for: the producers the official may see, narrowed by every filter
    given (an empty filter narrows nothing), and among their people those of the given languages
    and channels.

    ``area_ids``: provinces or communes (by id; matched by code, so a renamed area keeps its
    producers). ``product_sets``: producers with a product in one of these sets (a product group
    is given as its sets, read from the rules by the caller). ``no_product``: registered but no
    product yet. ``unfiled_for_round``: covered by that round and with a product whose current
    dossier is not yet submitted (the round's reminders' people). ``dossier_states``: with a
    product whose current dossier is in one of these states. ``languages``: the people's chosen
    language (``users.locale``; none chosen counts as :data:`DEFAULT_LANGUAGE`). ``channels``:
    the chats' channels ("telegram", "zalo_oa", "zalo_bot").
    """

    area_ids: frozenset[int] = frozenset()
    product_sets: frozenset[int] = frozenset()
    no_product: bool = False
    unfiled_for_round: int | None = None
    dossier_states: frozenset[DossierStatus] = frozenset()
    languages: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()

    def to_json(self) -> dict[str, Any]:
        """The filters as stored in ``announcements.audience``."""
        return {
            "area_ids": sorted(self.area_ids),
            "product_sets": sorted(self.product_sets),
            "no_product": self.no_product,
            "unfiled_for_round": self.unfiled_for_round,
            "dossier_states": sorted(str(s) for s in self.dossier_states),
            "languages": sorted(self.languages),
            "channels": sorted(self.channels),
        }

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> Audience:
        round_id = stored.get("unfiled_for_round")
        return cls(
            area_ids=frozenset(int(a) for a in stored.get("area_ids", ())),
            product_sets=frozenset(int(s) for s in stored.get("product_sets", ())),
            no_product=bool(stored.get("no_product", False)),
            unfiled_for_round=int(round_id) if round_id is not None else None,
            dossier_states=frozenset(DossierStatus(s) for s in stored.get("dossier_states", ())),
            languages=frozenset(str(x) for x in stored.get("languages", ())),
            channels=frozenset(str(x) for x in stored.get("channels", ())),
        )


async def _check_audience(session: AsyncSession, scope: Scope, audience: Audience) -> None:
    """Refuses areas and rounds outside the official's scope, and filters that exclude each
    other."""
    for area_id in sorted(audience.area_ids):
        if await session.get(Area, area_id) is None or not await scope.may_see_area(
            session, area_id
        ):
            raise AnnouncementError("areas", f"area {area_id} is not one of the official's")
    if audience.unfiled_for_round is not None and (
        await round_in_scope(session, scope, audience.unfiled_for_round) is None
    ):
        raise AnnouncementError(
            "round", f"round {audience.unfiled_for_round} is not one the official sees"
        )
    if audience.no_product and (
        audience.product_sets or audience.dossier_states or audience.unfiled_for_round is not None
    ):
        raise AnnouncementError(
            "no_product", "producers without a product have no product set or dossier"
        )


def _producers(scope: Scope, audience: Audience) -> list[ColumnElement[bool]]:
    """SQL conditions on :class:`Producer`: those the audience takes."""
    conditions = [scope.producers()]
    if audience.area_ids:
        listed, same = aliased(Area), aliased(Area)
        codes = select(listed.code).where(listed.id.in_(sorted(audience.area_ids)))
        ids = select(same.id).where(same.code.in_(codes))
        conditions.append(or_(Producer.province_id.in_(ids), Producer.commune_id.in_(ids)))
    if audience.product_sets:
        conditions.append(
            exists().where(
                Product.producer_id == Producer.id,
                Product.product_set.in_(sorted(audience.product_sets)),
            )
        )
    if audience.no_product:
        conditions.append(~exists().where(Product.producer_id == Producer.id))
    if audience.unfiled_for_round is not None:
        conditions.append(covered_by(audience.unfiled_for_round))
        conditions.append(Producer.id.in_(producers_with_unfiled_dossiers()))
    if audience.dossier_states:
        conditions.append(
            Producer.id.in_(
                select(Product.producer_id)
                .join(Dossier, Dossier.product_id == Product.id)
                .where(Dossier.latest, Dossier.status.in_(sorted(audience.dossier_states)))
            )
        )
    return conditions


def _people(audience: Audience) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """SQL conditions on :class:`User` (language) and :class:`ChannelIdentity` (channel)."""
    language: ColumnElement[bool] = literal(True)
    channel: ColumnElement[bool] = literal(True)
    if audience.languages:
        language = func.coalesce(User.locale, DEFAULT_LANGUAGE).in_(sorted(audience.languages))
    if audience.channels:
        channel = ChannelIdentity.channel.in_(sorted(audience.channels))
    return language, channel


@dataclass(frozen=True)
class AudienceCounts:
    """How many an audience is: ``producers`` taken by the producer filters, of which
    ``producers_reachable`` have someone who would receive it; ``people`` (chat identities of
    their people, after the language and channel filters) = ``reachable`` + ``unreachable``
    (blocked the bot) + ``muted`` (muted announcements, whether blocked or not)."""

    producers: int
    producers_reachable: int
    people: int
    reachable: int
    unreachable: int
    muted: int


async def audience_counts(
    session: AsyncSession, scope: Scope, audience: Audience
) -> AudienceCounts:
    """How many producers and people ``audience`` is within ``scope``: one aggregate query
    (producers → members → people → chats, outer joined so producers without anyone are
    counted as producers). Raises :class:`AnnouncementError` for areas or rounds outside the
    scope."""
    await _check_audience(session, scope, audience)
    language, channel = _people(audience)
    has_chat = ChannelIdentity.id.is_not(None)
    muted = User.announcements_muted_at.is_not(None)
    blocked = ChannelIdentity.blocked_at.is_not(None)
    reachable = and_(has_chat, ~muted, ~blocked)
    row = (
        await session.execute(
            select(
                func.count(distinct(Producer.id)),
                func.count(distinct(case((reachable, Producer.id), else_=null()))),
                func.count(ChannelIdentity.id),
                func.count(case((reachable, ChannelIdentity.id), else_=null())),
                func.count(case((and_(has_chat, ~muted, blocked), ChannelIdentity.id))),
                func.count(case((and_(has_chat, muted), ChannelIdentity.id))),
            )
            .select_from(Producer)
            .outerjoin(ProducerMember, ProducerMember.producer_id == Producer.id)
            .outerjoin(User, and_(User.id == ProducerMember.user_id, language))
            .outerjoin(ChannelIdentity, and_(ChannelIdentity.user_id == User.id, channel))
            .where(*_producers(scope, audience))
        )
    ).one()
    return AudienceCounts(*(int(n or 0) for n in row))


# --- announcements ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AnnouncementFile:
    """A file sent with an announcement: a blob (``storage/blobs.py``) and its name and type."""

    sha256: str
    name: str
    mime: str


@dataclass(frozen=True)
class Button:
    """A button under an announcement: its label (Vietnamese, optionally English) and the
    command it runs ("/deadlines", "/menu"…), valid at any step."""

    label_vi: str
    command: str
    label_en: str | None = None

    def to_json(self) -> dict[str, str]:
        stored = {"label_vi": self.label_vi, "command": self.command}
        if self.label_en:
            stored["label_en"] = self.label_en
        return stored


@dataclass(frozen=True)
class AnnouncementValues:
    """What an official enters for an announcement (checked when stored)."""

    text_vi: str
    audience: Audience
    text_en: str | None = None
    file: AnnouncementFile | None = None
    buttons: tuple[Button, ...] = ()
    round_id: int | None = None
    expires_at: datetime | None = None


def may_announce(scope: Scope) -> bool:
    """Province officials and administrators write announcements."""
    return scope.role in (OfficialRole.PROVINCE, OfficialRole.ADMIN)


def _clean(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").strip()


def _check_values(values: AnnouncementValues) -> dict[str, Any]:
    """The columns of ``values``, or :class:`AnnouncementError`."""
    limit = CAPTION_LIMIT if values.file is not None else TEXT_LIMIT
    text_vi, text_en = _clean(values.text_vi), _clean(values.text_en) or None
    if not text_vi:
        raise AnnouncementError("text_vi", "an announcement has a Vietnamese text")
    for name, text in (("text_vi", text_vi), ("text_en", text_en or "")):
        if len(text) > limit:
            raise AnnouncementError(name, f"the text is longer than {limit} characters")
    if len(values.buttons) > BUTTON_LIMIT:
        raise AnnouncementError("buttons", f"at most {BUTTON_LIMIT} buttons")
    for button in values.buttons:
        labels = [button.label_vi, button.label_en or ""]
        if not button.label_vi.strip() or any(len(label) > LABEL_LIMIT for label in labels):
            raise AnnouncementError(
                "buttons", f"a button's label has 1 to {LABEL_LIMIT} characters"
            )
        command = button.command
        if not command.startswith("/") or len(command.encode()) > COMMAND_LIMIT or " " in command:
            raise AnnouncementError("buttons", f"a button runs a command: not {command!r}")
    file = values.file
    if file is not None and (len(file.sha256) != 64 or not file.name or not file.mime):
        raise AnnouncementError("file", "a file needs its blob, name and type")
    return {
        "text_vi": text_vi,
        "text_en": text_en,
        "file_sha256": file.sha256 if file else None,
        "file_name": file.name if file else None,
        "file_mime": file.mime if file else None,
        "buttons": [b.to_json() for b in values.buttons],
        "audience": values.audience.to_json(),
        "round_id": values.round_id,
        "expires_at": values.expires_at,
    }


async def _check(
    session: AsyncSession, scope: Scope, values: AnnouncementValues
) -> dict[str, Any]:
    if not may_announce(scope):
        raise AnnouncementError("role", "only province officials and administrators announce")
    columns = _check_values(values)
    await _check_audience(session, scope, values.audience)
    if (
        values.round_id is not None
        and await round_in_scope(session, scope, values.round_id) is None
    ):
        raise AnnouncementError("round", f"round {values.round_id} is not one the official sees")
    return columns


def _scope_json(scope: Scope) -> dict[str, Any]:
    return {
        "official_id": scope.official_id,
        "role": str(scope.role),
        "codes": sorted(scope.codes),
    }


def scope_of_announcement(announcement: Announcement) -> Scope:
    """The scope the announcement was written in (its writer's, when last saved)."""
    stored = announcement.scope
    return Scope(
        int(stored["official_id"]), OfficialRole(stored["role"]), frozenset(stored["codes"])
    )


def _audited(
    session: AsyncSession,
    scope: Scope,
    action: str,
    announcement_id: int,
    now: datetime,
    **details: Any,
) -> None:
    """An official's ``announcement.<action>`` in the audit log."""
    audit(session, actor_kind=ActorKind.OFFICIAL, actor_id=scope.official_id,
          action=f"announcement.{action}", entity="announcement", entity_id=announcement_id,
          at=now, **details)  # fmt: skip


def _audit_details(columns: dict[str, Any]) -> dict[str, Any]:
    details = {k: v for k, v in columns.items() if k not in ("text_vi", "text_en", "expires_at")}
    details["expires_at"] = columns["expires_at"].isoformat() if columns["expires_at"] else None
    details["languages"] = ["vi"] + (["en"] if columns["text_en"] else [])
    return details


async def create_announcement(
    session: AsyncSession, scope: Scope, values: AnnouncementValues, *, now: datetime
) -> Announcement:
    """A new draft announcement by the official (audited as theirs)."""
    columns = await _check(session, scope, values)
    announcement = Announcement(
        created_by=scope.official_id,
        scope=_scope_json(scope),
        status=AnnouncementStatus.DRAFT,
        created_at=now,
        updated_at=now,
        version=1,
        **columns,
    )
    session.add(announcement)
    await session.flush()
    _audited(session, scope, "created", announcement.id, now, **_audit_details(columns))
    return announcement


async def _claim(
    session: AsyncSession,
    scope: Scope,
    announcement_id: int,
    version: int,
    states: Sequence[AnnouncementStatus],
    changes: dict[str, Any],
) -> Announcement:
    """Moves the announcement (one the official may change, in one of ``states``) from
    ``version`` to the next with ``changes``, in one conditional UPDATE; or raises."""
    current = await session.get(Announcement, announcement_id)
    if current is None or not _may_change(scope, current):
        raise AnnouncementError("announcement", f"no announcement {announcement_id}")
    claimed = await claim_version(
        session, Announcement, announcement_id, version, Announcement.status.in_(states),
        **changes,
    )  # fmt: skip
    if not claimed:
        raise StaleAnnouncement(announcement_id, version)
    return await session.get_one(Announcement, announcement_id, populate_existing=True)


def _may_change(scope: Scope, announcement: Announcement) -> bool:
    """Administrators change any announcement; a province official those written in scopes
    inside theirs (their own, or a colleague's of the same provinces)."""
    if scope.everything:
        return True
    written = scope_of_announcement(announcement)
    return not written.everything and written.codes <= scope.codes


async def update_announcement(
    session: AsyncSession,
    scope: Scope,
    announcement_id: int,
    values: AnnouncementValues,
    *,
    version: int,
    now: datetime,
) -> Announcement:
    """The official's changes to a draft or scheduled announcement shown to them at
    ``version``; raises :class:`StaleAnnouncement` when it changed since (or is sending)."""
    columns = await _check(session, scope, values)
    announcement = await _claim(
        session, scope, announcement_id, version, EDITABLE, {**columns, "updated_at": now}
    )
    _audited(
        session,
        scope,
        "updated",
        announcement_id,
        now,
        version=version + 1,
        **_audit_details(columns),
    )
    return announcement


async def schedule_announcement(
    session: AsyncSession,
    scope: Scope,
    announcement_id: int,
    *,
    at: datetime,
    version: int,
    now: datetime,
) -> Announcement:
    """The announcement goes at ``at`` (``now`` for at once); audited."""
    announcement = await _claim(
        session,
        scope,
        announcement_id,
        version,
        EDITABLE,
        {"status": AnnouncementStatus.SCHEDULED, "scheduled_at": at, "updated_at": now},
    )
    _audited(session, scope, "scheduled", announcement_id, now, scheduled_at=at.isoformat())
    return announcement


async def cancel_announcement(
    session: AsyncSession, scope: Scope, announcement_id: int, *, version: int, now: datetime
) -> Announcement:
    """Cancels the announcement (even while sending): its deliveries not yet sent are
    cancelled and their messages waiting in the outbox withdrawn (one being sent at this
    moment still goes, and its delivery says so). Audited, with how many were withdrawn."""
    states = (*EDITABLE, AnnouncementStatus.SENDING)
    announcement = await _claim(
        session,
        scope,
        announcement_id,
        version,
        states,
        {"status": AnnouncementStatus.CANCELLED, "updated_at": now},
    )
    withdrawn = await withdraw(session, announcement_id)
    _audited(session, scope, "cancelled", announcement_id, now, **withdrawn)
    return announcement


# --- deliveries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Materialized:
    """What one :func:`materialize_deliveries` batch did: deliveries ``added``, the last user
    id done (``after``: pass it to the next batch, or leave it to the announcement's), and
    whether every recipient now has their delivery (``done``)."""

    added: int
    after: int | None
    done: bool


def _recipients(scope: Scope, audience: Audience) -> Select[Any]:
    """The audience's people with their chats, muted people left out: FROM and WHERE only."""
    language, channel = _people(audience)
    return (
        select()
        .select_from(Producer)
        .join(ProducerMember, ProducerMember.producer_id == Producer.id)
        .join(User, User.id == ProducerMember.user_id)
        .join(ChannelIdentity, ChannelIdentity.user_id == User.id)
        .where(
            *_producers(scope, audience),
            language,
            channel,
            User.announcements_muted_at.is_(None),
        )
    )


async def materialize_deliveries(
    session: AsyncSession,
    announcement_id: int,
    *,
    now: datetime,
    batch_size: int = 1000,
    after_user_id: int | None = None,
) -> Materialized:
    """Makes the deliveries of the next ``batch_size`` recipients (people, by user id, after
    ``after_user_id``, by default where the announcement's last batch stopped), all their chats
    at once, with one ``INSERT … SELECT … ON CONFLICT DO NOTHING``; records where it stopped
    on the announcement. Run batches each in its own transaction until ``done``: a batch lost
    in a crash is done again, one done twice adds nothing. A scheduled announcement becomes
    ``sending``; a cancelled or finished one makes nothing."""
    announcement = await session.get_one(Announcement, announcement_id, populate_existing=True)
    if announcement.status not in (AnnouncementStatus.SCHEDULED, AnnouncementStatus.SENDING):
        return Materialized(0, announcement.materialized_after, True)
    if announcement.status == AnnouncementStatus.SCHEDULED:
        announcement.status = AnnouncementStatus.SENDING
    after = after_user_id if after_user_id is not None else announcement.materialized_after
    audience = Audience.from_json(announcement.audience)
    recipients = _recipients(scope_of_announcement(announcement), audience)
    if after is not None:
        recipients = recipients.where(User.id > after)
    batch = (
        recipients.add_columns(User.id.label("user_id"))
        .group_by(User.id)
        .order_by(User.id)
        .limit(batch_size)
        .subquery()
    )
    last = await session.scalar(select(func.max(batch.c.user_id)))
    if last is None:
        total = await session.scalar(
            select(func.count()).where(Delivery.announcement_id == announcement_id)
        )
        announcement.materialized_at = announcement.materialized_at or now
        announcement.recipients = int(total or 0)
        await session.flush()
        return Materialized(0, after, True)
    blocked = ChannelIdentity.blocked_at.is_not(None)
    rows = recipients.where(User.id <= last).add_columns(
        literal(announcement_id),
        User.id,
        Producer.id,
        ChannelIdentity.channel,
        ChannelIdentity.chat_id,
        case((blocked, literal(str(DeliveryStatus.FAILED))), else_=str(DeliveryStatus.WAITING)),
        case((blocked, literal(str(DeliveryReason.BLOCKED))), else_=null()),
        literal(now, UTCDateTime()),
    )
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    statement = (
        insert(Delivery)
        .from_select(
            [
                "announcement_id",
                "user_id",
                "producer_id",
                "channel",
                "chat_id",
                "status",
                "reason",
                "created_at",
            ],
            rows,
        )
        .on_conflict_do_nothing(index_elements=["announcement_id", "user_id", "channel"])
    )
    added = await session.execute(statement)
    announcement.materialized_after = last
    await session.flush()
    return Materialized(int(getattr(added, "rowcount", 0) or 0), last, False)


@dataclass(frozen=True)
class DeliveryCounts:
    """An announcement's deliveries by state, and the failed ones by reason."""

    total: int
    by_status: dict[str, int] = field(default_factory=dict)
    failed_by_reason: dict[str, int] = field(default_factory=dict)

    def of(self, status: DeliveryStatus) -> int:
        return self.by_status.get(str(status), 0)


async def delivery_counts(session: AsyncSession, announcement_id: int) -> DeliveryCounts:
    """How the announcement's deliveries stand: one grouped query (an index walk)."""
    rows = await session.execute(
        select(Delivery.status, Delivery.reason, func.count())
        .where(Delivery.announcement_id == announcement_id)
        .group_by(Delivery.status, Delivery.reason)
    )
    by_status: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for status, reason, count in rows.all():
        by_status[status] = by_status.get(status, 0) + int(count)
        if status == DeliveryStatus.FAILED and reason is not None:
            reasons[reason] = reasons.get(reason, 0) + int(count)
    return DeliveryCounts(sum(by_status.values()), by_status, reasons)


# --- reading, for the console -----------------------------------------------------------------

# Deliveries that reached their end: sent, failed or too old to send.
SETTLED = (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.TOO_OLD)


def may_see_announcement(scope: Scope, announcement: Announcement) -> bool:
    """Whether the official reads the announcement: those they may change (administrators
    all; a province official those written in scopes inside theirs)."""
    return may_announce(scope) and _may_change(scope, announcement)


async def announcement_in_scope(
    session: AsyncSession, scope: Scope, announcement_id: int
) -> Announcement | None:
    """The announcement, if the official may see it."""
    found = await session.get(Announcement, announcement_id, populate_existing=True)
    return found if found is not None and may_see_announcement(scope, found) else None


@dataclass(frozen=True)
class AnnouncementPage:
    """Announcements newest first, and the id to ask for the older ones (``before``)."""

    rows: list[Announcement]
    before: int | None


async def list_announcements(
    session: AsyncSession, scope: Scope, *, before: int | None = None, limit: int = 30
) -> AnnouncementPage:
    """The announcements the official sees, newest first, ``limit`` at most, older than the id
    ``before``. Which are theirs is read from each one's stored scope, so rows are read in
    batches until the page is full."""
    found: list[Announcement] = []
    last, size = before, limit * 4
    while len(found) <= limit:
        query = select(Announcement).order_by(Announcement.id.desc()).limit(size)
        if last is not None:
            query = query.where(Announcement.id < last)
        batch = list((await session.scalars(query)).all())
        found.extend(a for a in batch if may_see_announcement(scope, a))
        if len(batch) < size:
            break
        last = batch[-1].id
    more = len(found) > limit
    return AnnouncementPage(found[:limit], found[limit - 1].id if more else None)


async def delivery_progress(
    session: AsyncSession, announcement_ids: Sequence[int]
) -> dict[int, tuple[int, int]]:
    """For each announcement: its settled deliveries (sent, failed, too old) and all of them
    but the cancelled; one grouped query."""
    progress = {i: (0, 0) for i in announcement_ids}
    if not announcement_ids:
        return progress
    settled = func.count(case((Delivery.status.in_(SETTLED), Delivery.id), else_=null()))
    rows = await session.execute(
        select(Delivery.announcement_id, settled, func.count())
        .where(
            Delivery.announcement_id.in_(sorted(set(announcement_ids))),
            Delivery.status != DeliveryStatus.CANCELLED,
        )
        .group_by(Delivery.announcement_id)
    )
    for announcement_id, done, total in rows.all():
        progress[announcement_id] = (int(done), int(total))
    return progress


@dataclass(frozen=True)
class DeliveryRow:
    """One recipient's delivery and the name of the producer they speak for."""

    delivery: Delivery
    producer_name: str


@dataclass(frozen=True)
class DeliveryPage:
    """A page of deliveries by id, and the id to continue after (``after``), if any."""

    rows: list[DeliveryRow]
    after: int | None


async def delivery_page(
    session: AsyncSession,
    announcement_id: int,
    *,
    status: DeliveryStatus | None = None,
    after: int | None = None,
    limit: int = 50,
) -> DeliveryPage:
    """The announcement's deliveries (of ``status``, if given) in id order after ``after``:
    keyset paging on ``(announcement_id, status, id)``."""
    query = (
        select(Delivery, Producer.name)
        .join(Producer, Producer.id == Delivery.producer_id)
        .where(Delivery.announcement_id == announcement_id)
        .order_by(Delivery.id)
        .limit(limit + 1)
    )
    if status is not None:
        query = query.where(Delivery.status == status)
    if after is not None:
        query = query.where(Delivery.id > after)
    rows = [DeliveryRow(d, name) for d, name in (await session.execute(query)).all()]
    more = len(rows) > limit
    rows = rows[:limit]
    return DeliveryPage(rows, rows[-1].delivery.id if more else None)


# --- muting -----------------------------------------------------------------------------------


async def _set_muted(session: AsyncSession, user_id: int, value: datetime | None) -> bool:
    held = (
        User.announcements_muted_at.is_(None)
        if value
        else User.announcements_muted_at.is_not(None)
    )
    changed = await session.execute(
        update(User)
        .where(User.id == user_id, held)
        .values(announcements_muted_at=value)
        .execution_options(synchronize_session="fetch")
    )
    return bool(getattr(changed, "rowcount", 0))


async def mute(session: AsyncSession, user_id: int, now: datetime) -> bool:
    """The person gets no more announcements (deadlines and results they asked for still
    come); False when they had already muted them."""
    done = await _set_muted(session, user_id, now)
    if done:
        audit(session, actor_kind=ActorKind.USER, actor_id=user_id, action="announcements.muted",
              entity="user", entity_id=user_id, at=now)  # fmt: skip
    return done


async def unmute(session: AsyncSession, user_id: int, now: datetime) -> bool:
    """The person gets announcements again; False when they had not muted them."""
    done = await _set_muted(session, user_id, None)
    if done:
        audit(session, actor_kind=ActorKind.USER, actor_id=user_id, action="announcements.unmuted",
              entity="user", entity_id=user_id, at=now)  # fmt: skip
    return done
