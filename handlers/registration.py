"""Producer registration: the organisation's profile, asked as a form (see registration.mmd).

Questions, in the order the producer meets them: organisation type, name, tax code, business
registration number (optional), the legal representative (name, position, gender, ethnicity),
mobile phone, province, commune, e-mail (optional); then a summary to confirm or change.
Organisation types are those of the rules in force (Art. 2.3); only a household may give a
person's 12-digit id as its tax code, so a tax code is checked again when the type changes.
The same form edits a registered producer's profile (:class:`ProfileEditFlow`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import phonenumbers

from bot.flow import StepContext
from bot.i18n import N_, translator
from bot.official_notify import notify_officials
from bot.profile_choices import (
    GENDERS,
    POSITIONS,
    all_ethnicities,
    common_ethnicities,
    org_type,
    sets_allowed,
)
from bot.rules import rules
from bot.validators import (
    Invalid,
    RenumberedMobile,
    TaxCodeKind,
    clean_email,
    clean_mobile,
    clean_name,
    clean_tax_code,
    clean_text,
)
from handlers.access import producer_or_redirect
from handlers.forms import Choice, Field, FormFlow, named, pick, suggest, verified
from storage.area_cache import AreaRecord, AreaSnapshot, current_areas
from storage.areas import REFORM_DAY, AreaMatch
from storage.producers import create_producer, producer_of_user, update_producer
from storage.states import OfficialEvent

__all__ = ["FIELDS", "ProfileEditFlow", "RegistrationFlow", "short_area_name"]

FREE_COMMUNE = "?"  # prefix of a commune typed where no commune list is loaded


def short_area_name(name: str) -> str:
    """ "Tỉnh Bắc Ninh" → "Bắc Ninh": the unit word is dropped on buttons."""
    return re.sub(r"^(Tỉnh|Thành phố|Xã|Phường|Đặc khu|Thị trấn)\s+", "", name)


# -- choices ------------------------------------------------------------------------------


def _static(options: dict[str, str]) -> Any:
    async def choices(_ctx: StepContext) -> Sequence[Choice]:
        return [Choice(value, label) for value, label in options.items()]

    return choices


position_choices = _static(POSITIONS)


async def org_type_choices(ctx: StepContext) -> Sequence[Choice]:
    return [
        Choice(kind.code, kind.name(ctx.user.locale), translate=False)
        for kind in rules(on=ctx.today).org_types
    ]


async def ethnicity_choices(_ctx: StepContext) -> Sequence[Choice]:
    return [Choice(name, name, translate=False) for name in common_ethnicities()]


async def _areas(ctx: StepContext) -> AreaSnapshot:
    """The areas, from memory."""
    return await current_areas(ctx.session, ctx.clock)


async def province_choices(ctx: StepContext) -> Sequence[Choice]:
    return [_area_choice(a, short=True) for a in (await _areas(ctx)).provinces()]


# -- parsers -------------------------------------------------------------------------------


async def parse_name(_ctx: StepContext, typed: str) -> str:
    return clean_name(typed, maximum=300)


async def parse_person(_ctx: StepContext, typed: str) -> str:
    if any(ch.isdigit() for ch in typed):
        raise Invalid(N_("A person's name has no digits; please type the full name."))
    return clean_name(typed)


async def parse_tax_code(_ctx: StepContext, typed: str) -> str:
    return clean_tax_code(typed).value


async def check_tax_code(ctx: StepContext, value: Any) -> None:
    """A person's 12-digit id is a tax code for households only (an unknown old type passes)."""
    kind = org_type(ctx, str(ctx.data["values"].get("org_type")))
    if clean_tax_code(str(value)).kind == TaxCodeKind.CITIZEN_ID and kind and not kind.household:
        raise Invalid(
            N_(
                "{code} has 12 digits: that is a personal ID, which only a household may give "
                "as its tax code. For “{org_type}” the tax code has 10 digits (13 for a branch, "
                "written 0123456789-001), as on the registration certificate."
            ),
            {"code": value, "org_type": kind.name(ctx.user.locale)},
        )


async def remark_org_type(ctx: StepContext, value: Any) -> str:
    """Says which product sets an organisation type limited by Art. 2.3 may register."""
    kind = org_type(ctx, str(value))
    return sets_allowed(ctx, kind) if kind else ""


async def parse_reg_no(_ctx: StepContext, typed: str) -> str:
    value = " ".join(typed.split())
    if not 3 <= len(value) <= 60:
        raise Invalid(N_("A registration number has between 3 and 60 characters."))
    if not any(ch.isdigit() for ch in value):
        raise Invalid(N_("A registration number has digits. Tap Skip if there is none."))
    return value


async def parse_position(ctx: StepContext, typed: str) -> str:
    """A position that names one shortcut is that shortcut; several are offered; any other
    position is kept as typed."""
    found = named(ctx, typed, await position_choices(ctx))
    if len(found) == 1:
        return found[0].value
    if found:
        raise suggest(ctx, found)
    return clean_text(
        typed,
        too_short=N_("Please type the position in full, e.g. “Giám đốc”."),
        maximum=120,
    )


async def parse_ethnicity(ctx: StepContext, typed: str) -> str:
    choices = [Choice(name, name, translate=False) for name in all_ethnicities()]
    unknown = Invalid(
        N_("“{typed}” is not one of Vietnam's 54 ethnic groups. Please check the spelling."),
        {"typed": typed},
    )
    return pick(ctx, typed, choices, unknown)


async def parse_phone(ctx: StepContext, typed: str) -> str:
    """A mobile number; an old 11-digit one gets its new number offered as a button."""
    try:
        return clean_mobile(typed)
    except RenumberedMobile as old:
        suggest(ctx, [Choice(old.number, old.params["new"], translate=False)])
        raise


async def parse_email(_ctx: StepContext, typed: str) -> str:
    return clean_email(typed)


async def parse_province(ctx: StepContext, typed: str) -> str:
    found = (await _areas(ctx)).find_province(typed)
    if (taken := _taken(ctx, found, short=True)) is not None:
        return taken
    if found:
        raise _offer(ctx, found, short=True)
    raise Invalid(
        N_("I do not know a province called “{typed}”. Please tap it in the list."),
        {"typed": typed},
    )


async def parse_commune(ctx: StepContext, typed: str) -> str:
    province_id = int(ctx.data["values"]["province"])
    known = await _areas(ctx)
    found = known.find_commune(province_id, typed)
    if not found and not known.communes_of(province_id):
        # No commune list is loaded for this province: keep the name as typed, and say so.
        name = clean_name(typed)
        ctx.say(
            ctx._(
                "I cannot check “{commune}”: the list of communes is not loaded yet. "
                "I will save it as you typed it; an OCOP official will check it."
            ).format(commune=name)
        )
        return FREE_COMMUNE + name
    if (taken := _taken(ctx, found, short=False)) is not None:
        return taken
    province = known.get(province_id)
    params = {
        "typed": typed,
        "province": province.name if province else "",
        "date": ctx.t.date(REFORM_DAY),
    }
    if not found:
        raise Invalid(
            N_(
                "I could not find a commune or ward called “{typed}” in {province}. On {date} "
                "many communes and wards were merged and renamed: please type its new name."
            ),
            params,
        )
    _offer(ctx, found, short=False)
    raise Invalid(
        N_(
            "I could not find “{typed}” exactly in {province}. On {date} many communes and "
            "wards were merged and renamed. Did you mean one of these? If not, please type "
            "its new name."
        ),
        params,
    )


def _taken(ctx: StepContext, found: Sequence[AreaMatch[AreaRecord]], *, short: bool) -> str | None:
    """The one exact match, if there is one (said how when through a merged unit)."""
    exact = [match for match in found if match.exact]
    if len(exact) != 1:
        return None
    _explain(ctx, exact[0], short=short)
    return str(exact[0].area.id)


def _offer(ctx: StepContext, found: Sequence[AreaMatch[AreaRecord]], *, short: bool) -> Invalid:
    """Offers the matches as buttons, saying first how the best of them were found through a
    merged unit ("bac can": Bắc Kạn is part of Thái Nguyên); raise what it returns."""
    for match in found:
        if match.score == found[0].score:
            _explain(ctx, match, short=short)
    return suggest(ctx, [_area_choice(match.area, short=short) for match in found])


def _explain(ctx: StepContext, match: AreaMatch[AreaRecord], *, short: bool) -> None:
    """ "Since 1 July 2025, Bắc Giang is part of Bắc Ninh." when the match went through it."""
    merged = match.merged
    if merged is None or merged.since is None:
        return
    shown = short_area_name if short else str
    ctx.say(
        ctx._("Since {date}, {old} is part of {new}.").format(
            date=ctx.t.date(merged.since), old=shown(merged.merged), new=shown(match.area.name)
        )
    )


def _area_choice(area: AreaRecord, *, short: bool = False) -> Choice:
    return Choice(str(area.id), short_area_name(area.name) if short else area.name, False)


# -- how answers are shown -------------------------------------------------------------------


async def show_area(ctx: StepContext, value: Any) -> str:
    text = str(value)
    if text.startswith(FREE_COMMUNE):
        return text[len(FREE_COMMUNE) :]
    area = (await _areas(ctx)).get(int(text))
    return area.name if area else "—"


async def show_phone(_ctx: StepContext, value: Any) -> str:
    number = phonenumbers.parse(str(value), "VN")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


FIELDS: tuple[Field, ...] = (
    Field(
        "org_type",
        N_("Organisation type"),
        N_("What kind of organisation are you registering?"),
        choices=org_type_choices,
        columns=1,
        rechecks=("tax_code",),
        remark=remark_org_type,
    ),
    Field(
        "name",
        N_("Name"),
        N_("What is the organisation's full name, as on its registration certificate?"),
        parse=parse_name,
        hint=N_("For example: Hợp tác xã Nông nghiệp Lục Ngạn"),
    ),
    Field(
        "tax_code",
        N_("Tax code"),
        N_("What is its tax code (mã số thuế)?"),
        parse=parse_tax_code,
        check=check_tax_code,
        hint=N_("10 digits, or 13 for a branch; a household may give the owner's citizen ID."),
    ),
    Field(
        "business_reg_no",
        N_("Business registration no."),
        N_("What is its business registration number, if it differs from the tax code?"),
        parse=parse_reg_no,
        optional=True,
    ),
    Field(
        "rep_name",
        N_("Legal representative"),
        N_("Who is the legal representative? Please type their full name."),
        parse=parse_person,
    ),
    Field(
        "rep_position",
        N_("Position"),
        N_("What is the representative's position? Tap one or type it."),
        choices=position_choices,
        free_text=True,
        parse=parse_position,
    ),
    Field(
        "rep_gender",
        N_("Gender"),
        N_("The representative's gender?"),
        choices=_static(GENDERS),
        columns=3,
    ),
    Field(
        "rep_ethnicity",
        N_("Ethnicity"),
        N_("The representative's ethnic group? Tap one or type it."),
        choices=ethnicity_choices,
        free_text=True,
        parse=parse_ethnicity,
        columns=4,
    ),
    Field(
        "phone",
        N_("Mobile phone"),
        N_(
            "Which mobile number can officials reach you on? "
            "Tap “Share my phone number” or type it."
        ),
        typed_prompt=N_("Which mobile number can officials reach you on? Please type it."),
        parse=parse_phone,
        contact=True,
        show=show_phone,
    ),
    Field(
        "province",
        N_("Province"),
        N_("Which province or city is the organisation in? Tap it or type its name."),
        choices=province_choices,
        free_text=True,
        parse=parse_province,
        columns=3,
        show=show_area,
        resets=("commune",),
    ),
    Field(
        "commune",
        N_("Commune / ward"),
        N_("Which commune or ward? Type its name, e.g. “Tân Sơn”."),
        parse=parse_commune,
        show=show_area,
    ),
    Field(
        "email",
        N_("E-mail"),
        N_("An e-mail address for the organisation? You may skip this."),
        parse=parse_email,
        optional=True,
    ),
)


def producer_columns(ctx: StepContext, values: dict[str, Any]) -> dict[str, Any]:
    """Form answers → producer columns."""
    commune = str(values["commune"])
    free = commune.startswith(FREE_COMMUNE)
    return {
        "org_type": values["org_type"],
        "name": values["name"],
        "tax_code": values["tax_code"],
        "business_reg_no": values.get("business_reg_no"),
        "rep_name": values["rep_name"],
        "rep_position": _position_text(ctx, values["rep_position"]),
        "rep_gender": values["rep_gender"],
        "rep_ethnicity": values["rep_ethnicity"],
        "phone": values["phone"],
        "phone_verified": verified(ctx, "phone", values["phone"]),
        "province_id": int(values["province"]),
        "commune_id": None if free else int(commune),
        "commune_name": commune[len(FREE_COMMUNE) :] if free else "",
        "email": values.get("email"),
    }


def _position_text(ctx: StepContext, value: str) -> str:
    """A position tapped from the shortcuts is stored as its Vietnamese name."""
    if value in POSITIONS:
        return translator("vi").gettext(POSITIONS[value])
    return value


class RegistrationFlow(FormFlow):
    """A new producer's registration."""

    name = "registration"
    title = N_("Registration")
    fields = FIELDS

    async def start(self, ctx: StepContext) -> None:
        if await producer_of_user(ctx.session, ctx.user.id):
            ctx.say(ctx._("Your organisation is already registered."))
            await ctx.goto("menu")
            return
        ctx.say(
            ctx._(
                "Let's register your organisation for OCOP. It takes about 5 minutes; have your "
                "business registration certificate at hand. You can stop any time and continue "
                "later."
            )
        )
        await super().start(ctx)

    async def complete(self, ctx: StepContext, values: dict[str, Any]) -> None:
        """Creates the producer and shows the main menu."""
        producer = await create_producer(ctx.session, ctx.user.id, producer_columns(ctx, values))
        await notify_officials(
            ctx.session, producer=producer, event=OfficialEvent.REGISTERED, clock=ctx.clock
        )
        ctx.say(ctx._("🎉 {name} is registered. Welcome to OCOP Bot!").format(name=producer.name))
        await ctx.goto("menu")


class ProfileEditFlow(FormFlow):
    """A registered producer changes their profile, starting from the summary."""

    name = "profile_edit"
    title = N_("Profile")
    fields = FIELDS

    async def initial_values(self, ctx: StepContext) -> dict[str, Any]:
        producer = await producer_of_user(ctx.session, ctx.user.id)
        if producer is None:
            return {}
        commune = (
            str(producer.commune_id)
            if producer.commune_id
            else FREE_COMMUNE + producer.commune_name
        )
        if producer.phone_verified:
            ctx.data["verified"] = {"phone": producer.phone}
        return {
            "org_type": producer.org_type,
            "name": producer.name,
            "tax_code": producer.tax_code,
            "business_reg_no": producer.business_reg_no,
            "rep_name": producer.rep_name,
            "rep_position": producer.rep_position,
            "rep_gender": producer.rep_gender,
            "rep_ethnicity": producer.rep_ethnicity,
            "phone": producer.phone,
            "province": str(producer.province_id),
            "commune": commune,
            "email": producer.email,
        }

    async def start(self, ctx: StepContext) -> None:
        if await producer_or_redirect(ctx, "registration") is not None:
            await super().start(ctx)

    async def complete(self, ctx: StepContext, values: dict[str, Any]) -> None:
        """Saves the changed profile and shows it."""
        producer = await producer_of_user(ctx.session, ctx.user.id)
        assert producer is not None
        changes = await update_producer(
            ctx.session, producer, ctx.user.id, producer_columns(ctx, values)
        )
        ctx.say(ctx._("Your profile is saved.") if changes else ctx._("Nothing was changed."))
        await ctx.goto("profile")

    async def cancelled(self, ctx: StepContext) -> None:
        await ctx.goto("profile")
