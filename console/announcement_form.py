"""The announcement form as typed: reading it (texts, buttons, audience, file, expiry, sending
time) into :class:`~storage.announcements.AnnouncementValues`, and back from a stored
announcement, keeping what was typed across the round-trips a page without scripts needs
(counting recipients, finding communes).

An uploaded file is checked by its bytes (:func:`bot.filetypes.detect`: PDF, JPEG or PNG, at
most 20 MB) and stored in the blob store at once, so it stays attached while the official goes
on; the form then carries it as hidden fields signed with a key of this process, so a form can
only name a file uploaded through it (or the announcement's own file), never any blob by its
hash.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from urllib.parse import unquote

from aiohttp.web import FileField
from multidict import MultiDictProxy

from bot.announcement_buttons import COMMANDS, button, command_of
from bot.broadcast import FILE_KINDS, MAX_FILE
from bot.filetypes import Detection, FileKind, Refusal, detect
from bot.i18n import N_, Translator
from bot.rules import RuleSet
from console.labels import CHANNELS
from storage.announcements import (
    AnnouncementFile,
    AnnouncementValues,
    Audience,
    Button,
)
from storage.blobs import BlobStore
from storage.clock import LOCAL_TIMEZONE
from storage.models import Announcement
from storage.states import DossierStatus

__all__ = [
    "ERRORS",
    "LANGUAGES",
    "MAX_FILE",
    "AnnouncementForm",
    "audience_of",
    "local_parts",
    "read_form",
    "sign_file",
]

log = logging.getLogger(__name__)

Form = MultiDictProxy[Any]
CHECK_TIMEOUT = 10.0  # seconds the check of one file's bytes may take
LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}  # each in its own language
_KEY = secrets.token_bytes(32)  # signs the files this process received
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\\"]+")

ERRORS = {
    "text_vi": N_(
        "Write the announcement in Vietnamese: up to 4,096 characters, or 1,024 with a file."
    ),
    "text_en": N_("The English text is too long: up to 4,096 characters, or 1,024 with a file."),
    "buttons": N_("Choose at most six buttons from the list."),
    "file": N_("Attach a PDF, JPEG or PNG file."),
    "file_size": N_("The file is larger than 20 MB."),
    "file_store": N_("Files cannot be stored here: send the announcement without one."),
    "file_again": N_("Attach the file again."),
    "areas": N_("Choose areas among your own."),
    "round": N_("Choose a round among those you see."),
    "no_product": N_(
        "Producers without a product have no product set or dossier: do not combine this with "
        "product sets, dossier states or a round's dossiers."
    ),
    "expires": N_("Enter a date and a time, for example 30/10/2027 and 23:59."),
    "send_at": N_("Enter a date and a time still ahead, for example 30/10/2027 and 08:00."),
    "expires_first": N_(
        "It would expire before it goes: choose a later expiry or an earlier sending time."
    ),
}
AUDIENCE_FIELDS = ("areas", "round", "no_product")


def sign_file(file: AnnouncementFile) -> str:
    """The signature that lets a form carry ``file`` to the next request."""
    text = "\n".join((file.sha256, file.name, file.mime)).encode()
    return hmac.new(_KEY, text, hashlib.sha256).hexdigest()


@dataclass
class AnnouncementForm:
    """An announcement's fields as typed (choices as the form's strings) and their errors."""

    text_vi: str = ""
    text_en: str = ""
    buttons: list[str] = field(default_factory=list)
    areas: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    sets: list[str] = field(default_factory=list)
    no_product: bool = False
    unfiled_round: str = ""
    states: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    round: str = ""
    expires_on: str = ""
    expires_time: str = ""
    send_on: str = ""
    send_time: str = ""
    version: str = ""
    file: AnnouncementFile | None = None
    commune_province: str = ""
    commune_q: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def file_signature(self) -> str:
        return sign_file(self.file) if self.file else ""

    @classmethod
    def of(cls, stored: Announcement | AnnouncementValues, rule_set: RuleSet) -> AnnouncementForm:
        """The form showing a stored announcement (or ready-made values)."""
        if isinstance(stored, Announcement):
            audience = Audience.from_json(stored.audience)
            buttons = [Button(**b) for b in stored.buttons]
            file = (
                AnnouncementFile(
                    stored.file_sha256, stored.file_name or "", stored.file_mime or ""
                )
                if stored.file_sha256
                else None
            )
            version = str(stored.version)
        else:
            audience, buttons, file, version = stored.audience, list(stored.buttons), None, ""
        groups, sets = _groups_and_sets(audience.product_sets, rule_set)
        expires_on, expires_time = local_parts(stored.expires_at)
        keys = [found.key for b in buttons if (found := command_of(b)) is not None]
        return cls(
            text_vi=stored.text_vi,
            text_en=stored.text_en or "",
            buttons=keys,
            areas=[str(a) for a in sorted(audience.area_ids)],
            groups=groups,
            sets=sets,
            no_product=audience.no_product,
            unfiled_round=str(audience.unfiled_for_round or ""),
            states=sorted(str(s) for s in audience.dossier_states),
            languages=sorted(audience.languages),
            channels=sorted(audience.channels),
            round=str(stored.round_id or ""),
            expires_on=expires_on,
            expires_time=expires_time,
            version=version,
            file=file,
        )


def _groups_and_sets(chosen: frozenset[int], rule_set: RuleSet) -> tuple[list[str], list[str]]:
    """The groups whose every set is chosen, and the chosen sets not in one of them."""
    groups, covered = [], set()
    for group in rule_set.groups:
        numbers = {s.number for s in rule_set.sets_in_group(group.code)}
        if numbers and numbers <= chosen:
            groups.append(group.code)
            covered |= numbers
    return groups, [str(n) for n in sorted(chosen - covered)]


def local_parts(moment: datetime | None) -> tuple[str, str]:
    """A moment as the date and time inputs show it, in Vietnam time."""
    if moment is None:
        return "", ""
    local = moment.astimezone(LOCAL_TIMEZONE)
    return local.date().isoformat(), local.strftime("%H:%M")


def _date(text: str) -> date | None:
    """A date as the date input sends it (2027-10-30) or as typed (30/10/2027)."""
    try:
        if "/" in text:
            day, month, year = (int(part) for part in text.split("/"))
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        return None


def _time(text: str) -> time | None:
    try:
        hour, minute = (int(part) for part in text.replace("h", ":").split(":")[:2])
        return time(hour, minute)
    except ValueError:
        return None


def moment(day_text: str, time_text: str, default_time: time) -> datetime | None:
    """The moment typed as a date and a time (Vietnam time), as UTC; None when unreadable."""
    day = _date(day_text)
    hour = _time(time_text) if time_text else default_time
    if day is None or hour is None:
        return None
    return datetime.combine(day, hour, LOCAL_TIMEZONE)


def _text(form: Form, name: str, limit: int) -> str:
    value = form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


def _all(form: Form, name: str, limit: int = 500) -> list[str]:
    return [v[:40] for v in form.getall(name, []) if isinstance(v, str)][:limit]


def _ids(texts: list[str]) -> frozenset[int]:
    return frozenset(int(t) for t in texts if t.isascii() and t.isdigit() and len(t) < 19)


def _id(text: str) -> int | None:
    return next(iter(_ids([text])), None)


def audience_of(typed: AnnouncementForm, rule_set: RuleSet) -> Audience:
    """The audience the form's choices describe (unknown values dropped)."""
    sets = {n for n in _ids(typed.sets) if n in {s.number for s in rule_set.product_sets}}
    for code in typed.groups:
        if code in {g.code for g in rule_set.groups}:
            sets |= {s.number for s in rule_set.sets_in_group(code)}
    known_states = {str(s) for s in DossierStatus}
    return Audience(
        area_ids=_ids(typed.areas),
        product_sets=frozenset(sets),
        no_product=typed.no_product,
        unfiled_for_round=_id(typed.unfiled_round),
        dossier_states=frozenset(DossierStatus(s) for s in typed.states if s in known_states),
        languages=frozenset(x for x in typed.languages if x in LANGUAGES),
        channels=frozenset(x for x in typed.channels if x in CHANNELS),
    )


def _typed(form: Form) -> AnnouncementForm:
    return AnnouncementForm(
        text_vi=_text(form, "text_vi", 10_000),
        text_en=_text(form, "text_en", 10_000),
        buttons=[k for k in _all(form, "buttons") if k in {c.key for c in COMMANDS}],
        areas=_all(form, "areas"),
        groups=_all(form, "groups"),
        sets=_all(form, "sets"),
        no_product=bool(_text(form, "no_product", 5)),
        unfiled_round=_text(form, "unfiled_round", 18),
        states=_all(form, "states"),
        languages=_all(form, "languages"),
        channels=_all(form, "channels"),
        round=_text(form, "round", 18),
        expires_on=_text(form, "expires_on", 20).strip(),
        expires_time=_text(form, "expires_time", 10).strip(),
        send_on=_text(form, "send_on", 20).strip(),
        send_time=_text(form, "send_time", 10).strip(),
        version=_text(form, "version", 18),
        commune_province=_text(form, "commune_province", 18),
        commune_q=_text(form, "commune_q", 100).strip(),
    )


def _kept_file(form: Form, stored: AnnouncementFile | None) -> AnnouncementFile | bool | None:
    """The file the form carries: the stored one, one it signed, None, or False when its
    signature does not hold (to be attached again)."""
    sha256 = _text(form, "file_sha256", 64)
    if not sha256 or _text(form, "remove_file", 5):
        return None
    carried = AnnouncementFile(
        sha256, _text(form, "file_name", 255), _text(form, "file_mime", 100)
    )
    if carried == stored:
        return carried
    if hmac.compare_digest(sign_file(carried), _text(form, "file_signature", 64)):
        return carried
    return False


def _file_name(name: str, detected: Detection) -> str:
    """The uploaded name (percent-decoded, as some clients send it) without paths or control
    characters, with the extension of what the bytes are."""
    base = unquote(name).replace("\\", "/").rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = _UNSAFE_NAME.sub(" ", stem).strip(" .")[:100] or "file"
    return f"{stem}.{detected.extension}"


async def _check(data: bytes) -> Detection:
    """What the bytes are, told off the event loop and within the time limit."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            return await asyncio.to_thread(detect, data, dict.fromkeys(FileKind, MAX_FILE))
    except TimeoutError:
        log.warning("checking an announcement's file took over %s s: refused", CHECK_TIMEOUT)
    except Exception as exc:  # a defect in a parser refuses the file, not the page
        log.error("checking an announcement's file failed: %s", type(exc).__name__)
    return Detection(None, Refusal.UNREADABLE)


async def _uploaded(
    form: Form, blobs: BlobStore | None, errors: dict[str, str], t: Translator
) -> AnnouncementFile | None:
    """A file uploaded with this form, checked and stored; None (and an error) otherwise."""
    upload = form.get("file")
    if not isinstance(upload, FileField):  # none, or an empty file input
        return None
    try:
        data = await asyncio.to_thread(upload.file.read, MAX_FILE + 1)
    finally:
        upload.file.close()
    filename = upload.filename or ""
    if not data or not filename:
        return None
    if len(data) > MAX_FILE:
        errors["file"] = t.gettext(ERRORS["file_size"])
        return None
    detected = await _check(data)
    if not detected.accepted or detected.kind not in FILE_KINDS:
        too_large = detected.refusal is Refusal.TOO_LARGE
        errors["file"] = t.gettext(ERRORS["file_size" if too_large else "file"])
        return None
    if blobs is None:
        errors["file"] = t.gettext(ERRORS["file_store"])
        return None
    stored = await blobs.put(data)
    return AnnouncementFile(
        stored.sha256, _file_name(filename, detected), detected.mime_type or ""
    )


async def read_form(
    form: Form,
    *,
    rule_set: RuleSet,
    blobs: BlobStore | None,
    stored_file: AnnouncementFile | None,
    t: Translator,
) -> tuple[AnnouncementForm, AnnouncementValues | None]:
    """The form as typed and, when nothing in it is wrong, the values to store. A file
    uploaded now is stored (and kept on the form) whatever else is wrong."""
    typed = _typed(form)
    errors = typed.errors
    kept = _kept_file(form, stored_file)
    if kept is False:
        errors["file"] = t.gettext(ERRORS["file_again"])
    uploaded = await _uploaded(form, blobs, errors, t)
    typed.file = uploaded or (kept if isinstance(kept, AnnouncementFile) else None)
    if not typed.text_vi.strip():
        errors["text_vi"] = t.gettext(ERRORS["text_vi"])
    expires = None
    if typed.expires_on or typed.expires_time:
        expires = moment(typed.expires_on, typed.expires_time, time(23, 59))
        if expires is None:
            errors["expires"] = t.gettext(ERRORS["expires"])
    if errors:
        return typed, None
    return typed, AnnouncementValues(
        text_vi=typed.text_vi,
        text_en=typed.text_en or None,
        audience=audience_of(typed, rule_set),
        file=typed.file,
        buttons=tuple(button(c.key) for c in COMMANDS if c.key in typed.buttons),
        round_id=_id(typed.round),
        expires_at=expires,
    )
