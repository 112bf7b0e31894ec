"""SQLAlchemy models: every table the bot and (later) the console read and write.

Times are stored in UTC. JSON columns hold small documents (conversation form data, event and
reply payloads, audit details). Migrations in ``storage/migrations`` mirror these models; a test
fails when they drift apart.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
    true,
)
from sqlalchemy.engine import Connection
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column

from storage.clock import utcnow
from storage.states import (
    ActorKind,
    AnnouncementStatus,
    CertificateStatus,
    DeliveryReason,
    DeliveryStatus,
    DocumentStatus,
    DossierStatus,
    EntryStatus,
    InboxStatus,
    MemberRole,
    NotifyMode,
    OfficialEvent,
    OfficialRole,
    OutboxKind,
    OutboxStatus,
    ProducerStatus,
    QuestionStatus,
    RevocationGround,
    RoundLevel,
    TimerKind,
    TimerStatus,
    TranscriptDirection,
    in_values,
)
from storage.text import fold
from storage.types import UTCDateTime

__all__ = [
    "Announcement",
    "Area",
    "AuditEntry",
    "Base",
    "Certificate",
    "ChannelIdentity",
    "ConsoleSession",
    "Conversation",
    "CouncilMember",
    "Delivery",
    "DocumentFile",
    "Dossier",
    "DossierDocument",
    "InboxEvent",
    "JoinAttempt",
    "JoinCode",
    "LinkCode",
    "LoginAttempt",
    "Official",
    "OfficialArea",
    "OfficialChat",
    "OfficialDigestItem",
    "OfficialLinkCode",
    "OutboxMessage",
    "Plan",
    "PlanTarget",
    "Producer",
    "ProducerMember",
    "Product",
    "Question",
    "Round",
    "RoundArea",
    "RoundEntry",
    "ScoreSheet",
    "Timer",
    "TranscriptEntry",
    "User",
    "ZaloToken",
]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _folded_name(context: DefaultExecutionContext) -> str:
    """The default of a ``search_name`` column: the row's ``name``, folded (any insert, ORM or
    Core, that gives a name; updates through the ORM refold it, below)."""
    return fold(context.get_current_parameters().get("name") or "")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        datetime: UTCDateTime(),
    }


class User(Base):
    """A person who talks to the bot, on any channel."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    locale: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set while the person wants no announcements (``/mute``); what they asked for still comes.
    announcements_muted_at: Mapped[datetime | None]


class ChannelIdentity(Base):
    """A user's address on one channel (a Telegram chat, a Zalo follower…)."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    platform_user_id: Mapped[str] = mapped_column(String(64), default="")
    blocked_at: Mapped[datetime | None]
    last_inbound_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Conversation(Base):
    """Where a chat stands: the flow, the step, the form data so far."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    flow: Mapped[str] = mapped_column(String(40), default="")
    step: Mapped[str] = mapped_column(String(60), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxEvent(Base):
    """An inbound update, stored before it is acknowledged; unique per channel + event id."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "event_id"),
        Index("ix_inbox_pending", "status", "channel", "chat_id", "id"),
        CheckConstraint(in_values("status", InboxStatus), name="status"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(80))
    chat_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(12), default=InboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    # The platform's order within a chat (Telegram: update_id); pending events go by (seq, id).
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # A file event's downloaded file ({"received": ReceivedFile as a dict, or null}), and the
    # lease of the process downloading it (another may try once it has run out).
    file_result: Mapped[dict[str, Any] | None]
    fetch_lease_until: Mapped[datetime | None]


class OutboxMessage(Base):
    """A message to send: replies, notifications, reminders and broadcasts share this queue."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_chat", "channel", "chat_id", "id"),
        CheckConstraint(in_values("status", OutboxStatus), name="status"),
        CheckConstraint(in_values("kind", OutboxKind), name="kind"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20), default=OutboxKind.REPLY)
    priority: Mapped[int] = mapped_column(Integer, default=0)  # lower goes first
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(12), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))  # the sender holding the lease
    expires_at: Mapped[datetime | None]
    failure_reason: Mapped[str | None] = mapped_column(Text)
    platform_message_id: Mapped[str | None] = mapped_column(String(64))
    inbox_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class SendPace(Base):
    """The send pace of one channel (one bot token), shared by every sender process
    (:mod:`storage.pace`): the next free send slot, and until when the platform asked us to
    wait (a 429's ``retry_after``)."""

    __tablename__ = "send_pace"
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    next_slot_at: Mapped[datetime]
    paused_until: Mapped[datetime | None]


class ZaloToken(Base):
    """A Zalo Official Account's OAuth pair (:mod:`storage.zalo_tokens`): the access token in
    use, the single-use refresh token that replaces both, and who is refreshing them now (one
    process at a time, under a lease). ``failed_at``: the refresh token was refused; officials
    are alerted and nobody refreshes until a new one is set."""

    __tablename__ = "zalo_tokens"
    app_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text, default="")
    refresh_token: Mapped[str] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None]
    refreshed_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    failure: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=0)


class LinkCode(Base):
    """A one-time code that links a second channel to a person (``/link`` on one app, the code
    typed on the other); only its hash is kept."""

    __tablename__ = "link_codes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(20))  # where it was asked for
    chat_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TranscriptEntry(Base):
    """Every message in and out, for officials to read later."""

    __tablename__ = "transcript"
    __table_args__ = (
        Index("ix_transcript_chat", "channel", "chat_id", "id"),
        CheckConstraint(in_values("direction", TranscriptDirection), name="direction"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    direction: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The outbox row of an outgoing line (its delivery status), and the official who wrote
    # it from the console (None: the bot).
    outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    official_id: Mapped[int | None] = mapped_column(BigInteger)


class Area(Base):
    """An administrative unit at any level; old versions are kept with their validity."""

    __tablename__ = "areas"
    __table_args__ = (UniqueConstraint("code", "valid_from"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200))
    search_name: Mapped[str] = mapped_column(String(200), index=True)
    level: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    # Other names it is found by, one a line: spellings people type, and units merged into it.
    aliases: Mapped[str] = mapped_column(Text, default="", server_default="")
    merged_from: Mapped[str] = mapped_column(Text, default="", server_default="")


class DataVersion(Base):
    """A marker of static data that processes keep in memory (``areas``): a new random
    ``token`` each time the data changes, written in the same transaction
    (:mod:`storage.data_versions`), so a process sees another one's change by reading one row."""

    __tablename__ = "data_versions"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    token: Mapped[str] = mapped_column(String(32))


class Producer(Base):
    """An OCOP producer (chủ thể OCOP): the organisation that owns products.

    ``search_name`` is ``name`` folded (:func:`storage.text.fold`), kept in step by the model,
    for the console's search without diacritics; the indexes serve the console's lists (keyset
    paging by id within a commune or province, phone look-up).
    """

    __tablename__ = "producers"
    __table_args__ = (
        CheckConstraint(in_values("status", ProducerStatus), name="status"),
        Index("ix_producers_commune_id_id", "commune_id", "id"),
        Index("ix_producers_province_id_id", "province_id", "id"),
        Index("ix_producers_phone", "phone"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_type: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(300))
    tax_code: Mapped[str] = mapped_column(String(20), index=True)
    business_reg_no: Mapped[str | None] = mapped_column(String(60))
    rep_name: Mapped[str] = mapped_column(String(200))
    rep_position: Mapped[str] = mapped_column(String(120))
    rep_gender: Mapped[str] = mapped_column(String(10))
    rep_ethnicity: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(String(20))
    phone_verified: Mapped[bool] = mapped_column(default=False)
    email: Mapped[str | None] = mapped_column(String(200))
    province_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    commune_name: Mapped[str] = mapped_column(String(200), default="")
    search_name: Mapped[str] = mapped_column(String(300), default=_folded_name, server_default="")
    status: Mapped[str] = mapped_column(String(20), default=ProducerStatus.REGISTERED)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProducerMember(Base):
    """A user who speaks for a producer (the one who registered it, or one who joined)."""

    __tablename__ = "producer_members"
    __table_args__ = (
        UniqueConstraint("producer_id", "user_id"),
        CheckConstraint(in_values("role", MemberRole), name="role"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    role: Mapped[str] = mapped_column(String(20), default=MemberRole.OWNER)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who changed what, when and why; written in the same transaction as the change."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_entity", "entity", "entity_id"),
        Index("ix_audit_producer", "producer_id", "action", "id"),
        Index("ix_audit_actor", "actor_kind", "actor_id", "id"),
        Index("ix_audit_action", "action", "id"),
        Index("ix_audit_at", "at"),
        CheckConstraint(in_values("actor_kind", ActorKind), name="actor_kind"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    # The producer the entry is about (none for officials' accounts): the console's filter
    # and scope read it.
    producer_id: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Product(Base):
    """A producer's product, in one of the 26 OCOP product sets (``search_name``: ``name``
    folded, as for :class:`Producer`)."""

    __tablename__ = "products"
    __table_args__ = (Index("ix_products_product_set_id", "product_set", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id"), index=True)
    product_set: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    search_name: Mapped[str] = mapped_column(String(300), default=_folded_name, server_default="")
    description: Mapped[str] = mapped_column(Text, default="")
    packaging: Mapped[str] = mapped_column(String(300), default="")
    yearly_output: Mapped[str] = mapped_column(String(200), default="")
    raw_material_area: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Dossier(Base):
    """A product's dossier for one evaluation, under the rule set it was filed with.

    Review states (as in ODK Central): draft → submitted → has_issues / edited → approved or
    rejected. ``latest`` marks the product's newest dossier (the one its state is counted by),
    one per product (a unique index holds it), so the dashboard counts products by state
    without grouping every dossier.
    """

    __tablename__ = "dossiers"
    __table_args__ = (
        CheckConstraint(in_values("status", DossierStatus), name="status"),
        Index("ix_dossiers_status_product_id", "status", "product_id"),
        Index(
            "uq_dossiers_latest_product_id",
            "product_id",
            unique=True,
            sqlite_where=text("latest"),
            postgresql_where=text("latest"),
        ),
        Index("ix_dossiers_status_latest", "status", "latest"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    certificate_ref: Mapped[str | None] = mapped_column(String(60))
    certificate_issued: Mapped[date | None]  # its issue date: the re-rating window follows
    rules_version: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=DossierStatus.DRAFT)
    review_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None]
    # Counts changes (submission, decisions): a decision names the version it was made on.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    latest: Mapped[bool] = mapped_column(server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DossierDocument(Base):
    """One document of a dossier's checklist, with its review state.

    ``waiting_since`` is set while the document waits for an official's review and says since
    when (:func:`storage.dossiers.waiting_since`; kept by every state change there), so the
    dashboard's "oldest waiting first" walks an index instead of sorting every document.
    """

    __tablename__ = "dossier_documents"
    __table_args__ = (
        UniqueConstraint("dossier_id", "doc_type"),
        CheckConstraint(in_values("status", DocumentStatus), name="status"),
        Index(
            "ix_dossier_documents_waiting",
            "waiting_since",
            "id",
            sqlite_where=text("waiting_since IS NOT NULL"),
            postgresql_where=text("waiting_since IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    doc_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default=DocumentStatus.RECEIVED)
    review_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[int | None] = mapped_column(BigInteger)
    reviewed_at: Mapped[datetime | None]
    waiting_since: Mapped[datetime | None]
    # Counts changes (uploads, decisions): a decision names the version it was made on.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DocumentFile(Base):
    """A file (or one photo of several) making up a document; the bytes are in the blob store."""

    __tablename__ = "document_files"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("dossier_documents.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(10))
    mime_type: Mapped[str] = mapped_column(String(100))
    original_name: Mapped[str] = mapped_column(String(255), default="")
    platform_unique_id: Mapped[str] = mapped_column(String(100), default="")
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    current: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JoinCode(Base):
    """A one-time code with which a second person joins a producer."""

    __tablename__ = "join_codes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_by: Mapped[int | None] = mapped_column(BigInteger)
    used_at: Mapped[datetime | None]
    # The code's first characters, kept plain to find it (the rest is checked against the
    # hash); unique among live codes. Wrong tries with a live code's selector are counted on
    # it, and the code is revoked after too many (storage/members.py).
    selector: Mapped[str | None] = mapped_column(String(8), index=True)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    revoked_at: Mapped[datetime | None]


class JoinAttempt(Base):
    """One try at a join code; the wrong ones of the last hour limit a user's further tries."""

    __tablename__ = "join_attempts"
    __table_args__ = (Index("ix_join_attempts_user_id_at", "user_id", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    join_code_id: Mapped[int | None] = mapped_column(ForeignKey("join_codes.id"))
    succeeded: Mapped[bool]
    at: Mapped[datetime]


class Official(Base):
    """A person who signs in to the officials' console.

    ``username`` is stored folded to lower case, so it is unique whatever the case typed;
    ``password_hash`` is an argon2 hash. A disabled official (``disabled_at`` set) cannot sign
    in, and their sessions stop working at once.
    """

    __tablename__ = "officials"
    __table_args__ = (CheckConstraint(in_values("role", OfficialRole), name="role"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    locale: Mapped[str] = mapped_column(String(10), default="vi")
    password_hash: Mapped[str] = mapped_column(String(200))
    # May sit on a round's evaluation council and score (besides their area role).
    council: Mapped[bool] = mapped_column(default=False, server_default=false())
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OfficialArea(Base):
    """An area an official is responsible for: a commune for a commune official, a province
    for a province official (an administrator has none: they see everything)."""

    __tablename__ = "official_areas"
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"), primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), primary_key=True)


class ConsoleSession(Base):
    """A signed-in browser: the cookie carries a random token, this row only its SHA-256.

    Valid until ``expires_at`` (fixed at sign-in) and while used within the idle limit
    (``last_seen_at``); ``revoked_at`` ends it (sign-out, password reset). ``csrf_token`` is
    the value every form of this session must send back.
    """

    __tablename__ = "console_sessions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """One sign-in try (the username as typed, folded, and the client's address); recent
    failures slow further tries per account and per address (``storage/officials.py``)."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(60))
    address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool]
    at: Mapped[datetime]


class Question(Base):
    """A producer's question left in chat for the office; open ones are the console's queue."""

    __tablename__ = "questions"
    __table_args__ = (
        Index("ix_questions_status_created_at", "status", "created_at"),
        CheckConstraint(in_values("status", QuestionStatus), name="status"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default=QuestionStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    answered_at: Mapped[datetime | None]


class Plan(Base):
    """A province's OCOP plan for one year (entered by an administrator): its targets are
    :class:`PlanTarget` rows. One plan per province and year."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("area_id", "year"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)  # the province
    name: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int] = mapped_column(ForeignKey("officials.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PlanTarget(Base):
    """One target of a plan: at least ``count`` products, optionally of ``min_stars`` or more,
    of one product set or group, in the tourism group, in one area inside the province
    (checked by ``storage/plans.py``; CHECK constraints are kept for state words)."""

    __tablename__ = "plan_targets"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    count: Mapped[int] = mapped_column(Integer)
    min_stars: Mapped[int | None] = mapped_column(Integer)
    product_set: Mapped[int | None] = mapped_column(Integer)
    product_group: Mapped[str | None] = mapped_column(String(10))
    tourism: Mapped[bool] = mapped_column(default=False)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    created_at: Mapped[datetime]


@event.listens_for(Producer, "before_update")
@event.listens_for(Product, "before_update")
def _refold_name(
    _mapper: Mapper[Any], _connection: Connection, target: Producer | Product
) -> None:
    """A renamed producer or product is found by its new name."""
    target.search_name = fold(target.name or "")


class OfficialChat(Base):
    """An official's chat for notifications: the chat linked with a one-time code from the
    console (``channel``/``chat_id``, empty when unlinked) and how they want to hear of events
    (``mode``; a digest goes once a day at ``digest_hour``, Vietnam time)."""

    __tablename__ = "official_chats"
    __table_args__ = (CheckConstraint(in_values("mode", NotifyMode), name="mode"),)
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"), primary_key=True)
    channel: Mapped[str | None] = mapped_column(String(20))
    chat_id: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    linked_at: Mapped[datetime | None]
    mode: Mapped[str] = mapped_column(String(10), default=NotifyMode.EVERY)
    digest_hour: Mapped[int] = mapped_column(Integer, default=8)
    last_digest_on: Mapped[date | None] = mapped_column(Date)


class OfficialLinkCode(Base):
    """A one-time code shown in the console with which an official links their chat; stored
    as the join codes are (a plain selector and a slow hash, ``storage/members.py``)."""

    __tablename__ = "official_link_codes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"), index=True)
    selector: Mapped[str] = mapped_column(String(8), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[int | None] = mapped_column(BigInteger)
    revoked_at: Mapped[datetime | None]
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)


class OfficialDigestItem(Base):
    """An event waiting for an official's daily digest (``sent_at`` once it went)."""

    __tablename__ = "official_digest_items"
    __table_args__ = (
        CheckConstraint(in_values("event", OfficialEvent), name="event"),
        Index("ix_official_digest_items_official_id_sent_at", "official_id", "sent_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"))
    event: Mapped[str] = mapped_column(String(20))
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id"))
    product_id: Mapped[int | None] = mapped_column(BigInteger)
    path: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class Round(Base):
    """An evaluation round: its level, calendar (opening day, submission deadline, evaluation
    deadline, results day, optional ceremony) and the rule set it scores by. Its phase is read
    from the dates and ``scores_closed_at`` / ``published_at``; ``version`` counts edits, so
    two officials editing at once are told."""

    __tablename__ = "rounds"
    __table_args__ = (
        CheckConstraint(in_values("level", RoundLevel), name="level"),
        CheckConstraint(
            "opens_on <= submission_deadline AND submission_deadline <= evaluation_deadline "
            "AND evaluation_deadline <= results_on",
            name="calendar",
        ),
        Index("ix_rounds_submission_deadline", "submission_deadline"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    level: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    opens_on: Mapped[date] = mapped_column(Date)
    submission_deadline: Mapped[date] = mapped_column(Date)
    evaluation_deadline: Mapped[date] = mapped_column(Date)
    results_on: Mapped[date] = mapped_column(Date)
    ceremony_on: Mapped[date | None] = mapped_column(Date)
    rules_version: Mapped[str] = mapped_column(String(20))
    scores_closed_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    created_by: Mapped[int] = mapped_column(ForeignKey("officials.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class RoundArea(Base):
    """An area a round covers (a province, or a commune): producers there file to it."""

    __tablename__ = "round_areas"
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), primary_key=True, index=True)


class RoundEntry(Base):
    """A dossier filed to a round (one round per dossier), the official it is assigned to, and
    the council's outcome once scores are closed (``score``, ``stars`` after caps,
    ``capped_by``/``knocked_out`` codes, ``potential_five_star``, the rule set's version)."""

    __tablename__ = "round_entries"
    __table_args__ = (
        CheckConstraint(in_values("status", EntryStatus), name="status"),
        Index("ix_round_entries_round_id_status", "round_id", "status"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=EntryStatus.SUBMITTED)
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    submitted_at: Mapped[datetime]
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    stars_by_points: Mapped[int | None] = mapped_column(Integer)
    stars: Mapped[int | None] = mapped_column(Integer)
    capped_by: Mapped[list[str] | None] = mapped_column(JSON)
    knocked_out: Mapped[list[str] | None] = mapped_column(JSON)
    potential_five_star: Mapped[bool] = mapped_column(default=False)
    rules_version: Mapped[str | None] = mapped_column(String(20))
    published_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class CouncilMember(Base):
    """An official on a round's evaluation council (officials with ``council`` set)."""

    __tablename__ = "council_members"
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), primary_key=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"), primary_key=True)
    chair: Mapped[bool] = mapped_column(default=False)
    added_at: Mapped[datetime]


class ScoreSheet(Base):
    """One council member's sheet for one entry: points per section code, the star minimums
    they find met and the knock-outs they ticked (codes of the rule set's sheet);
    ``submitted_at`` once the member hands it in. Members see only their own sheet until the
    round's scores are closed."""

    __tablename__ = "score_sheets"
    __table_args__ = (UniqueConstraint("entry_id", "official_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("round_entries.id"))
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"), index=True)
    points: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # section → decimal text
    minimums_met: Mapped[list[str]] = mapped_column(JSON, default=list)
    knockouts: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class Certificate(Base):
    """An OCOP certificate: its public ``number`` (not sequential, with a check character:
    what ``/verify/<number>`` and the QR code carry), the product, producer, stars, issue and
    expiry dates and certifying authority; revoked with a legal ground and a reason."""

    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint(in_values("status", CertificateStatus), name="status"),
        CheckConstraint(
            "revoked_ground IS NULL OR " + in_values("revoked_ground", RevocationGround),
            name="revoked_ground",
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("round_entries.id"), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id"), index=True)
    stars: Mapped[int] = mapped_column(Integer)
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date, index=True)
    authority: Mapped[str] = mapped_column(String(200))
    rules_version: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default=CertificateStatus.VALID)
    issued_by: Mapped[int] = mapped_column(ForeignKey("officials.id"))
    revoked_on: Mapped[date | None] = mapped_column(Date)
    revoked_ground: Mapped[str | None] = mapped_column(String(20))
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    created_at: Mapped[datetime]


class Timer(Base):
    """Timed work (:mod:`storage.timers`): a row that falls due at ``due_at`` and is claimed by
    one scheduler (``claimed_by``, until ``lease_until``), then ``done``. ``key`` names what it
    is for ("round:5:deadline:14"), so scheduling the same thing twice is one row."""

    __tablename__ = "timers"
    __table_args__ = (
        Index("ix_timers_due", "status", "due_at"),
        CheckConstraint(in_values("kind", TimerKind), name="kind"),
        CheckConstraint(in_values("status", TimerStatus), name="status"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    due_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(12), default=TimerStatus.PENDING)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class Announcement(Base):
    """An official's announcement to producers (:mod:`storage.announcements`): the text in
    Vietnamese and optionally English, an optional file (a blob, by SHA-256), buttons (label
    and command, e.g. "/deadlines"), who it is for (``audience``: the filters, as JSON) within
    the writer's scope (``scope``: their role and area codes when it was saved), an optional
    round it announces, when it goes (``scheduled_at``) and until when it is still worth
    sending (``expires_at``). Its deliveries are made in batches by user id:
    ``materialized_after`` is the last user id done, ``materialized_at`` set once all are.
    ``version`` counts edits, so two officials editing at once are told."""

    __tablename__ = "announcements"
    __table_args__ = (
        CheckConstraint(in_values("status", AnnouncementStatus), name="status"),
        Index("ix_announcements_status_scheduled_at", "status", "scheduled_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("officials.id"), index=True)
    scope: Mapped[dict[str, Any]] = mapped_column(default=dict)
    text_vi: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str | None] = mapped_column(Text)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_mime: Mapped[str | None] = mapped_column(String(100))
    buttons: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=AnnouncementStatus.DRAFT)
    scheduled_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    materialized_after: Mapped[int | None] = mapped_column(BigInteger)
    materialized_at: Mapped[datetime | None]
    recipients: Mapped[int | None] = mapped_column(Integer)  # deliveries made (a cache)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class Delivery(Base):
    """One recipient's copy of an announcement: a person's chat on one channel, the producer
    they speak for, its state (and why it failed), and the outbox row once queued. Unique per
    announcement, user and channel, so nobody is queued twice."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("announcement_id", "user_id", "channel"),
        Index("ix_deliveries_announcement_id_status", "announcement_id", "status", "id"),
        Index("ix_deliveries_outbox_id", "outbox_id"),
        CheckConstraint(in_values("status", DeliveryStatus), name="status"),
        CheckConstraint("reason IS NULL OR " + in_values("reason", DeliveryReason), name="reason"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id"))
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default=DeliveryStatus.WAITING)
    reason: Mapped[str | None] = mapped_column(String(20))
    outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
