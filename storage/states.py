"""The state words stored in the database, one ``StrEnum`` per family, and their groups.

Every status, kind or role column that holds one of a fixed set of words takes it from here;
``storage/models.py`` turns each enum into a CHECK constraint (:func:`in_values`), so the
database refuses any other word. The stored values are the enum values: adding a member needs
a migration that widens the constraint. Groups of states that the code asks about ("sent back",
"editable"…) are defined once, below the enums.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AWAITING_REVIEW",
    "DECISIONS",
    "DELIVERY_OPEN",
    "EDITABLE_DOSSIER",
    "MESSAGING_TIMERS",
    "OUTBOX_WAITING",
    "SENDS_DOSSIER_BACK",
    "SENT_BACK",
    "UNDER_REVIEW",
    "ActorKind",
    "AnnouncementStatus",
    "CertificateStatus",
    "DeliveryReason",
    "DeliveryStatus",
    "DocumentStatus",
    "DossierStatus",
    "EntryStatus",
    "InboxStatus",
    "MemberRole",
    "NotifyMode",
    "OfficialEvent",
    "OfficialRole",
    "OutboxKind",
    "OutboxStatus",
    "ProducerStatus",
    "QuestionStatus",
    "RevocationGround",
    "RoundLevel",
    "RoundPhase",
    "TimerKind",
    "TimerStatus",
    "TranscriptDirection",
    "in_values",
]


class InboxStatus(StrEnum):
    """An inbound update (``inbox.status``): stored ``pending``, then ``done`` once its step is
    committed, or ``failed`` after too many failed attempts; ``parked`` from the start when the
    channel could not read it (kept, never run)."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    PARKED = "parked"


class OutboxStatus(StrEnum):
    """A message to send (``outbox.status``): ``pending`` → ``sending`` while a sender holds its
    lease → ``sent``; back to ``pending`` to retry later; or given up as ``failed``, ``expired``
    (too late to matter) or ``unreachable`` (the user blocked the bot); or ``cancelled`` before
    it went (its announcement was cancelled)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    EXPIRED = "expired"
    UNREACHABLE = "unreachable"
    CANCELLED = "cancelled"


class OutboxKind(StrEnum):
    """What an outbox message is (``outbox.kind``, fixed when queued): a ``reply`` to the user's
    own message, a ``notification`` the bot sends on its own (a review, a reminder, an answer),
    or an ``announcement``'s copy (:class:`DeliveryStatus` follows its outcome)."""

    REPLY = "reply"
    NOTIFICATION = "notification"
    ANNOUNCEMENT = "announcement"


class TranscriptDirection(StrEnum):
    """Which way a transcript line went (``transcript.direction``, fixed when written)."""

    IN = "in"
    OUT = "out"


class ActorKind(StrEnum):
    """Who made an audited change (``audit_log.actor_kind``, fixed when written): the chat
    ``user``, an ``official`` in the console, or the ``system`` itself."""

    USER = "user"
    OFFICIAL = "official"
    SYSTEM = "system"


class ProducerStatus(StrEnum):
    """A producer (``producers.status``): ``registered`` when the chat registration is done;
    the console's verification steps come later."""

    REGISTERED = "registered"


class MemberRole(StrEnum):
    """A person's place in a producer (``producer_members.role``, fixed when added): the
    ``owner`` who registered it, or a ``member`` who joined with a code."""

    OWNER = "owner"
    MEMBER = "member"


class OfficialRole(StrEnum):
    """What an official of the console is responsible for (``officials.role``): the producers
    of their ``commune`` (or communes), of their ``province``, or of every area (``admin``)."""

    COMMUNE = "commune"
    PROVINCE = "province"
    ADMIN = "admin"


class QuestionStatus(StrEnum):
    """A producer's question to the office (``questions.status``): ``open`` in the console's
    queue until an official ``answered`` it, or ``closed`` without an answer."""

    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class NotifyMode(StrEnum):
    """How an official with a linked chat hears of events in their area
    (``official_chats.mode``): a message for ``every`` event, one ``digest`` a day, or
    nothing (``muted``)."""

    EVERY = "every"
    DIGEST = "digest"
    MUTED = "muted"


class OfficialEvent(StrEnum):
    """What an official is told of (``official_digest_items.event``): a producer
    ``registered``, a dossier ``submitted``, a sent-back document ``reuploaded``, a producer's
    ``question``."""

    REGISTERED = "registered"
    SUBMITTED = "submitted"
    REUPLOADED = "reuploaded"
    QUESTION = "question"


class DossierStatus(StrEnum):
    """A dossier's review state (``dossiers.status``, as in ODK Central): ``draft`` until the
    producer submits it → ``submitted``; an official sends it back (``has_issues``), and the
    producer's corrections make it ``edited``; finally ``approved`` or ``rejected``."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    HAS_ISSUES = "has_issues"
    EDITED = "edited"
    APPROVED = "approved"
    REJECTED = "rejected"


class DocumentStatus(StrEnum):
    """A dossier document's review state (``dossier_documents.status``): ``received`` when first
    uploaded; an official marks it ``has_issues``, ``approved`` or ``rejected``; a re-upload
    after ``has_issues`` or ``rejected`` makes it ``edited``."""

    RECEIVED = "received"
    HAS_ISSUES = "has_issues"
    EDITED = "edited"
    APPROVED = "approved"
    REJECTED = "rejected"


class RoundLevel(StrEnum):
    """Who holds an evaluation round (``rounds.level``): the ``province``'s council (3★, 4★,
    and potential 5★ sent on) or the ministry's ``central`` council (5★)."""

    PROVINCE = "province"
    CENTRAL = "central"


class EntryStatus(StrEnum):
    """A dossier in a round (``round_entries.status``): ``submitted`` to the round, ``in_review``
    once an official is assigned, ``scored`` when the round's scores are closed, ``published``
    when its results are out."""

    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    SCORED = "scored"
    PUBLISHED = "published"


class RoundPhase(StrEnum):
    """Where a round stands (never stored: ``storage.rounds.phase`` reads it from the dates
    and ``scores_closed_at`` / ``published_at``): ``upcoming`` before it opens, ``open`` for
    dossiers until the submission deadline (inclusive), then ``evaluating``, ``scored`` once
    the council's scores are closed, ``published`` once results are out."""

    UPCOMING = "upcoming"
    OPEN = "open"
    EVALUATING = "evaluating"
    SCORED = "scored"
    PUBLISHED = "published"


class CertificateStatus(StrEnum):
    """A certificate (``certificates.status``): ``valid`` until its expiry date, or ``revoked``
    by the certifying authority (expiry is read from the date, not stored)."""

    VALID = "valid"
    REVOKED = "revoked"


class RevocationGround(StrEnum):
    """The legal grounds on which a certificate is revoked (``certificates.revoked_ground``)."""

    FORGED_DOSSIER = "forged_dossier"
    CRITERIA_NOT_MET = "criteria_not_met"
    LAW_VIOLATION = "law_violation"  # quality, food safety, environment, IP or labelling
    MARK_MISUSE = "mark_misuse"  # misuse of the OCOP mark
    PRODUCTION_STOPPED = "production_stopped"
    OTHER = "other"


class TimerKind(StrEnum):
    """What a timer (``timers.kind``, :mod:`storage.timers`) does when it falls due: remind
    producers of a round's ``deadline_reminder``, that a certificate's re-rating window opens
    (``rerating_opens``) or is closing (``rerating_closing``)."""

    DEADLINE_REMINDER = "deadline_reminder"
    RERATING_OPENS = "rerating_opens"
    RERATING_CLOSING = "rerating_closing"


class TimerStatus(StrEnum):
    """A timer's state (``timers.status``): ``pending`` until due; ``claimed`` by a scheduler
    (under a lease); ``done`` once fired, or ``cancelled``; ``failed`` after too many tries."""

    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


class AnnouncementStatus(StrEnum):
    """An official's announcement to producers (``announcements.status``): a ``draft`` while it
    is written; ``scheduled`` for a time (or now); ``sending`` once its deliveries are being
    made and sent; ``done`` when none is left to go; or ``cancelled`` by an official."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class DeliveryStatus(StrEnum):
    """One recipient's copy of an announcement (``deliveries.status``): ``waiting`` to be put in
    the outbox, ``queued`` once it is (``outbox_id``), ``sent``; ``failed`` with a
    :class:`DeliveryReason`; ``too_old`` when the announcement's expiry passed before it went;
    ``cancelled`` with its announcement."""

    WAITING = "waiting"
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    TOO_OLD = "too_old"
    CANCELLED = "cancelled"


class DeliveryReason(StrEnum):
    """Why a delivery failed (``deliveries.reason``): the person ``blocked`` the bot, their
    account was ``deleted``, the platform allows no message ``outside_window`` (Zalo's reply
    window), the platform ``refused`` it for another reason, or it could not be delivered
    (``gave_up``: network errors until the sender's last attempt)."""

    BLOCKED = "blocked"
    DELETED = "deleted"
    OUTSIDE_WINDOW = "outside_window"
    REFUSED = "refused"
    GAVE_UP = "gave_up"


# Outbox messages still to go: waiting, or claimed by a sender.
OUTBOX_WAITING = (OutboxStatus.PENDING, OutboxStatus.SENDING)
# Deliveries not yet settled: still to be queued, or in the outbox.
DELIVERY_OPEN = (DeliveryStatus.WAITING, DeliveryStatus.QUEUED)
# Dossiers the producer may still change (upload, submit).
EDITABLE_DOSSIER = (DossierStatus.DRAFT, DossierStatus.HAS_ISSUES, DossierStatus.EDITED)
# Dossiers filed and not yet decided: their documents are for officials to review.
UNDER_REVIEW = (DossierStatus.SUBMITTED, DossierStatus.HAS_ISSUES, DossierStatus.EDITED)
# Dossiers that a document sent back puts in ``has_issues`` (not yet decided, not already).
SENDS_DOSSIER_BACK = (DossierStatus.DRAFT, DossierStatus.SUBMITTED, DossierStatus.EDITED)
# A document (or dossier) sent back to the producer: to correct, or rejected with a reason.
# The words are the same for documents and dossiers.
SENT_BACK = (DocumentStatus.HAS_ISSUES, DocumentStatus.REJECTED)
# What a reviewer may decide about a document or a dossier.
DECISIONS = (DocumentStatus.HAS_ISSUES, DocumentStatus.APPROVED, DocumentStatus.REJECTED)
# Timers that message people: they wait for daytime (quiet hours, storage.clock.QuietHours).
MESSAGING_TIMERS = (
    TimerKind.DEADLINE_REMINDER,
    TimerKind.RERATING_OPENS,
    TimerKind.RERATING_CLOSING,
)
# Documents no official has decided on since their last upload.
AWAITING_REVIEW = (DocumentStatus.RECEIVED, DocumentStatus.EDITED)


def in_values(column: str, states: type[StrEnum]) -> str:
    """The SQL of a CHECK that ``column`` holds one of the values of ``states``."""
    words = ", ".join(f"'{s.value}'" for s in states)
    return f"{column} IN ({words})"
