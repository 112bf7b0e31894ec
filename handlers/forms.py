"""Declarative forms: a flow made of fields, each with a prompt, a parser and maybe choices.

A form asks its fields in order, then shows a summary where any field can be changed before the
producer confirms. Every question offers Back and Cancel (and Skip when the field is optional);
answers are saved after every step, so a producer who leaves comes back to the same question.
Adding a field to a form is one :class:`Field` in its list.

State kept in the conversation data: ``values`` (answers so far), ``editing`` (True once the
summary was reached: a changed answer returns to the summary), ``suggest`` (choices offered
after a near miss, e.g. communes close to what was typed) and ``verified`` (per contact field,
the one value the platform vouched for: a contact the user shared for their own account).

A typed answer names a button when it equals its label (folded: no diacritics, any case;
abbreviations such as HTX spelt out) or has only words of that one label ("chu tich htx" names
"Chủ tịch HĐQT HTX"); what only resembles a label is offered as a choice, never taken.

Typed navigation words ("quay lai", "huy", "xac nhan"…) are taken as navigation only where the
question is a choice (the summary, the change menu, "stop now?", and fields answered by
choosing); a free-text answer always reaches its field, so a representative named "Huy" is
not asked whether to stop. /cancel and the buttons work at every question.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.flow import StepContext
from bot.i18n import N_
from bot.validators import Invalid
from bot.vocabulary import Button, EventKind
from storage.text import best_matches, fold

__all__ = [
    "BACK",
    "CANCEL",
    "CONFIRM",
    "SKIP",
    "Choice",
    "Field",
    "FormFlow",
    "grid",
    "named",
    "nav_row",
    "pick",
    "suggest",
    "verified",
]

BACK, CANCEL, SKIP, CONFIRM, CHANGE = "back", "cancel", "skip", "confirm", "change"
KEEP, STOP = "keep", "stop"
SUMMARY, CHANGE_MENU, CANCEL_ASK = "_summary", "_change", "_cancel"

# Words a producer may type instead of tapping a button (folded: no diacritics, lower case),
# at choice questions only (see the module docstring).
TYPED_COMMANDS = {
    "back": BACK,
    "quay lai": BACK,
    "tro lai": BACK,
    "cancel": CANCEL,
    "huy": CANCEL,
    "huy bo": CANCEL,
    "skip": SKIP,
    "bo qua": SKIP,
    "confirm": CONFIRM,
    "xac nhan": CONFIRM,
    "dong y": CONFIRM,
    "change": CHANGE,
    "sua": CHANGE,
}

# Abbreviations producers type for words on the buttons (folded), spelt out before matching.
ABBREVIATIONS = {
    "htx": "hop tac xa",
    "tht": "to hop tac",
    "dn": "doanh nghiep",
    "hkd": "ho kinh doanh",
    "hdqt": "hoi dong quan tri",
}


@dataclass(frozen=True)
class Choice:
    """One answer offered as a button; ``label`` is a msgid unless ``translate`` is False."""

    value: str
    label: str
    translate: bool = True

    def text(self, ctx: StepContext) -> str:
        return ctx._(self.label) if self.translate else self.label


Parser = Callable[[StepContext, str], Awaitable[Any]]
ChoiceSource = Callable[[StepContext], Awaitable[Sequence[Choice]]]
Shower = Callable[[StepContext, Any], Awaitable[str]]
Checker = Callable[[StepContext, Any], Awaitable[None]]


@dataclass(frozen=True)
class Field:
    """One question of a form.

    ``parse`` turns typed text into the stored value or raises :class:`Invalid`; without it the
    typed text must match one of ``choices``. ``free_text`` lets a field with choices (offered
    as shortcuts) also take any typed answer through ``parse``.
    """

    name: str
    label: str
    prompt: str
    parse: Parser | None = None
    choices: ChoiceSource | None = None
    free_text: bool = False
    optional: bool = False
    contact: bool = False
    columns: int = 2
    show: Shower | None = None
    hint: str = ""
    # A contact field's prompt where the channel cannot share a contact (the number is typed).
    typed_prompt: str = ""
    resets: tuple[str, ...] = ()  # answers that no longer hold when this one changes
    when: Callable[[dict[str, Any]], bool] | None = None  # asked only when this holds
    tapped: Parser | None = None  # what a tapped suggestion means (default: its value)
    # Whether an answer holds given the other answers, however it was given (typed, tapped, or
    # answered in advance by an earlier question); raises Invalid when it does not.
    check: Checker | None = None
    rechecks: tuple[str, ...] = ()  # answers checked again when this one changes
    remark: Shower | None = None  # what to tell the producer once this answer is stored

    def applies(self, values: dict[str, Any]) -> bool:
        """Whether this question is asked, given the answers so far."""
        return self.when is None or self.when(values)


def verified(ctx: StepContext, name: str, value: Any) -> bool:
    """Whether ``value`` of contact field ``name`` is the one the platform vouched for (the
    user shared it as their own contact); a typed value never is."""
    return value is not None and ctx.data.get("verified", {}).get(name) == value


def suggest(ctx: StepContext, choices: Sequence[Choice]) -> Invalid:
    """Offers ``choices`` as buttons with the question asked again; raise what it returns."""
    ctx.data["suggest"] = [[c.value, c.label, c.translate] for c in choices]
    return Invalid(N_("Which one do you mean? Tap it below."))


def _words(text: str) -> list[str]:
    return " ".join(ABBREVIATIONS.get(word, word) for word in fold(text).split()).split()


def named(
    ctx: StepContext, typed: str, choices: Sequence[Choice], *, exactly: bool = False
) -> list[Choice]:
    """The choices ``typed`` names: those whose label it equals (folded, abbreviations spelt
    out, spaces ignored), or else (unless ``exactly``) those having every typed word."""
    wanted = _words(typed)
    if not wanted:
        return []
    labels = [(choice, _words(choice.text(ctx))) for choice in choices]
    equal = [c for c, words in labels if "".join(words) == "".join(wanted)]
    if equal or exactly:
        return equal
    return [c for c, words in labels if set(wanted) <= set(words)]


def pick(ctx: StepContext, typed: str, choices: Sequence[Choice], not_found: Invalid) -> str:
    """The value of the choice ``typed`` names (without diacritics is fine, see :func:`named`).

    Only a choice it names alone is taken; several it names, or those it only resembles, are
    offered back as suggestions; none raises ``not_found``.
    """
    found = named(ctx, typed, choices)
    if len(found) == 1:
        return found[0].value
    if not found:
        by_value = {c.value: c for c in choices}
        ranked = best_matches(typed, [(c.value, c.text(ctx)) for c in choices], limit=6)
        found = [by_value[str(key)] for key, _score in ranked]
    if not found:
        raise not_found
    raise suggest(ctx, found[:6])


def grid(buttons: Sequence[Button], columns: int) -> list[list[Button]]:
    """Rows of at most ``columns`` buttons."""
    return [list(buttons[i : i + columns]) for i in range(0, len(buttons), columns)]


def nav_row(ctx: StepContext, *, back: bool = True, skip: bool = False) -> list[Button]:
    """The Back / Skip / Cancel row under a question."""
    row = []
    if back:
        row.append(Button(ctx._("⬅️ Back"), BACK))
    if skip:
        row.append(Button(ctx._("Skip ⏭"), SKIP))
    row.append(Button(ctx._("✖️ Cancel"), CANCEL))
    return row


class FormFlow:
    """A flow that fills ``fields`` and hands the answers to :meth:`complete`."""

    name = "form"
    title = N_("Form")
    fields: Sequence[Field] = ()

    # -- hooks for subclasses ---------------------------------------------------------------
    async def initial_values(self, ctx: StepContext) -> dict[str, Any]:
        """Answers to start from (e.g. a profile being edited); empty for a new form."""
        return {}

    async def complete(self, ctx: StepContext, values: dict[str, Any]) -> None:
        """Store the confirmed answers and move on."""
        raise NotImplementedError

    async def cancelled(self, ctx: StepContext) -> None:
        """Where to go after Cancel (the main menu)."""
        await ctx.goto("menu")

    # -- Flow protocol ----------------------------------------------------------------------
    async def start(self, ctx: StepContext) -> None:
        values = await self.initial_values(ctx)
        ctx.data.update(values=values, editing=bool(values))
        if values:
            await self._show_summary(ctx)
        else:
            await self._ask(ctx, self.fields[0])

    async def reprompt(self, ctx: StepContext) -> None:
        step = ctx.step
        if step == SUMMARY:
            await self._show_summary(ctx)
        elif step == CHANGE_MENU:
            await self._show_change_menu(ctx)
        elif step == CANCEL_ASK:
            await self._ask_cancel(ctx)
        else:
            await self._ask(ctx, self._field(step), suggest=False)

    def help(self, ctx: StepContext) -> str:
        if ctx.step in (SUMMARY, CHANGE_MENU, CANCEL_ASK):
            return ctx._("Check your answers. Tap Confirm to save them, or Change to correct one.")
        index = self._index(ctx.step)
        fld = self.fields[index]
        lines = [
            ctx._("{form}: question {n} of {total}.").format(
                form=ctx._(self.title), n=index + 1, total=len(self.fields)
            ),
            ctx._(fld.prompt),
        ]
        if fld.hint:
            lines.append(ctx._(fld.hint))
        lines.append(
            ctx._(
                "Tap ⬅️ Back to go to the previous question or ✖️ Cancel to stop. Your answers "
                "are saved as you go: you can leave and come back later."
            )
        )
        return "\n".join(lines)

    async def handle(self, ctx: StepContext) -> None:
        step = ctx.step
        answer = self._answer(ctx)
        if step == CANCEL_ASK:
            await self._on_cancel_answer(ctx, answer)
        elif answer == CANCEL:
            ctx.data["cancel_from"] = step
            await self._ask_cancel(ctx)
        elif step == SUMMARY:
            await self._on_summary(ctx, answer)
        elif step == CHANGE_MENU:
            await self._on_change_menu(ctx, answer)
        else:
            await self._on_field(ctx, self._field(step), answer)

    async def cancel(self, ctx: StepContext) -> None:
        """/cancel: asks whether to stop, like the Cancel button."""
        if ctx.step != CANCEL_ASK:
            ctx.data["cancel_from"] = ctx.step
        await self._ask_cancel(ctx)

    # -- steps ------------------------------------------------------------------------------
    async def _ask(self, ctx: StepContext, fld: Field, *, suggest: bool = False) -> None:
        """Asks ``fld``: its prompt, its choices (or suggestions), Back/Skip/Cancel."""
        ctx.set_step(fld.name)
        if not suggest:
            ctx.data.pop("suggest", None)
        index = self._index(fld.name)
        typed = fld.contact and fld.typed_prompt and not ctx.can_share_contact
        prompt = fld.typed_prompt if typed else fld.prompt
        lines = [ctx._(prompt)]
        current = ctx.data["values"].get(fld.name)
        if current not in (None, ""):
            lines.append(ctx._("Now: {value}").format(value=await self._show(ctx, fld, current)))
        if fld.hint:
            lines.append(ctx._(fld.hint))
        choices = self._suggested(ctx) if suggest else await self._choices(ctx, fld)
        buttons = grid([Button(c.text(ctx), c.value) for c in choices], fld.columns)
        buttons.append(
            nav_row(ctx, back=index > 0 or bool(ctx.data.get("editing")), skip=fld.optional)
        )
        contact = ctx._("📱 Share my phone number") if fld.contact else ""
        title = ctx._("{form} · {n}/{total}").format(
            form=ctx._(self.title), n=index + 1, total=len(self.fields)
        )
        ctx.say("\n".join(lines), title=title, buttons=buttons, contact_button=contact)

    async def _on_field(self, ctx: StepContext, fld: Field, answer: str | None) -> None:
        if answer == BACK:
            await self._go_back(ctx, fld)
            return
        if answer == SKIP and fld.optional:
            await self._store(ctx, fld, None)
            return
        if answer == SKIP:
            ctx.say(ctx._("This question cannot be skipped; the OCOP officials need the answer."))
            await self._ask(ctx, fld)
            return
        try:
            value = await self._parse(ctx, fld, answer)
            await self._check(ctx, {fld.name: value, **ctx.data.get("prefill", {})})
        except Invalid as problem:
            ctx.data.pop("prefill", None)
            ctx.say(ctx._(problem.message).format(**problem.params))
            await self._ask(ctx, fld, suggest="suggest" in ctx.data)
            return
        await self._store(ctx, fld, value)

    async def _check(self, ctx: StepContext, answers: dict[str, Any]) -> None:
        """Runs the ``check`` of each answered field; raises the first Invalid."""
        by_name = {f.name: f for f in self.fields}
        for name, value in answers.items():
            check = by_name[name].check if name in by_name else None
            if check is not None and value not in (None, ""):
                await check(ctx, value)

    async def _parse(self, ctx: StepContext, fld: Field, answer: str | None) -> Any:
        event = ctx.event
        if event.kind == EventKind.CONTACT and fld.contact and fld.parse:
            value = await fld.parse(ctx, event.phone)
            if event.phone_is_own:
                ctx.data.setdefault("verified", {})[fld.name] = value
            return value
        if event.kind == EventKind.BUTTON:
            if answer in {c.value for c in self._suggested(ctx)}:
                return await fld.tapped(ctx, answer) if fld.tapped else answer
            if answer in {c.value for c in await self._choices(ctx, fld)}:
                return answer
            raise Invalid(N_("That button is not one of the answers to this question."))
        if event.kind not in (EventKind.TEXT,) or not event.text.strip():
            raise Invalid(self._wrong_kind_message(ctx, fld))
        typed = event.text.strip()
        if fld.choices and not fld.free_text:
            return await self._match_choice(ctx, fld, typed)
        if fld.choices and fld.free_text:
            exact = named(ctx, typed, await self._choices(ctx, fld), exactly=True)
            if exact:
                return exact[0].value
        assert fld.parse is not None, f"field {fld.name} has neither choices nor a parser"
        return await fld.parse(ctx, typed)

    @staticmethod
    def _wrong_kind_message(ctx: StepContext, fld: Field) -> str:
        if fld.contact and not ctx.can_share_contact:
            return N_("Please type the number.")
        if fld.contact:
            return N_("Please type the number or tap “Share my phone number”.")
        if fld.choices and not fld.free_text:
            return N_("Please tap one of the buttons or type your answer.")
        return N_("Please answer with text.")

    async def _match_choice(self, ctx: StepContext, fld: Field, typed: str) -> str:
        return pick(
            ctx,
            typed,
            await self._choices(ctx, fld),
            Invalid(
                N_("I could not find “{typed}” among the answers. Please tap one of the buttons."),
                {"typed": typed},
            ),
        )

    async def _store(self, ctx: StepContext, fld: Field, value: Any) -> None:
        """Saves an answer and asks the first unanswered question, or shows the summary.

        A changed answer clears the answers that depend on it (``resets``); a parser may
        answer a later question at the same time by leaving ``prefill`` in the data.
        """
        values = ctx.data["values"]
        changed = values.get(fld.name) != value
        if changed:
            for name in fld.resets:
                values.pop(name, None)
        values[fld.name] = value
        values.update(ctx.data.pop("prefill", {}))
        ctx.data.pop("suggest", None)
        if fld.remark and value is not None and (remark := await fld.remark(ctx, value)):
            ctx.say(remark)
        if changed:
            await self._recheck(ctx, fld.rechecks)
        following = self._first_unanswered(values)
        if following is not None:
            await self._ask(ctx, following)
        else:
            ctx.data["editing"] = True
            await self._show_summary(ctx)

    async def _recheck(self, ctx: StepContext, names: Sequence[str]) -> None:
        """Drops the answers of ``names`` that no longer pass their check, saying why: their
        questions are asked again."""
        values = ctx.data["values"]
        for name in names:
            try:
                await self._check(ctx, {name: values.get(name)})
            except Invalid as problem:
                values.pop(name, None)
                ctx.say(ctx._(problem.message).format(**problem.params))

    async def _go_back(self, ctx: StepContext, fld: Field) -> None:
        values = ctx.data["values"]
        earlier = [f for f in self.fields[: self._index(fld.name)] if f.applies(values)]
        if ctx.data.get("editing"):
            await self._show_summary(ctx)
        else:
            await self._ask(ctx, earlier[-1] if earlier else fld)

    async def _show_summary(self, ctx: StepContext) -> None:
        """Shows every answer and asks to confirm or change one."""
        ctx.set_step(SUMMARY)
        lines = []
        for fld in self._asked(ctx.data["values"]):
            value = ctx.data["values"].get(fld.name)
            shown = await self._show(ctx, fld, value) if value not in (None, "") else "—"
            lines.append(f"{ctx._(fld.label)}: {shown}")
        lines.append("")
        lines.append(ctx._("Is everything right?"))
        ctx.say(
            "\n".join(lines),
            title=ctx._("{form} · check your answers").format(form=ctx._(self.title)),
            buttons=[
                [Button(ctx._("✅ Confirm"), CONFIRM), Button(ctx._("✏️ Change"), CHANGE)],
                [Button(ctx._("✖️ Cancel"), CANCEL)],
            ],
        )

    async def _on_summary(self, ctx: StepContext, answer: str | None) -> None:
        if answer == CONFIRM:
            missing = self._first_unanswered(ctx.data["values"])
            if missing is not None:
                await self._ask(ctx, missing)
                return
            await self.complete(ctx, dict(ctx.data["values"]))
        elif answer == CHANGE:
            await self._show_change_menu(ctx)
        elif answer == BACK:
            await self._show_summary(ctx)
        else:
            ctx.say(ctx._("Please tap ✅ Confirm, ✏️ Change or ✖️ Cancel."))
            await self._show_summary(ctx)

    async def _show_change_menu(self, ctx: StepContext) -> None:
        ctx.set_step(CHANGE_MENU)
        asked = self._asked(ctx.data["values"])
        buttons = grid([Button(ctx._(f.label), f"f:{f.name}") for f in asked], 2)
        buttons.append([Button(ctx._("⬅️ Back"), BACK)])
        ctx.say(ctx._("Which answer do you want to change?"), buttons=buttons)

    async def _on_change_menu(self, ctx: StepContext, answer: str | None) -> None:
        names = {f.name for f in self.fields}
        if answer and answer.startswith("f:") and answer[2:] in names:
            await self._ask(ctx, self._field(answer[2:]))
        elif answer and ctx.event.kind == EventKind.TEXT:
            ranked = best_matches(answer, [(f.name, ctx._(f.label)) for f in self.fields], 1)
            if ranked:
                await self._ask(ctx, self._field(str(ranked[0][0])))
            else:
                await self._show_change_menu(ctx)
        else:
            await self._show_summary(ctx)

    async def _ask_cancel(self, ctx: StepContext) -> None:
        ctx.set_step(CANCEL_ASK)
        ctx.say(
            ctx._("Stop now? What you have typed so far will be discarded."),
            buttons=[[Button(ctx._("Keep going"), KEEP), Button(ctx._("Yes, stop"), STOP)]],
        )

    async def _on_cancel_answer(self, ctx: StepContext, answer: str | None) -> None:
        if answer in (STOP, CANCEL) or (answer and fold(answer) in ("yes", "co", "dung")):
            ctx.say(ctx._("Stopped. Nothing was saved."))
            await self.cancelled(ctx)
            return
        back_to = ctx.data.pop("cancel_from", "")
        if back_to in (SUMMARY, CHANGE_MENU):
            await self._show_summary(ctx)
        elif back_to in {f.name for f in self.fields}:
            await self._ask(ctx, self._field(back_to))
        else:
            await self._ask(ctx, self.fields[0])

    # -- helpers ----------------------------------------------------------------------------
    def _answer(self, ctx: StepContext) -> str | None:
        """The button value, or a typed navigation word at a choice question, or the text."""
        event = ctx.event
        if event.kind == EventKind.BUTTON:
            return event.payload
        if event.kind == EventKind.TEXT:
            typed = event.text.strip()
            return TYPED_COMMANDS.get(fold(typed), typed) if self._is_choice(ctx) else typed
        return None

    def takes_free_text(self, ctx: StepContext) -> bool:
        """Whether the current question takes typed text as its answer (dispatch asks before
        taking a typed phrase for a shortcut)."""
        return not self._is_choice(ctx)

    def _is_choice(self, ctx: StepContext) -> bool:
        """Whether the current question is answered by choosing (not by typing free text)."""
        if ctx.step in (SUMMARY, CHANGE_MENU, CANCEL_ASK):
            return True
        fld = self._field(ctx.step)
        return fld.choices is not None and not fld.free_text

    def _asked(self, values: dict[str, Any]) -> list[Field]:
        return [f for f in self.fields if f.applies(values)]

    def _first_unanswered(self, values: dict[str, Any]) -> Field | None:
        """The first question that applies and has no answer (a skipped one has None)."""
        for fld in self._asked(values):
            if fld.name not in values or (not fld.optional and values[fld.name] in (None, "")):
                return fld
        return None

    def _field(self, name: str) -> Field:
        return self.fields[self._index(name)]

    def _index(self, name: str) -> int:
        for i, fld in enumerate(self.fields):
            if fld.name == name:
                return i
        return 0

    async def _choices(self, ctx: StepContext, fld: Field) -> Sequence[Choice]:
        return await fld.choices(ctx) if fld.choices else ()

    @staticmethod
    def _suggested(ctx: StepContext) -> list[Choice]:
        return [Choice(v, label, bool(tr)) for v, label, tr in ctx.data.get("suggest", [])]

    async def _show(self, ctx: StepContext, fld: Field, value: Any) -> str:
        if fld.show:
            return await fld.show(ctx, value)
        for choice in await self._choices(ctx, fld):
            if choice.value == value:
                return choice.text(ctx)
        return str(value)
