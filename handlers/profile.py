"""A registered producer's profile card, with a way to edit it (see profile.mmd)."""

from __future__ import annotations

import phonenumbers

from bot.flow import StepContext
from bot.profile_choices import GENDERS, org_type_name
from bot.vocabulary import Button, EventKind
from handlers.access import producer_or_redirect
from storage.area_cache import current_areas

__all__ = ["ProfileFlow"]

EDIT, MENU = "edit", "menu"


class ProfileFlow:
    """Shows the producer's profile."""

    name = "profile"

    async def start(self, ctx: StepContext) -> None:
        """Shows the profile card with Edit and Menu."""
        producer = await producer_or_redirect(ctx)
        if producer is None:
            return
        ctx.set_step("view", flow=self.name)
        areas = await current_areas(ctx.session, ctx.clock)
        province = areas.get(producer.province_id)
        commune = areas.get(producer.commune_id) if producer.commune_id else None
        phone = phonenumbers.format_number(
            phonenumbers.parse(producer.phone, "VN"), phonenumbers.PhoneNumberFormat.NATIONAL
        )
        verified = " ✅" if producer.phone_verified else ""
        commune_name = commune.name if commune else producer.commune_name
        # Labels are translated outside f-strings: Babel cannot extract calls inside them.
        fields = [
            (ctx._("Organisation type"), org_type_name(ctx, producer.org_type)),
            (ctx._("Tax code"), producer.tax_code),
            (ctx._("Business registration no."), producer.business_reg_no or "—"),
            (ctx._("Legal representative"), f"{producer.rep_name} ({producer.rep_position})"),
            (ctx._("Gender"), ctx._(GENDERS.get(producer.rep_gender, "—"))),
            (ctx._("Ethnicity"), producer.rep_ethnicity),
            (ctx._("Mobile phone"), f"{phone}{verified}"),
            (ctx._("Commune / ward"), commune_name),
            (ctx._("Province"), province.name if province else "—"),
            (ctx._("E-mail"), producer.email or "—"),
            (ctx._("Registered on"), ctx.t.date(producer.created_at.date())),
        ]
        lines = [f"{label}: {value}" for label, value in fields]
        ctx.say(
            "\n".join(lines),
            title=producer.name,
            buttons=[[Button(ctx._("✏️ Edit"), EDIT), Button(ctx._("🏠 Menu"), MENU)]],
        )

    async def reprompt(self, ctx: StepContext) -> None:
        await self.start(ctx)

    def help(self, ctx: StepContext) -> str:
        return ctx._("This is your organisation's profile. Tap ✏️ Edit to change it.")

    async def handle(self, ctx: StepContext) -> None:
        """Opens the editor or goes back to the menu."""
        choice = ctx.event.payload if ctx.event.kind == EventKind.BUTTON else ""
        if choice == EDIT:
            await ctx.goto("profile_edit")
        else:
            await ctx.goto("menu")
