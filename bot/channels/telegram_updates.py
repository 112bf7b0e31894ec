"""What a Telegram update may look like before we read it: what Telegram would never send.

The webhook refuses (400) a body that fails :func:`update_problem`; polling parks such an update
(it came from Telegram itself, so it is kept for an operator rather than refused). Limits are
Telegram's own: a message text is at most 4,096 UTF-16 units; a caption 1,024 (4,096 for
Telegram Premium users, so 4,096 is what we accept); ``callback_data`` at most 64 bytes.
Longer text is refused, not truncated: a message cut short could change what a person meant.
The problems named here never quote the update (they may be logged and stored).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "MAX_CALLBACK_DATA",
    "MAX_CAPTION",
    "MAX_TEXT",
    "MAX_UPDATE_ID",
    "MAX_WEBHOOK_BODY",
    "update_id_of",
    "update_kind",
    "update_problem",
    "utf16_units",
]

MAX_TEXT = 4096  # UTF-16 code units, as Telegram counts
MAX_CAPTION = 4096  # 1,024 for most users, 4,096 with Telegram Premium
MAX_CALLBACK_DATA = 64  # bytes
MAX_UPDATE_ID = 2**31 - 1  # Telegram's update ids are positive 32-bit integers
# The largest update Telegram sends (a 4,096-unit text quoting another, entities, a poll…) is
# far below this; a bigger webhook body is refused (413) without being read.
MAX_WEBHOOK_BODY = 256 * 1024
MESSAGE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")


def utf16_units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def update_id_of(raw: Any) -> int | None:
    """The update's id when it is one Telegram could send, else None."""
    value = raw.get("update_id") if isinstance(raw, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_UPDATE_ID:
        return value
    return None


def update_kind(raw: dict[str, Any]) -> str:
    """What the update holds ("message", "callback_query"…), for logs without contents."""
    kinds = sorted(str(k)[:40] for k in raw if k != "update_id")
    return ",".join(kinds[:3]) or "nothing"


def update_problem(raw: Any) -> str | None:
    """Why ``raw`` cannot be a Telegram update, or None if it may be one."""
    if not isinstance(raw, dict):
        return "not a JSON object"
    if update_id_of(raw) is None:
        return f"update_id is not an integer from 1 to {MAX_UPDATE_ID}"
    for kind in MESSAGE_KINDS:
        message = raw.get(kind)
        if message is None:
            continue
        if not isinstance(message, dict):
            return f"{kind} is not an object"
        if (problem := _text_problem(message, "text", MAX_TEXT)) is not None:
            return problem
        if (problem := _text_problem(message, "caption", MAX_CAPTION)) is not None:
            return problem
    query = raw.get("callback_query")
    if query is not None:
        if not isinstance(query, dict):
            return "callback_query is not an object"
        data = query.get("data")
        size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else 0
        if data is not None and (not isinstance(data, str) or size > MAX_CALLBACK_DATA):
            return f"callback data is not text of at most {MAX_CALLBACK_DATA} bytes"
    return None


def _text_problem(message: dict[str, Any], field: str, limit: int) -> str | None:
    value = message.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        return f"{field} is not text"
    if utf16_units(value) > limit:
        return f"{field} is longer than {limit} UTF-16 units"
    return None
