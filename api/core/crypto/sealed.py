"""``SealedText``: a model attribute that reads and writes plaintext while its column
holds only ciphertext.

Writing stores the plaintext in memory and a placeholder in the column; just before the
flush, the plaintext is sealed with the owning member's key (the row id is assigned first,
since it is part of the associated data). Reading opens the column's value on first use
and keeps the result only on that object, for that ciphertext.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, object_session

from api.core.crypto.vault import vault_of
from api.core.db import new_id

# What the column holds between a write and the flush that seals it; never plaintext.
PENDING = "hw1:pending"
_PLAIN = "_sealed_plain"  # {attribute: (sealed value, plaintext)}
_PENDING = "_sealed_pending"  # {attribute: plaintext waiting for the flush}


class SealedText:
    """Plaintext view of an encrypted column of a member's row.

    ``column_attr`` is the mapped attribute holding the ciphertext; ``owner`` the attribute
    naming the member whose data key seals it.
    """

    def __init__(self, column_attr: str, *, owner: str = "member_id") -> None:
        self.column_attr = column_attr
        self.owner = owner
        self.name = ""

    def __set_name__(self, owner_cls: type, name: str) -> None:
        self.name = name

    def _where(self, obj: Any) -> tuple[str, str, str]:
        mapper = inspect(type(obj))
        column = mapper.attrs[self.column_attr].columns[0]
        return getattr(obj, self.owner), column.table.name, column.name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        pending = obj.__dict__.get(_PENDING, {})
        if self.name in pending:
            return pending[self.name]
        sealed = getattr(obj, self.column_attr)
        if sealed is None:
            return None
        cached = obj.__dict__.setdefault(_PLAIN, {}).get(self.name)
        if cached is not None and cached[0] == sealed:
            return cached[1]
        db = object_session(obj)
        if db is None:
            raise RuntimeError(f"{type(obj).__name__}.{self.name} needs a session to be read")
        member_id, table, column = self._where(obj)
        plaintext = vault_of(db).open(member_id, table, column, obj.id, sealed)
        obj.__dict__[_PLAIN][self.name] = (sealed, plaintext)
        return plaintext

    def __set__(self, obj: Any, value: str | None) -> None:
        pending = obj.__dict__.setdefault(_PENDING, {})
        if value is None:
            pending.pop(self.name, None)
            setattr(obj, self.column_attr, None)
            return
        pending[self.name] = value
        setattr(obj, self.column_attr, PENDING)

    def seal_pending(self, db: Session, obj: Any) -> None:
        pending = obj.__dict__.get(_PENDING, {})
        if self.name not in pending:
            return
        plaintext = pending.pop(self.name)
        if obj.id is None:
            obj.id = new_id()
        member_id, table, column = self._where(obj)
        sealed = vault_of(db).seal(member_id, table, column, obj.id, plaintext)
        setattr(obj, self.column_attr, sealed)
        obj.__dict__.setdefault(_PLAIN, {})[self.name] = (sealed, plaintext)


def sealed_fields(cls: type) -> list[SealedText]:
    return [value for value in vars(cls).values() if isinstance(value, SealedText)]


def _seal_before_flush(db: Session, _context: Any, _instances: Any) -> None:
    for obj in [*db.new, *db.dirty]:
        if obj.__dict__.get(_PENDING):
            for field in sealed_fields(type(obj)):
                field.seal_pending(db, obj)


_listening = False


def listen() -> None:
    global _listening
    if not _listening:
        event.listen(Session, "before_flush", _seal_before_flush)
        _listening = True
