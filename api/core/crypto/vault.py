"""Keys and ciphers: the master keyring (from the environment) and the per-session vault.

A field is sealed with its member's data key and associated data naming the member, the
table, the column and the row, so a ciphertext moved to another row, column or member
fails to open. Sealed text is ``hw1:`` + base64url(nonce || ciphertext || tag).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.crypto.models import MemberKey
from api.core.db import insert_ignoring_conflicts, utcnow

PREFIX = "hw1:"
NONCE_BYTES = 12


class DecryptionError(Exception):
    """A sealed value could not be opened: wrong row, wrong member, tampered, or shredded."""


# What an operator checks when the master keys cannot open the data keys.
MASTER_KEY_SETTINGS = "HOMEWARD_MASTER_KEY / HOMEWARD_PREVIOUS_MASTER_KEYS"


class MasterKeyError(DecryptionError):
    """A member's data key cannot be unwrapped with the configured master keys: the service
    is misconfigured (a master key missing or wrong), and nothing is lost; the member's
    data opens again once the right key is configured."""

    def __init__(self, detail: str, master_key_id: str) -> None:
        super().__init__(detail)
        self.master_key_id = master_key_id


def decode_key(text: str) -> bytes:
    """A master key as given in the environment: 32 bytes, base64 (url-safe or standard)."""
    cleaned = text.strip()
    try:
        raw = base64.urlsafe_b64decode(cleaned.replace("+", "-").replace("/", "_") + "==")
    except (binascii.Error, ValueError):
        raise ValueError("a master key must be base64") from None
    if len(raw) != 32:
        raise ValueError(f"a master key must be 32 bytes, this one is {len(raw)}")
    return raw


def encode_key(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def key_id(raw: bytes) -> str:
    return hashlib.sha256(b"homeward master key id\x00" + raw).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Keyring:
    """The current master key, plus earlier ones still able to unwrap until rotation."""

    def __init__(self, current: bytes, previous: Iterable[bytes] = ()) -> None:
        self.current = current
        self.current_id = key_id(current)
        self.previous = tuple(previous)
        self._by_id = {key_id(k): AESGCM(k) for k in previous}
        self._by_id[self.current_id] = AESGCM(current)

    @property
    def ids(self) -> frozenset[str]:
        """The ids of every master key this keyring can unwrap with."""
        return frozenset(self._by_id)

    @classmethod
    def from_config(cls, config: Any) -> Keyring:
        return cls(
            decode_key(config["MASTER_KEY"]),
            [decode_key(k) for k in config.get("PREVIOUS_MASTER_KEYS") or ()],
        )

    @staticmethod
    def _aad(account_id: str) -> bytes:
        return f"homeward/data-key/v1|{account_id}".encode()

    def wrap(self, account_id: str, data_key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._by_id[self.current_id].encrypt(nonce, data_key, self._aad(account_id))

    def unwrap(self, account_id: str, master_key_id: str, wrapped: bytes) -> bytes:
        cipher = self._by_id.get(master_key_id)
        if cipher is None:
            raise MasterKeyError(
                f"a data key is wrapped by master key {master_key_id}, which is neither "
                f"the current master key nor a previous one: check {MASTER_KEY_SETTINGS}",
                master_key_id,
            )
        try:
            return cipher.decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], self._aad(account_id)
            )
        except InvalidTag:
            raise MasterKeyError(
                f"a data key wrapped by master key {master_key_id} failed to unwrap "
                f"(damaged, or moved to another account): check {MASTER_KEY_SETTINGS}",
                master_key_id,
            ) from None


def _aad(member_id: str, table: str, column: str, row_id: str) -> bytes:
    return f"homeward/field/v1|{member_id}|{table}|{column}|{row_id}".encode()


class Vault:
    """Seals and opens member fields within one session. Data keys are unwrapped once per
    session (one request or job) and never cached beyond it, so erasure bites at once."""

    def __init__(self, db: Session, keyring: Keyring) -> None:
        self.db = db
        self.keyring = keyring
        self._ciphers: dict[str, AESGCM] = {}

    def cipher(self, member_id: str, *, create: bool = False) -> AESGCM:
        cipher = self._ciphers.get(member_id)
        if cipher is not None:
            return cipher
        row = self.db.scalar(select(MemberKey).where(MemberKey.account_id == member_id))
        if row is None:
            if not create:
                raise DecryptionError("this member has no data key (erased, or never sealed)")
            # Two first writes of one member may race; the loser reads the winner's key.
            insert_ignoring_conflicts(
                self.db,
                MemberKey,
                [
                    {
                        "account_id": member_id,
                        "master_key_id": self.keyring.current_id,
                        "wrapped_key": self.keyring.wrap(member_id, AESGCM.generate_key(256)),
                        "created_at": utcnow(),
                    }
                ],
                ["account_id"],
            )
            row = self.db.scalars(select(MemberKey).where(MemberKey.account_id == member_id)).one()
        cipher = AESGCM(self.keyring.unwrap(member_id, row.master_key_id, row.wrapped_key))
        self._ciphers[member_id] = cipher
        return cipher

    def preload(self, member_ids: Iterable[str]) -> None:
        """Unwrap the data keys of many members with one query (a batch that opens
        several members' fields), instead of one query per member on first use."""
        wanted = set(member_ids) - self._ciphers.keys()
        if not wanted:
            return
        for row in self.db.scalars(select(MemberKey).where(MemberKey.account_id.in_(wanted))):
            key = self.keyring.unwrap(row.account_id, row.master_key_id, row.wrapped_key)
            self._ciphers[row.account_id] = AESGCM(key)

    def seal(self, member_id: str, table: str, column: str, row_id: str, plaintext: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.cipher(member_id, create=True).encrypt(
            nonce, plaintext.encode("utf-8"), _aad(member_id, table, column, row_id)
        )
        return PREFIX + _b64(nonce + sealed)

    def open(self, member_id: str, table: str, column: str, row_id: str, sealed: str) -> str:
        if not sealed.startswith(PREFIX):
            raise DecryptionError("the stored value is not sealed")
        try:
            blob = _unb64(sealed[len(PREFIX) :])
        except (binascii.Error, ValueError):
            raise DecryptionError("the sealed value is malformed") from None
        try:
            plaintext = self.cipher(member_id).decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(member_id, table, column, row_id)
            )
        except InvalidTag:
            raise DecryptionError("a sealed value does not belong to this row") from None
        return plaintext.decode("utf-8")

    def forget(self, member_id: str) -> None:
        """Drop the member's key from this session (after the key row is deleted)."""
        self._ciphers.pop(member_id, None)


def vault_of(db: Session) -> Vault:
    """The vault of a session, made on first use from the keyring its app gave it."""
    vault: Vault | None = db.info.get("vault")
    if vault is None:
        keyring = db.info.get("keyring")
        if keyring is None:
            raise RuntimeError("this session has no keyring (was api.core.crypto.init_app called?)")
        vault = Vault(db, keyring)
        db.info["vault"] = vault
    return vault


def unknown_master_keys(db: Session, keyring: Keyring) -> list[str]:
    """Ids of master keys that wrap some data key but are not in ``keyring`` (sorted)."""
    return sorted(
        db.scalars(
            select(MemberKey.master_key_id)
            .where(MemberKey.master_key_id.not_in(sorted(keyring.ids)))
            .distinct()
        )
    )


def probe(db: Session, keyring: Keyring) -> str | None:
    """Can the configured master keys open the data keys? None when they can, else why not
    (naming the settings to check). Cheap enough for every readiness check: two queries
    of at most one row each, one for a data key under a master key that is not configured
    (it scans only the short key-id column) and one data key that it unwraps."""
    stranger = db.scalar(
        select(MemberKey.master_key_id)
        .where(MemberKey.master_key_id.not_in(sorted(keyring.ids)))
        .limit(1)
    )
    if stranger is not None:
        return (
            f"data keys are wrapped by master key {stranger}, which is neither the current "
            f"master key ({keyring.current_id}) nor a previous one: check {MASTER_KEY_SETTINGS}"
        )
    row = db.execute(
        select(MemberKey.account_id, MemberKey.master_key_id, MemberKey.wrapped_key).limit(1)
    ).first()
    if row is not None:
        try:
            keyring.unwrap(row.account_id, row.master_key_id, row.wrapped_key)
        except MasterKeyError as error:
            return str(error)
    return None


def rotate(db: Session, keyring: Keyring, now: datetime, batch_size: int = 500) -> tuple[int, int]:
    """Re-wrap every data key not under the current master key. The data is not touched.
    Returns (re-wrapped, already current)."""
    rewrapped = current = 0
    last = ""
    while True:
        rows = db.scalars(
            select(MemberKey)
            .where(MemberKey.account_id > last)
            .order_by(MemberKey.account_id)
            .limit(batch_size)
        ).all()
        if not rows:
            return rewrapped, current
        for row in rows:
            if row.master_key_id == keyring.current_id:
                current += 1
                continue
            data_key = keyring.unwrap(row.account_id, row.master_key_id, row.wrapped_key)
            row.wrapped_key = keyring.wrap(row.account_id, data_key)
            row.master_key_id = keyring.current_id
            row.rotated_at = now
            rewrapped += 1
        last = rows[-1].account_id
        db.flush()
