"""Officials' passwords: argon2id hashes (argon2-cffi), checked in constant time.

A password is never stored or logged; only its hash is kept. :func:`verify_password` on an
unknown account still runs a full verification against :data:`DUMMY_HASH`, so the time a
sign-in takes does not tell whether the username exists.
"""

from __future__ import annotations

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "DUMMY_HASH",
    "MAX_PASSWORD",
    "MIN_PASSWORD",
    "PasswordError",
    "check_new_password",
    "hash_password",
    "use_parameters",
    "verify_password",
]

MIN_PASSWORD = 10
MAX_PASSWORD = 1024

_HASHER = PasswordHasher()  # argon2-cffi's defaults: RFC 9106's low-memory profile
_DUMMY_PASSWORD = "not a password anyone has: it only makes failures take as long"
DUMMY_HASH = _HASHER.hash(_DUMMY_PASSWORD)


def use_parameters(parameters: Parameters) -> None:
    """Hash new passwords (and the dummy hash) with ``parameters`` from now on. Only the test
    suite calls this, with a cheap profile; stored hashes carry their own parameters, so they
    verify whatever is in use."""
    global _HASHER, DUMMY_HASH
    _HASHER = PasswordHasher.from_parameters(parameters)
    DUMMY_HASH = _HASHER.hash(_DUMMY_PASSWORD)


class PasswordError(ValueError):
    """A new password that cannot be used; the message says why."""


def check_new_password(password: str) -> None:
    """Refuse a password too short or too long to be a sensible secret."""
    if len(password) < MIN_PASSWORD:
        raise PasswordError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise PasswordError(f"a password may have at most {MAX_PASSWORD} characters")
    if not password.strip():
        raise PasswordError("a password cannot be only spaces")


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted: the same password hashes differently)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; ``None`` (no such account) takes as long
    as a real check and is always False."""
    too_long = len(password) > MAX_PASSWORD  # no stored password is; checked all the same
    try:
        ok = _HASHER.verify(password_hash or DUMMY_HASH, password[:MAX_PASSWORD])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None and not too_long
