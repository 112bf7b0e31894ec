"""Describing a failure without what users typed: for logs and stored error texts.

An exception's message can quote the data that caused it (SQLAlchemy puts a statement's
parameters into its text, a database's DETAIL names the duplicate key, a ``ValueError`` repeats
the bad value). What we keep is the exception's type, its message with every quoted value,
number, e-mail and parenthesised detail masked, and a traceback of file and line only.
"""

from __future__ import annotations

import logging
import re
import traceback

__all__ = ["describe_error", "log_failure"]

MAX_MESSAGE = 300
_MASKS = [
    (re.compile(r"\[parameters:.*", re.DOTALL), ""),  # SQLAlchemy, if parameters are shown
    (re.compile(r"\[SQL:.*", re.DOTALL), ""),  # the statement: its literals may be data
    (re.compile(r"(?im)^\s*DETAIL:.*$"), "DETAIL: …"),
    (re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|“[^”]*”"), "'…'"),
    (re.compile(r"\([^()]*\)=\([^()]*\)"), "(…)=(…)"),  # PostgreSQL's Key (x)=(value)
    (re.compile(r"\S+@\S+"), "…@…"),
    (re.compile(r"[+]?\d[\d .\-]{2,}\d"), "#"),
    (re.compile(r"\d{2,}"), "#"),
]


def describe_error(exc: BaseException) -> str:
    """``Type: message`` (the cause's type too, for wrapped driver errors), values masked."""
    name = type(exc).__name__
    orig = getattr(exc, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
    source = orig if isinstance(orig, BaseException) else exc
    if source is not exc:
        name = f"{name} ({type(source).__name__})"
    try:
        message = str(source)
    except Exception:
        message = ""
    for pattern, mask in _MASKS:
        message = pattern.sub(mask, message)
    message = " ".join(message.split())[:MAX_MESSAGE]
    return f"{name}: {message}" if message else name


def _frames(exc: BaseException) -> str:
    """Where the exception passed (files, lines, functions): code, never values."""
    frames = traceback.extract_tb(exc.__traceback__)
    return "".join(f"\n  {f.filename}:{f.lineno} in {f.name}" for f in frames)


def log_failure(logger: logging.Logger, message: str, *args: object, exc: BaseException) -> None:
    """Log ``message`` at ERROR with the described error and a data-free traceback."""
    logger.error(f"{message}: %s%s", *args, describe_error(exc), _frames(exc))
