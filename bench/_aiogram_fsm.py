"""Baseline B: an aiogram 3 bot with a registration-like FSM kept in memory (``MemoryStorage``).

Fifteen states (language, twelve questions, summary, main menu); every answer is stored in the
FSM data and answered with the next question and its inline keyboard (choices, Back, Cancel).
The summary takes a tap on "Confirm" (or the typed word); ``/help`` answers a help text and asks
the current question again; ``/menu`` shows the menu. Nothing is written to disk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

__all__ = ["Registration", "router", "run_aiogram"]


class Registration(StatesGroup):
    """One state per question, then the summary and the main menu."""

    language = State()
    org_type = State()
    name = State()
    tax_code = State()
    business_number = State()
    representative = State()
    position = State()
    gender = State()
    ethnicity = State()
    phone = State()
    province = State()
    commune = State()
    email = State()
    summary = State()
    menu = State()


QUESTIONS: dict[State, tuple[str, tuple[str, ...]]] = {
    Registration.language: ("Which language would you like?", ("Tiếng Việt", "English")),
    Registration.org_type: (
        "What kind of organisation are you registering?",
        ("Cooperative", "Cooperative group", "Enterprise", "Household"),
    ),
    Registration.name: ("What is the organisation's full name?", ()),
    Registration.tax_code: ("What is its tax code?", ()),
    Registration.business_number: ("Its business registration number, if different?", ("Skip",)),
    Registration.representative: ("Who is the legal representative?", ()),
    Registration.position: (
        "The representative's position?",
        ("Director", "Chairperson", "Owner", "Head"),
    ),
    Registration.gender: ("The representative's gender?", ("Male", "Female")),
    Registration.ethnicity: (
        "The representative's ethnic group?",
        ("Kinh", "Tày", "Thái", "Mường", "Khmer", "H'Mông"),
    ),
    Registration.phone: ("Which mobile number can officials reach you on?", ()),
    Registration.province: ("Which province or city?", ("Hà Nội", "Bắc Ninh", "Lạng Sơn")),
    Registration.commune: ("Which commune or ward?", ()),
    Registration.email: ("An e-mail address? You may skip this.", ("Skip",)),
}
ORDER = list(QUESTIONS)
MENU = (
    ("📝 Register my organisation", "register"),
    ("🌐 Language", "language"),
    ("❓ Help", "help"),
)

router = Router(name="registration")


def _keyboard(choices: tuple[str, ...], *, nav: bool = True) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(text=c, callback_data=f"a:{i}")
            for i, c in enumerate(choices[j : j + 2], j)
        ]
        for j in range(0, len(choices), 2)
    ]
    if nav:
        rows.append(
            [
                InlineKeyboardButton(text="⬅️ Back", callback_data="back"),
                InlineKeyboardButton(text="✖️ Cancel", callback_data="cancel"),
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def _ask(message: Message, state: FSMContext, which: State) -> None:
    await state.set_state(which)
    prompt, choices = QUESTIONS[which]
    n = ORDER.index(which)
    await message.answer(
        f"Registration · {n}/{len(ORDER) - 1}\n{prompt}", reply_markup=_keyboard(choices)
    )


async def _summary(message: Message, state: FSMContext) -> None:
    await state.set_state(Registration.summary)
    data = await state.get_data()
    lines = [f"{key}: {value}" for key, value in data.items()]
    buttons = [
        [
            InlineKeyboardButton(text="✅ Confirm", callback_data="confirm"),
            InlineKeyboardButton(text="✏️ Change", callback_data="change"),
        ],
        [InlineKeyboardButton(text="✖️ Cancel", callback_data="cancel")],
    ]
    await message.answer(
        "Check your answers\n" + "\n".join(lines) + "\n\nIs everything right?",
        reply_markup=InlineKeyboardMarkup(inline_keyboard=buttons),
    )


async def _menu(message: Message, state: FSMContext) -> None:
    await state.set_state(Registration.menu)
    name = (await state.get_data()).get("name", "")
    rows = [[InlineKeyboardButton(text=text, callback_data=data)] for text, data in MENU]
    await message.answer(
        f"Main menu\n{name} · what would you like to do?",
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


async def _ask_current(message: Message, state: FSMContext) -> None:
    current = await state.get_state()
    which = next((s for s in ORDER if s.state == current), None)
    if which is not None:
        await _ask(message, state, which)
    elif current == Registration.summary.state:
        await _summary(message, state)
    else:
        await _menu(message, state)


@router.message(CommandStart())
async def start(message: Message, state: FSMContext) -> None:
    await state.clear()
    await _ask(message, state, Registration.language)


@router.message(Command("help"))
async def help_(message: Message, state: FSMContext) -> None:
    await message.answer(
        "Tap a button or type your answer. /menu shows the main menu, "
        "/cancel stops what you are doing."
    )
    await _ask_current(message, state)


@router.message(Command("menu"))
async def menu(message: Message, state: FSMContext) -> None:
    await _menu(message, state)


async def _complete(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    await message.answer(f"🎉 {data.get('name', '')} is registered. Welcome to OCOP Bot!")
    await _menu(message, state)


@router.callback_query(StateFilter(Registration.summary), F.data == "confirm")
async def confirm_tapped(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await _complete(query.message, state)


@router.message(StateFilter(Registration.summary))
async def summary_typed(message: Message, state: FSMContext) -> None:
    if (message.text or "").strip().casefold() == "confirm":
        await _complete(message, state)
    else:
        await message.answer("Please tap ✅ Confirm, ✏️ Change or ✖️ Cancel.")
        await _summary(message, state)


@router.message(StateFilter(*ORDER), F.text)
async def answer(message: Message, state: FSMContext) -> None:
    current = await state.get_state()
    which = next(s for s in ORDER if s.state == current)
    text = (message.text or "").strip()
    if which is Registration.language:
        await message.answer("I will speak English with you.")
    elif not text:
        await message.answer("Please answer with text.")
        await _ask(message, state, which)
        return
    await state.update_data({(which.state or "").split(":")[-1]: text})
    following = ORDER.index(which) + 1
    if following < len(ORDER):
        await _ask(message, state, ORDER[following])
    else:
        await _summary(message, state)


@router.callback_query()
async def other_tap(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await _ask_current(query.message, state)


@router.message()
async def anything_else(message: Message, state: FSMContext) -> None:
    await message.answer("Please choose from the menu below.")
    await _ask_current(message, state)


async def run_aiogram(api: str, token: str, say: Callable[[str], None]) -> dict[str, Any]:
    """Poll ``api`` until SIGINT/SIGTERM (aiogram's own signal handling)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api))
    bot = Bot(token, session=session)
    dispatcher = Dispatcher(storage=MemoryStorage())
    dispatcher.include_router(router)

    async def ready() -> None:
        say("READY")

    dispatcher.startup.register(ready)
    await dispatcher.start_polling(
        bot, allowed_updates=["message", "callback_query"], handle_signals=True
    )
    return {"storage": "memory"}
