"""Password hashing (argon2id) and the policy: at least 8 characters, not a common one.

No composition rules (NIST SP 800-63B): length and a blocklist do more good than
demanding digits and symbols.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

MIN_LENGTH = 8
MAX_LENGTH = 256  # hashing is deliberately slow; cap the input


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("api.accounts").joinpath("data/common-passwords.txt").read_text()
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def policy_problems(password: str, username: str | None = None) -> list[str]:
    """Why ``password`` is refused; empty when it is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    elif len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    elif password.casefold() in common_passwords():
        problems.append("This password is too common; choose one that is harder to guess.")
    elif username and password.casefold() == username.casefold():
        problems.append("The password must not be the username.")
    return problems


def _hasher() -> PasswordHasher:
    config = current_app.config
    key = (config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"])
    cached = current_app.extensions.get("homeward.hasher")
    if cached is None or cached[0] != key:
        hasher = PasswordHasher(time_cost=key[0], memory_cost=key[1], parallelism=key[2])
        # A hash of nothing in particular, verified when the username is unknown, so both
        # failures take the same time.
        cached = (key, hasher, hasher.hash("not a real password"))
        current_app.extensions["homeward.hasher"] = cached
    return cached[1]


def warm_up() -> None:
    """Build the hasher and its timing-equaliser hash now (in gunicorn's master, before the
    fork), so no worker's first sign-in pays for a second hash."""
    _hasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    hasher = _hasher()
    target = password_hash or current_app.extensions["homeward.hasher"][2]
    try:
        hasher.verify(target, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)
