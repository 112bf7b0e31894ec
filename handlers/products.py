"""Products: registering a new one (a form) and the "My products" list (see products.mmd).

The product form asks the group, the product set (buttons, or part of a name typed with or
without diacritics), name, description, packaging, yearly output, raw-material area and the
dossier kind (upgrade and re-rating ask the certificate's number and issue date; a re-rating is
told when its filing window opens, or that it has passed). Confirming creates the product and
its draft dossier and opens the dossier's checklist.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from bot.dossier_progress import progress
from bot.flow import StepContext
from bot.i18n import N_
from bot.profile_choices import org_type, sets_allowed
from bot.reminders import schedule_rerating_reminders
from bot.rerating import RERATING, rerating_window
from bot.rules import ProductSet, rules
from bot.validators import Invalid, clean_text, parse_id, parse_past_date
from bot.vocabulary import Button, EventKind
from handlers.access import producer_or_redirect
from handlers.documents import window_text
from handlers.forms import Choice, Field, FormFlow, suggest
from storage.dossiers import create_product, current_dossier, documents_of, products_of
from storage.models import Product
from storage.producers import producer_of_user
from storage.states import DossierStatus

__all__ = ["ProductFormFlow", "ProductsFlow", "product_summary"]

OPEN, NEW, MENU = "p:", "new", "menu"
MAX_SUGGESTED_SETS = 8  # best first; more words typed narrow the list


def _set_label(pset: ProductSet, locale: str | None) -> str:
    return f"{pset.number}. {pset.name(locale)}"


async def group_choices(ctx: StepContext) -> Sequence[Choice]:
    return [
        Choice(g.code, f"{g.code}. {g.name(ctx.user.locale)}", translate=False)
        for g in rules(on=ctx.today).groups
    ]


async def set_choices(ctx: StepContext) -> Sequence[Choice]:
    group = ctx.data["values"].get("group")
    return [
        Choice(str(s.number), _set_label(s, ctx.user.locale), translate=False)
        for s in rules(on=ctx.today).sets_in_group(str(group))
    ]


async def kind_choices(ctx: StepContext) -> Sequence[Choice]:
    return [
        Choice(k.code, k.name(ctx.user.locale), translate=False)
        for k in rules(on=ctx.today).dossier_kinds
    ]


def _offer_sets(ctx: StepContext, typed: str, found: list[ProductSet]) -> Invalid:
    if not found:
        return Invalid(
            N_("No product set matches “{typed}”. Tap a group, or type another word."),
            {"typed": typed},
        )
    return suggest(
        ctx,
        [
            Choice(f"s{s.number}", _set_label(s, ctx.user.locale), False)
            for s in found[:MAX_SUGGESTED_SETS]
        ],
    )


def _choose_set(ctx: StepContext, pset: ProductSet) -> str:
    """Answers the group question and, in advance, the product-set question."""
    ctx.data["prefill"] = {"product_set": str(pset.number)}
    return pset.group


def _announce(ctx: StepContext, pset: ProductSet) -> None:
    """Notes that a typed name picked ``pset``: it is said once the answer is kept."""
    ctx.data["announce"] = pset.number


async def announce_chosen(ctx: StepContext, _value: Any) -> str:
    """Says which set a typed name picked, so that a wrong guess is seen and undone; nothing
    when the set was tapped, or when the pick did not stand (refused by a check)."""
    number = ctx.data.pop("announce", None)
    if number is None or ctx.data["values"].get("product_set") != str(number):
        return ""
    return ctx._("Product set chosen: {set}. If that is wrong, tap ⬅️ Back.").format(
        set=_set_label(rules(on=ctx.today).product_set(int(number)), ctx.user.locale)
    )


async def parse_group(ctx: StepContext, typed: str) -> str:
    """A typed name picks the product set directly when it names exactly one."""
    found = rules(on=ctx.today).find_product_sets(typed)
    if len(found) != 1:
        raise _offer_sets(ctx, typed, found)
    _announce(ctx, found[0])
    return _choose_set(ctx, found[0])


def _tapped(value: str, group: str | None = None) -> ProductSet:
    """The product set a suggestion button ("s9") names; a forged value is refused."""
    number = parse_id(value[1:])
    found = [s for s in rules().product_sets if s.number == number and group in (None, s.group)]
    if not found:
        raise Invalid(N_("Please tap one of the buttons below."))
    return found[0]


async def tapped_set(ctx: StepContext, value: str) -> str:
    """A suggested product set ("s9") tapped at the group question."""
    return _choose_set(ctx, _tapped(value))


async def parse_set(ctx: StepContext, typed: str) -> str:
    found = rules(on=ctx.today).find_product_sets(typed, str(ctx.data["values"].get("group")))
    if len(found) != 1:
        raise _offer_sets(ctx, typed, found)
    _announce(ctx, found[0])
    return str(found[0].number)


async def tapped_in_group(ctx: StepContext, value: str) -> str:
    """A suggested product set ("s9") tapped at the product-set question."""
    return str(_tapped(value, str(ctx.data["values"].get("group"))).number)


async def check_may_file(ctx: StepContext, value: Any) -> None:
    """Art. 2.3: some organisation types may register only some sets (an unknown old type
    may register any)."""
    producer = await producer_of_user(ctx.session, ctx.user.id)
    kind = org_type(ctx, producer.org_type) if producer else None
    if kind and not rules(on=ctx.today).may_file(kind.code, int(value)):
        raise Invalid(
            N_(
                "Product set {number} is not open to your organisation. {rule} "
                "Please choose another product set."
            ),
            {"number": value, "rule": sets_allowed(ctx, kind)},
        )


def _text(
    maximum: int, too_short: str, minimum: int = 2, counts: Callable[[str], bool] = str.isalpha
) -> Any:
    """A parser of free text; ``too_short`` (a msgid) says what this field wants."""

    async def parse(_ctx: StepContext, typed: str) -> str:
        return clean_text(
            typed, too_short=too_short, minimum=minimum, maximum=maximum, counts=counts
        )

    return parse


async def parse_certificate(_ctx: StepContext, typed: str) -> str:
    value = " ".join(typed.split())
    if not 3 <= len(value) <= 60 or not any(ch.isdigit() for ch in value):
        raise Invalid(
            N_("Please type the certificate's number as printed on it, e.g. 125/QĐ-UBND.")
        )
    return value


async def parse_issued(ctx: StepContext, typed: str) -> str:
    """The certificate's issue date (not in the future); a re-rating hears its window."""
    issued = parse_past_date(typed, ctx.today)
    if ctx.data["values"].get("dossier_kind") == RERATING:
        ctx.say(window_text(ctx, rerating_window(rules(on=ctx.today), issued, ctx.today)))
    return issued.isoformat()


async def show_date(ctx: StepContext, value: Any) -> str:
    return ctx.t.date(date.fromisoformat(str(value)))


async def show_set(ctx: StepContext, value: Any) -> str:
    return _set_label(rules(on=ctx.today).product_set(int(value)), ctx.user.locale)


def _needs_certificate(values: dict[str, Any]) -> bool:
    kind = values.get("dossier_kind")
    return bool(kind) and rules().dossier_kind(str(kind)).needs_certificate


FIELDS: tuple[Field, ...] = (
    Field(
        "group",
        N_("Product group"),
        N_(
            "Which group does the product belong to? "
            "Tap one, or type what it is (e.g. “nước mắm”)."
        ),
        choices=group_choices,
        free_text=True,
        parse=parse_group,
        tapped=tapped_set,
        columns=1,
        resets=("product_set",),
        remark=announce_chosen,
    ),
    Field(
        "product_set",
        N_("Product set"),
        N_("Which product set? Tap one, or type part of its name."),
        choices=set_choices,
        free_text=True,
        parse=parse_set,
        tapped=tapped_in_group,
        check=check_may_file,
        columns=1,
        show=show_set,
        remark=announce_chosen,
    ),
    Field(
        "name",
        N_("Product name"),
        N_("What is the product called (its trade name)?"),
        parse=_text(300, N_("That is too short; please type the full name.")),
        hint=N_("For example: Nước mắm cá cơm Cửa Lò 40 độ đạm"),
    ),
    Field(
        "description",
        N_("Description"),
        N_("Describe the product in a sentence or two: what it is, what makes it special."),
        parse=_text(
            1000,
            N_(
                "Please say a little more (at least {minimum} letters): what the product is "
                "and what makes it special."
            ),
            minimum=10,
        ),
    ),
    Field(
        "packaging",
        N_("Packaging"),
        N_("How is it packed? (e.g. “glass bottle 500 ml, box of 6”)"),
        parse=_text(300, N_("Please say how it is packed, e.g. “glass bottle 500 ml, box of 6”.")),
    ),
    Field(
        "yearly_output",
        N_("Yearly output"),
        N_("How much do you produce in a year? (e.g. “20,000 bottles” or “15 tonnes”)"),
        parse=_text(
            200,
            N_(
                "Please type how much you produce in a year as a number, with its unit if "
                "you like, e.g. “20,000 bottles”, “15 tonnes” or “15000”."
            ),
            minimum=1,
            counts=str.isdigit,
        ),
    ),
    Field(
        "raw_material_area",
        N_("Raw-material area"),
        N_("Where do the raw materials come from, and how large is the area? You may skip this."),
        parse=_text(
            200,
            N_(
                "Please say where the raw materials come from, e.g. “our own tea garden, "
                "5 ha, in Tân Cương”. Tap Skip if you would rather not say."
            ),
        ),
        optional=True,
    ),
    Field(
        "dossier_kind",
        N_("Dossier kind"),
        N_("Is this the product's first evaluation, an upgrade, or a re-rating?"),
        choices=kind_choices,
        columns=1,
        resets=("certificate", "certificate_issued"),
    ),
    Field(
        "certificate",
        N_("Certificate"),
        N_("Which OCOP certificate does it concern? Type its number."),
        parse=parse_certificate,
        when=_needs_certificate,
    ),
    Field(
        "certificate_issued",
        N_("Certificate issued on"),
        N_("On what date was the certificate issued? Type it as on the paper, e.g. 15/3/2024."),
        parse=parse_issued,
        show=show_date,
        when=_needs_certificate,
    ),
)


class ProductFormFlow(FormFlow):
    """Registers a new product and opens its checklist."""

    name = "product_new"
    title = N_("New product")
    fields = FIELDS

    async def start(self, ctx: StepContext) -> None:
        if await producer_or_redirect(ctx) is not None:
            await super().start(ctx)

    async def complete(self, ctx: StepContext, values: dict[str, Any]) -> None:
        """Creates the product with a draft dossier under the current rules."""
        producer = await producer_of_user(ctx.session, ctx.user.id)
        assert producer is not None
        rule_set = rules(on=ctx.today)
        certified = _needs_certificate(values)
        product, _dossier = await create_product(
            ctx.session,
            producer_id=producer.id,
            user_id=ctx.user.id,
            values={
                "product_set": int(values["product_set"]),
                "name": values["name"],
                "description": values["description"],
                "packaging": values["packaging"],
                "yearly_output": values["yearly_output"],
                "raw_material_area": values.get("raw_material_area") or "",
            },
            dossier_kind=values["dossier_kind"],
            certificate_ref=values.get("certificate") if certified else None,
            certificate_issued=(
                date.fromisoformat(values["certificate_issued"]) if certified else None
            ),
            rules_version=rule_set.version,
        )
        if certified and values.get("certificate"):
            await schedule_rerating_reminders(
                ctx.session,
                producer_id=producer.id,
                product_id=product.id,
                certificate_number=values["certificate"],
                issued=date.fromisoformat(values["certificate_issued"]),
                rule_set=rule_set,
                today=ctx.today,
            )
        ctx.say(ctx._("📦 {name} is registered. Now its dossier:").format(name=product.name))
        await ctx.goto("documents", product_id=product.id)

    async def cancelled(self, ctx: StepContext) -> None:
        await ctx.goto("products")


async def product_summary(ctx: StepContext, product: Product) -> str:
    """One line: "Name — 3/4 documents, 1 sent back · submitted" (those needed to file and for
    3★; it must fit a button)."""
    dossier = await current_dossier(ctx.session, product.id)
    if dossier is None:
        return product.name
    state = progress(dossier, product.product_set, await documents_of(ctx.session, dossier.id))
    line = ctx._("{done}/{total} documents").format(
        done=sum(line.done for line in state.needed), total=len(state.needed)
    )
    if state.sent_back:
        line += ", " + ctx.t.ngettext("{n} sent back", "{n} sent back", state.sent_back).format(
            n=state.sent_back
        )
    if dossier.status != DossierStatus.DRAFT:
        line += f" · {ctx._(DOSSIER_STATUS[dossier.status])}"
    return f"{product.name} — {line}"


DOSSIER_STATUS: dict[str, str] = {
    DossierStatus.DRAFT: N_("draft"),
    DossierStatus.SUBMITTED: N_("submitted"),
    DossierStatus.HAS_ISSUES: N_("needs corrections"),
    DossierStatus.EDITED: N_("corrected, waiting for review"),
    DossierStatus.APPROVED: N_("approved"),
    DossierStatus.REJECTED: N_("rejected"),
}


class ProductsFlow:
    """Lists the producer's products with their dossier progress."""

    name = "products"

    async def start(self, ctx: StepContext) -> None:
        """Shows one button per product, and New product / Menu."""
        producer = await producer_or_redirect(ctx)
        if producer is None:
            return
        ctx.set_step("list", flow=self.name)
        products = await products_of(ctx.session, producer.id)
        rows = [[Button(await product_summary(ctx, p), f"{OPEN}{p.id}")] for p in products]
        rows.append([Button(ctx._("➕ New product"), NEW), Button(ctx._("🏠 Menu"), MENU)])
        text = (
            ctx._("Tap a product to see its dossier.")
            if products
            else ctx._("You have no products yet. Tap “New product” to register one.")
        )
        ctx.say(text, title=ctx._("My products"), buttons=rows)

    async def reprompt(self, ctx: StepContext) -> None:
        await self.start(ctx)

    def help(self, ctx: StepContext) -> str:
        return ctx._(
            "These are your products. The numbers show how many documents needed to file and "
            "needed for 3★ are in. "
            "Tap a product to upload or re-upload its documents."
        )

    async def handle(self, ctx: StepContext) -> None:
        """Opens a product, starts a new one, or goes back to the menu."""
        choice = ctx.event.payload if ctx.event.kind == EventKind.BUTTON else ""
        if choice.startswith(OPEN):  # an id that is not one is a product nobody has
            await ctx.goto("documents", product_id=parse_id(choice[len(OPEN) :]) or 0)
        elif choice == NEW:
            await ctx.goto("product_new")
        elif choice == MENU:
            await ctx.goto("menu")
        else:
            ctx.say(ctx._("Please tap one of the buttons below."))
            await self.start(ctx)
