"""Token formats: signed access tokens, opaque refresh tokens and recovery codes.

An access token is signed (so a forged one costs no database work) and names its session;
every request still checks that session, so revoking it stops the token at once.
Refresh tokens and recovery codes are random and stored only as SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

ACCESS_SALT = "homeward.access-token.v1"
# Crockford's base32 without look-alikes: easy to read aloud and type on a phone.
RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
RECOVERY_CODE_COUNT = 10
RECOVERY_GROUPS = 4  # XXXX-XXXX-XXXX-XXXX: about 78 bits


@dataclass(frozen=True)
class AccessClaims:
    account_id: str
    session_id: str


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=ACCESS_SALT)


def issue_access_token(account_id: str, session_id: str) -> str:
    return str(_serializer().dumps({"a": account_id, "s": session_id}))


def read_access_token(token: str) -> AccessClaims | None:
    """The claims of a valid, unexpired token; None for anything else."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["ACCESS_TOKEN_TTL"])
    except (SignatureExpired, BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    account_id, session_id = data.get("a"), data.get("s")
    if not isinstance(account_id, str) or not isinstance(session_id, str):
        return None
    return AccessClaims(account_id, session_id)


def new_refresh_token() -> str:
    return "rt_" + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_recovery_codes() -> list[str]:
    return [
        "-".join(
            "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(4))
            for _ in range(RECOVERY_GROUPS)
        )
        for _ in range(RECOVERY_CODE_COUNT)
    ]


def normalize_recovery_code(code: str) -> str:
    """Accept what people type: any case, with spaces or dashes anywhere."""
    cleaned = "".join(ch for ch in code.upper() if ch.isascii() and ch.isalnum())
    return "-".join(cleaned[i : i + 4] for i in range(0, len(cleaned), 4))


def recovery_digest(account_id: str, code: str) -> str:
    # Bound to the account, so equal codes of two accounts never share a digest.
    return digest(f"{account_id}:{normalize_recovery_code(code)}")
