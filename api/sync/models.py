"""What sync keeps: the change clock, tombstones, push receipts and each member's area.

Every synced row carries ``sync_version`` (the clock value of the transaction that last
changed it) and ``sync_created`` (the value when it was first stamped). Database triggers
set ``sync_version`` to NULL on every change, whoever makes it (ORM, bulk statements,
cascades); the commit hook in ``tracking.py`` stamps those rows with one clock value just
before the transaction commits. Deletions leave a tombstone the same way.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from api.core.db import Base, UTCDateTime, utcnow

PENDING = text("sync_version IS NULL")


class SyncTracked:
    """Columns of a table whose rows phones sync (see the module docstring).

    A model with this mixin is the one declaration of a synced table: the commit hook
    stamps it (``tracked_tables``), and a test holds the migrations to a trigger on it."""

    sync_version: Mapped[int | None] = mapped_column(BigInteger, default=None)
    sync_created: Mapped[int | None] = mapped_column(BigInteger, default=None)


class SyncStampedOnRequest:
    """A table with a sync clock value but no triggers: its writers say when they left
    rows pending (``tracking.mark_pending``), because most of its writes are not news (the
    reminder outbox's claims and lease renewals)."""

    sync_version: Mapped[int | None] = mapped_column(BigInteger, default=None)


def _declared(mixin: type) -> dict[str, str]:
    """Table name -> key column of every mapped model with ``mixin``, by their primary key."""
    found = {}
    for mapper in Base.registry.mappers:
        if issubclass(mapper.class_, mixin):
            name: str = mapper.class_.__tablename__  # type: ignore[attr-defined]  # mapped
            found[name] = next(iter(mapper.primary_key)).name
    return dict(sorted(found.items()))


_SEEN: dict[type, tuple[int, dict[str, str]]] = {}


def _declared_now(mixin: type) -> dict[str, str]:
    # Models are imported by their domains' init_app; a mapper added later is seen then.
    mappers = len(Base.registry.mappers)
    seen = _SEEN.get(mixin)
    if seen is None or seen[0] != mappers:
        seen = _SEEN[mixin] = (mappers, _declared(mixin))
    return seen[1]


def tracked_tables() -> dict[str, str]:
    """Synced tables with triggers (``SyncTracked``): table name -> key column."""
    return _declared_now(SyncTracked)


def stamped_on_request() -> dict[str, str]:
    """Synced tables without triggers (``SyncStampedOnRequest``): table name -> key column."""
    return _declared_now(SyncStampedOnRequest)


def sync_indexes(table: str, owner: str | None = None, key: str = "id") -> tuple[Index, ...]:
    """The pending-row index the commit hook scans, and the (owner, version) index pulls use."""
    indexes = [
        Index(f"ix_{table}_sync_pending", key, sqlite_where=PENDING, postgresql_where=PENDING)
    ]
    if owner:
        indexes.append(Index(f"ix_{table}_{owner}_sync_version", owner, "sync_version"))
    else:
        indexes.append(Index(f"ix_{table}_sync_version", "sync_version"))
    return tuple(indexes)


class SyncClock(Base):
    """One row: the last value handed out. Its row lock orders every stamping
    transaction, so a pull that has read value V knows every change up to V is committed."""

    __tablename__ = "sync_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
    # Tombstones up to this value have been purged; older clients need a replacement sync.
    purged_through: Mapped[int] = mapped_column(BigInteger, default=0)


class Tombstone(Base):
    """A record that left someone's view: deleted, or (account_id NULL) a public listing."""

    __tablename__ = "sync_tombstones"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(120))
    # Not a foreign key: an erased account's tombstones must outlive it until the purge.
    account_id: Mapped[str | None] = mapped_column(String(36))
    sync_version: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_sync_tombstones_account_version", "account_id", "sync_version"),
        Index(
            "ix_sync_tombstones_sync_pending", "id", sqlite_where=PENDING, postgresql_where=PENDING
        ),
    )


class PushReceipt(Base):
    """The first answer to a push with an Idempotency-Key, replayed for the same key."""

    __tablename__ = "sync_push_receipts"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    body_digest: Mapped[str] = mapped_column(String(64))
    answer: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MemberArea(SyncTracked, Base):
    """Where a member wants listings synced to the phone: a point and a radius."""

    __tablename__ = "sync_member_areas"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    radius_km: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # A pull from before the area's sync_version is a replacement sync.
    __table_args__ = sync_indexes("sync_member_areas", key="account_id")


class HeldRecord(Base):
    """A record sent to this account's phones whose visibility is someone else's decision
    (a mentee's shared check-in): when it leaves the account's view, a tombstone names it
    to exactly the accounts that may hold it, and never one that was not sent."""

    __tablename__ = "sync_held"

    # Not foreign keys: erasure turns these into tombstones before its rows are gone.
    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    # Whose decision it is (the member who shared it).
    subject_id: Mapped[str] = mapped_column(String(36))

    __table_args__ = (Index("ix_sync_held_subject_account", "subject_id", "account_id"),)
