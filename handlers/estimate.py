"""A producer's own estimate of the stars a product could reach, before filing (see estimate.mmd).

The producer answers the star-minimum questions of the product's set under the rules in force
(lowest star first: "does the product have a registered trademark?", "a product story?", …) with
Yes / No / Not sure; a question whose document is already in the product's current dossier (and
not sent back) is not asked. The estimate is the highest star level whose minimums are all met
("up to N★"): a minimum answered No or Not sure caps it below the level it gates. It never
promises more: the stars themselves come from the council's score, whose bands (from the rules)
are stated with the points the estimate's level needs. What would raise it follows: for each
unmet minimum gating the next level, its advice and the document that shows it, with a button
opening that document's upload in the dossier.

Entry: "⭐ Estimate my stars" at a product's dossier or in the main menu (the product is chosen
first when there are several), ``/estimate``, or a short typed phrase ("ước tính sao", "bao
nhieu sao": :func:`asks_for_an_estimate`) at a step that does not take free text.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.flow import StepContext
from bot.rules import RuleSet, StarMinimum, rules
from bot.validators import parse_id
from bot.vocabulary import Button, EventKind
from handlers.forms import BACK, CANCEL, TYPED_COMMANDS, nav_row
from storage.dossiers import current_dossier, documents_of, products_of
from storage.models import Product
from storage.producers import producer_of_user
from storage.states import EDITABLE_DOSSIER, SENT_BACK
from storage.text import fold

__all__ = ["Estimate", "EstimateFlow", "asks_for_an_estimate", "estimate"]

CHOOSE, ASK, RESULT = "choose", "ask", "result"
YES, NO, UNSURE = "yes", "no", "unsure"
PRODUCT, UPLOAD, AGAIN, DOSSIER = "p:", "u:", "again", "dossier"
DOCUMENTS = "documents"  # the flow the estimate opens documents in, and may come back to

# What a producer types for each answer (folded: no diacritics, lower case).
TYPED_ANSWERS = {
    **dict.fromkeys(("1", "yes", "y", "co", "co roi", "da co", "roi"), YES),
    **dict.fromkeys(("2", "no", "n", "khong", "chua", "chua co", "khong co"), NO),
    **dict.fromkeys(("3", "not sure", "unsure", "khong chac", "khong biet", "chua biet"), UNSURE),
}
# Whole messages (folded) that ask for an estimate wherever free text is not expected.
ESTIMATE_PHRASES = frozenset(
    {
        "sao",
        "uoc tinh sao",
        "uoc luong sao",
        "bao nhieu sao",
        "may sao",
        "duoc may sao",
        "estimate",
        "estimate stars",
        "estimate my stars",
        "how many stars",
    }
)


def asks_for_an_estimate(text: str) -> bool:
    """Whether a whole typed message asks for a star estimate (with or without diacritics)."""
    return fold(text) in ESTIMATE_PHRASES


@dataclass(frozen=True)
class Estimate:
    """What the answers add up to: the highest star level whose minimums are all met."""

    stars: int
    unmet: tuple[StarMinimum, ...]  # lowest star first

    @property
    def next_level(self) -> tuple[StarMinimum, ...]:
        """The unmet minimums that keep the product from one star more."""
        return tuple(m for m in self.unmet if m.stars == self.stars + 1)


def estimate(rule_set: RuleSet, set_number: int, met: set[str]) -> Estimate:
    """The estimate for a product of ``set_number`` whose minimums ``met`` (codes) are met."""
    unmet = tuple(m for m in rule_set.minimums_for(set_number) if m.code not in met)
    top = max(band.stars for band in rule_set.star_bands)
    return Estimate(min((m.stars - 1 for m in unmet), default=top), unmet)


def _band_floor(rule_set: RuleSet, stars: int) -> float | None:
    """The least score that earns ``stars`` (None when no band gives exactly that)."""
    return next((b.min_score for b in rule_set.star_bands if b.stars == stars), None)


class EstimateFlow:
    """Asks the star-minimum questions of one product and says what they add up to."""

    name = "estimate"

    def wants_an_estimate(self, text: str) -> bool:
        """Whether a message typed at another step asks for an estimate (dispatch asks)."""
        return asks_for_an_estimate(text)

    # -- choosing the product -----------------------------------------------------------------
    async def start(self, ctx: StepContext) -> None:
        """The product given (``data["product_id"]``), the only one, or a choice."""
        producer = await producer_of_user(ctx.session, ctx.user.id)
        if producer is None:
            ctx.say(
                ctx._(
                    "First register your organisation and a product; then I can estimate the "
                    "stars it could reach."
                )
            )
            await ctx.goto("menu")
            return
        products = await products_of(ctx.session, producer.id)
        if not products:
            ctx.say(
                ctx._("Register a product first; then I can estimate the stars it could reach.")
            )
            await ctx.goto("products")
            return
        wanted = ctx.data.pop("product_id", None)
        product = next((p for p in products if p.id == wanted), None)
        if wanted is not None and product is None:
            ctx.say(ctx._("I cannot find that product among yours."))
        if product is None and len(products) == 1:
            product = products[0]
        if product is None:
            self._choose(ctx, products)
        else:
            await self._begin(ctx, product, chosen=False)

    def _choose(self, ctx: StepContext, products: list[Product]) -> None:
        ctx.set_step(CHOOSE, flow=self.name)
        rows = [[Button(p.name, f"{PRODUCT}{p.id}")] for p in products]
        rows.append([Button(ctx._("✖️ Cancel"), CANCEL)])
        ctx.say(
            ctx._("Which product shall I estimate?"),
            title=ctx._("⭐ Star estimate"),
            buttons=rows,
        )

    async def _products(self, ctx: StepContext) -> list[Product]:
        producer = await producer_of_user(ctx.session, ctx.user.id)
        return await products_of(ctx.session, producer.id) if producer else []

    async def _product(self, ctx: StepContext) -> Product | None:
        """The product being estimated, when it is still the producer's."""
        wanted = ctx.data.get("product")
        return next((p for p in await self._products(ctx) if p.id == wanted), None)

    async def _on_choice(self, ctx: StepContext, answer: str) -> None:
        products = await self._products(ctx)
        if answer.startswith(PRODUCT):
            wanted = parse_id(answer[len(PRODUCT) :])
            found = [p for p in products if p.id == wanted]
        else:  # a typed name: the one product it names
            typed = fold(answer)
            found = [p for p in products if typed and fold(p.name) == typed]
            found = found or [p for p in products if typed and typed in fold(p.name)]
        if len(found) == 1:
            await self._begin(ctx, found[0], chosen=True)
            return
        ctx.say(ctx._("Please tap one of the buttons below."))
        self._choose(ctx, products)

    # -- the questions --------------------------------------------------------------------------
    async def _begin(self, ctx: StepContext, product: Product, *, chosen: bool) -> None:
        """Asks the minimums of the product's set, less those its dossier already shows."""
        minimums = rules(on=ctx.today).minimums_for(product.product_set)
        dossier = await current_dossier(ctx.session, product.id)
        documents = await documents_of(ctx.session, dossier.id) if dossier else {}
        held = [
            m.code
            for m in minimums
            if m.document in documents and documents[m.document].status not in SENT_BACK
        ]
        ctx.data.update(
            product=product.id,
            chosen=chosen,
            held=held,
            asked=[m.code for m in minimums if m.code not in held],
            answers={},
            at=0,
        )
        await self._ask_or_finish(ctx)

    async def _ask_or_finish(self, ctx: StepContext) -> None:
        asked: list[str] = ctx.data["asked"]
        if ctx.data["at"] >= len(asked):
            await self._result(ctx)
            return
        product = await self._product(ctx)
        if product is None:
            await self._lost(ctx)
            return
        minimums = await self._minimums(ctx, product)
        if minimums is None:
            return
        ctx.set_step(ASK, flow=self.name)
        at = ctx.data["at"]
        minimum = minimums[asked[at]]
        text = "\n".join(
            [
                ctx._("Question {n} of {total} · needed for {stars}★").format(
                    n=at + 1, total=len(asked), stars=minimum.stars
                ),
                minimum.question.get(ctx.user.locale),
            ]
        )
        if at == 0 and ctx.data["held"]:
            names = "; ".join(minimums[code].name(ctx.user.locale) for code in ctx.data["held"])
            text = ctx._("Already in your dossier: {names}.").format(names=names) + "\n\n" + text
        ctx.say(
            text,
            title=ctx._("⭐ Star estimate · {product}").format(product=product.name),
            buttons=[
                [
                    Button(ctx._("Yes"), YES),
                    Button(ctx._("No"), NO),
                    Button(ctx._("Not sure"), UNSURE),
                ],
                nav_row(ctx),
            ],
        )

    async def _minimums(self, ctx: StepContext, product: Product) -> dict[str, StarMinimum] | None:
        """The set's minimums by code under the rules in force; when those changed since the
        questions were chosen (new rules took effect), the estimate starts again (None)."""
        minimums = {m.code: m for m in rules(on=ctx.today).minimums_for(product.product_set)}
        if set(minimums) != {*ctx.data["asked"], *ctx.data["held"]}:
            await self._begin(ctx, product, chosen=bool(ctx.data.get("chosen")))
            return None
        return minimums

    async def _on_answer(self, ctx: StepContext, answer: str) -> None:
        if answer in (YES, NO, UNSURE):
            asked: list[str] = ctx.data["asked"]
            ctx.data["answers"] = {**ctx.data["answers"], asked[ctx.data["at"]]: answer}
            ctx.data["at"] += 1
            await self._ask_or_finish(ctx)
        elif answer == BACK:
            await self._back(ctx)
        else:
            ctx.say(ctx._("Please tap a button, or reply 1 for Yes, 2 for No, 3 for Not sure."))
            await self._ask_or_finish(ctx)

    async def _back(self, ctx: StepContext) -> None:
        """One question back; before the first, the product choice or where the producer was."""
        if ctx.data.get("at", 0) > 0:
            ctx.data["at"] = min(ctx.data["at"], len(ctx.data["asked"])) - 1
            await self._ask_or_finish(ctx)
        elif ctx.data.get("chosen"):
            self._choose(ctx, await self._products(ctx))
        else:
            await self._leave(ctx)

    # -- the result -----------------------------------------------------------------------------
    async def _result(self, ctx: StepContext) -> None:
        product = await self._product(ctx)
        if product is None:
            await self._lost(ctx)
            return
        if await self._minimums(ctx, product) is None:
            return
        ctx.set_step(RESULT, flow=self.name)
        rule_set = rules(on=ctx.today)
        answers: dict[str, str] = ctx.data["answers"]
        held: list[str] = ctx.data["held"]
        met = set(held) | {code for code, answer in answers.items() if answer == YES}
        found = estimate(rule_set, product.product_set, met)
        locale = ctx.user.locale
        lines = [
            ctx._("⭐ {product}: up to {stars}★").format(product=product.name, stars=found.stars)
        ]
        for minimum in rule_set.minimums_for(product.product_set):
            lines.append(self._minimum_line(ctx, minimum, held, answers.get(minimum.code)))
        lines += ["", *self._score_lines(ctx, rule_set, found.stars)]
        if found.next_level:
            lines += ["", ctx._("To reach {stars}★:").format(stars=found.stars + 1)]
            for minimum in found.next_level:
                lines.append(f"• {minimum.name(locale)}: {minimum.advice.get(locale)}")
                if minimum.document:
                    lines.append(
                        "  "
                        + ctx._("Document for the dossier: {doc}").format(
                            doc=rule_set.document_type(minimum.document).name(locale)
                        )
                    )
        later = [m for m in found.unmet if m.stars > found.stars + 1]
        for stars in sorted({m.stars for m in later}):
            names = "; ".join(m.name(locale) for m in later if m.stars == stars)
            lines.append(ctx._("Then, for {stars}★: {names}.").format(stars=stars, names=names))
        ctx.say(
            "\n".join(lines),
            title=ctx._("⭐ Star estimate"),
            buttons=await self._result_buttons(ctx, product, found),
        )

    def _minimum_line(
        self, ctx: StepContext, minimum: StarMinimum, held: list[str], answer: str | None
    ) -> str:
        name = f"{minimum.name(ctx.user.locale)} ({minimum.stars}★)"
        if minimum.code in held:
            return "✅ " + ctx._("{name}: already in your dossier").format(name=name)
        if answer == YES:
            return f"✅ {name}"
        if answer == UNSURE:
            return "❓ " + ctx._("{name}: not sure, counted as not met").format(name=name)
        return f"❌ {name}"

    def _score_lines(self, ctx: StepContext, rule_set: RuleSet, stars: int) -> list[str]:
        """How the council's score turns into stars, and what the estimate's level needs."""
        bands = ", ".join(
            ctx._("{points}+ → {stars}★").format(
                points=ctx.t.number(band.min_score), stars=band.stars
            )
            for band in rule_set.star_bands
            if band.min_score > 0
        )
        lines = [
            ctx._(
                "This is the most the minimum criteria allow. The stars come from the "
                "council's score out of {max}: {bands}."
            ).format(max=rule_set.max_score, bands=bands)
        ]
        floor = _band_floor(rule_set, stars)
        if floor:
            lines.append(
                ctx._("For {stars}★ the council's score must be {points} or more.").format(
                    stars=stars, points=ctx.t.number(floor)
                )
            )
        if not rule_set.is_certified(stars):
            lines.append(
                ctx._("An OCOP certificate needs at least {stars}★.").format(
                    stars=rule_set.certified_min_stars
                )
            )
        return lines

    async def _result_buttons(
        self, ctx: StepContext, product: Product, found: Estimate
    ) -> list[list[Button]]:
        """An upload button for each document the next level needs (when the dossier can still
        change), then Back / Start again, the dossier and the menu."""
        dossier = await current_dossier(ctx.session, product.id)
        rows: list[list[Button]] = []
        if dossier is not None and dossier.status in EDITABLE_DOSSIER:
            rule_set = rules(dossier.rules_version)
            listed = {r.document.code for r in rule_set.checklist(product.product_set)}
            for minimum in found.next_level:
                if minimum.document in listed:
                    doc = rule_set.document_type(minimum.document).name(ctx.user.locale)
                    rows.append(
                        [
                            Button(
                                ctx._("📎 Upload: {doc}").format(doc=doc),
                                f"{UPLOAD}{minimum.document}",
                            )
                        ]
                    )
        rows.append([Button(ctx._("⬅️ Back"), BACK), Button(ctx._("🔁 Start again"), AGAIN)])
        rows.append([Button(ctx._("📦 The dossier"), DOSSIER), Button(ctx._("🏠 Menu"), "/menu")])
        return rows

    async def _on_result(self, ctx: StepContext, answer: str) -> None:
        product = await self._product(ctx)
        if product is None:
            await self._lost(ctx)
        elif answer.startswith(UPLOAD):
            await ctx.goto(DOCUMENTS, product_id=product.id, document=answer[len(UPLOAD) :])
        elif answer == DOSSIER:
            await ctx.goto(DOCUMENTS, product_id=product.id)
        elif answer == AGAIN:
            await self._begin(ctx, product, chosen=bool(ctx.data.get("chosen")))
        elif answer == BACK:
            await self._back(ctx)
        else:
            ctx.say(ctx._("Please tap one of the buttons below."))
            await self._result(ctx)

    # -- leaving --------------------------------------------------------------------------------
    async def _leave(self, ctx: StepContext) -> None:
        """Back where the producer came from: the product's dossier, or the menu."""
        if ctx.data.get("origin") == DOCUMENTS and isinstance(ctx.data.get("product"), int):
            await ctx.goto(DOCUMENTS, product_id=ctx.data["product"])
        else:
            await ctx.goto("menu")

    async def _lost(self, ctx: StepContext) -> None:
        ctx.say(ctx._("I cannot find that product among yours."))
        await ctx.goto("menu")

    async def cancel(self, ctx: StepContext) -> None:
        """/cancel or ✖️ Cancel: the estimate stops; nothing was saved."""
        ctx.say(ctx._("All right, no estimate this time."))
        await self._leave(ctx)

    # -- Flow protocol --------------------------------------------------------------------------
    def _answer(self, ctx: StepContext) -> str:
        event = ctx.event
        if event.kind == EventKind.BUTTON:
            return event.payload
        if event.kind != EventKind.TEXT:
            return ""
        typed = fold(event.text)
        if ctx.step == ASK and typed in TYPED_ANSWERS:
            return TYPED_ANSWERS[typed]
        return TYPED_COMMANDS.get(typed, event.text.strip())

    async def handle(self, ctx: StepContext) -> None:
        answer = self._answer(ctx)
        if answer == CANCEL:
            await self.cancel(ctx)
        elif ctx.step == CHOOSE:
            await self._on_choice(ctx, answer)
        elif ctx.step == ASK:
            await self._on_answer(ctx, answer)
        elif ctx.step == RESULT:
            await self._on_result(ctx, answer)
        else:
            await self.start(ctx)

    async def reprompt(self, ctx: StepContext) -> None:
        if ctx.step == CHOOSE:
            self._choose(ctx, await self._products(ctx))
        elif ctx.step == ASK:
            await self._ask_or_finish(ctx)
        elif ctx.step == RESULT:
            await self._result(ctx)
        else:
            await self.start(ctx)

    def help(self, ctx: StepContext) -> str:
        if ctx.step == ASK:
            return ctx._(
                "Answer each question about the product: Yes, No or Not sure (or reply 1, 2 "
                "or 3). ⬅️ Back goes to the previous question; /cancel stops the estimate."
            )
        return ctx._(
            "The estimate says the most stars the product could reach by the minimum "
            "criteria of its product set; the council's score decides the stars."
        )
