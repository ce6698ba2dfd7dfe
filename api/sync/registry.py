"""The sync registry: each domain declares the tables phones sync, for which role, with
which raw columns, how a pull reads them and (for pushable tables) how a push applies them.

Only tables and columns declared here ever leave or enter the server: this is the
whitelist of Backend.md's points 10 and 13 and push point 9.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from flask import Flask, current_app
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.core.db import in_chunks
from api.sync.models import Tombstone

ColumnType = Literal["string", "number", "boolean"]
Raw = dict[str, Any]


def ms(moment: datetime | None) -> int | None:
    """A timestamp as WatermelonDB stores it: milliseconds since the epoch."""
    return None if moment is None else int(moment.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def joined(values: Iterable[str] | None) -> str:
    """Lists travel as comma-joined strings (WatermelonDB has no list type)."""
    return ",".join(values or [])


def split(value: Any) -> list[str] | None:
    """A pushed comma-joined list back to a list (None: not sent); not a string: Rejected."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejected(value)
    return [part.strip() for part in value.split(",") if part.strip()]


@dataclass
class Pull:
    """One table's part of a pull: what the caller last saw (``since``; 0 = everything)
    and the clock value the answer runs to (``until``)."""

    db: Session
    account: Account
    since: int
    until: int
    # Every record goes in 'updated' (a migration pull of added columns).
    all_updated: bool = False
    # The window whose deletions are told (None: the same as the records'). A replacement
    # sync sends every record but still names what left the phone's view since ``since``:
    # a client that ignores ``experimentalStrategy`` must end in the same state.
    deletions_since: int | None = None

    @property
    def full(self) -> bool:
        return self.since == 0

    @property
    def since_time(self) -> datetime:
        return from_ms(self.since)

    @property
    def until_time(self) -> datetime:
        return from_ms(self.until)

    def changed(self, column: Any) -> ColumnElement[bool]:
        """Rows stamped inside this pull's window (all stamped rows on a full pull)."""
        if self.full:
            return and_(column.is_not(None), column <= self.until)
        return and_(column > self.since, column <= self.until)

    def passed(self, column: Any) -> ColumnElement[bool]:
        """A moment column (an expiry) that fell inside this pull's window."""
        return and_(column > self.since_time, column <= self.until_time)

    def for_deletions(self) -> Pull:
        """This pull's deletion window: ``changed``, ``passed`` and ``tombstones`` of the
        answer to use for ``deleted`` (full: nothing is deleted)."""
        if self.deletions_since is None:
            return self
        return replace(self, since=self.deletions_since, deletions_since=None)

    def is_new(self, sync_created: int | None) -> bool:
        return not self.all_updated and (self.full or (sync_created or 0) > self.since)

    def tombstones(self, table: str, account_id: str | None = "me") -> list[str]:
        """Ids deleted inside the deletion window, told to this account (or, with None, to
        all)."""
        gone = self.for_deletions()
        if gone.full:
            return []
        audience = self.account.id if account_id == "me" else account_id
        who = (
            Tombstone.account_id.is_(None) if audience is None else Tombstone.account_id == audience
        )
        return list(
            self.db.scalars(
                select(Tombstone.record_id).where(
                    Tombstone.table_name == table, who, gone.changed(Tombstone.sync_version)
                )
            )
        )


@dataclass
class Changes:
    created: list[Raw] = field(default_factory=list)
    updated: list[Raw] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def add(self, raw: Raw, new: bool) -> None:
        (self.created if new else self.updated).append(raw)

    def as_json(self) -> dict[str, Any]:
        """No id twice: a record sent whole is not also deleted; each id once."""
        sent: set[str] = set()
        created: list[Raw] = []
        updated: list[Raw] = []
        for target, records in ((created, self.created), (updated, self.updated)):
            for raw in records:
                if raw["id"] not in sent:
                    sent.add(raw["id"])
                    target.append(raw)
        deleted = [i for i in dict.fromkeys(self.deleted) if i not in sent]
        return {"created": created, "updated": updated, "deleted": deleted}


def owned(
    pull: Pull,
    table: str,
    model: Any,
    owner: str,
    to_raws: Callable[[Session, list[Any]], list[Raw]],
) -> Changes:
    """The common pull: the caller's own rows changed in the window, and the tombstones
    addressed to them. ``to_raws`` shapes a batch of rows (names looked up once)."""
    rows = list(
        pull.db.scalars(
            select(model).where(
                getattr(model, owner) == pull.account.id, pull.changed(model.sync_version)
            )
        )
    )
    changes = Changes(deleted=pull.tombstones(table))
    for row, raw in zip(rows, to_raws(pull.db, rows), strict=True):
        changes.add(raw, pull.is_new(row.sync_created))
    return changes


class Rejected(Exception):
    """A pushed record that cannot be stored as sent; its id goes back as rejected."""


@dataclass(frozen=True)
class Pusher:
    """How a pushable table applies records to ``model``, whose ``owner`` column names the
    account a row belongs to.

    ``prepare(db, account, record_id, raw, exists)`` -> fields, or raises Rejected (nothing
    written yet); ``save`` writes them through the domain's own operations (so reminder
    planning and help alerts happen as for REST); ``delete`` removes an owned row.
    """

    model: Any
    owner: str
    prepare: Callable[[Session, Account, str, Raw, bool], dict[str, Any]]
    save: Callable[[Session, Account, str, dict[str, Any], bool, datetime], None]
    delete: Callable[[Session, Account, str, datetime], None]


@dataclass(frozen=True)
class SyncTable:
    name: str
    role: str  # "member" or "mentor"
    columns: Mapping[str, ColumnType]
    pull: Callable[[Pull], Changes]
    push: Pusher | None = None
    # True when what changed since the pull before cannot be told incrementally (a
    # grant's scope changed, the area moved): the whole pull becomes a replacement sync.
    needs_replacement: Callable[[Pull], bool] | None = None
    # Called after the answer is read, in a transaction under the clock's lock, with what
    # the answer holds (a table whose view depends on others' decisions records it).
    after_pull: Callable[[Session, Account, Changes], None] | None = None


def owners(db: Session, pusher: Pusher, ids: Sequence[str]) -> Mapping[str, tuple[str, int | None]]:
    """{id: (owner account id, sync_version)} of the rows that exist."""
    model = pusher.model
    found: dict[str, tuple[str, int | None]] = {}
    for chunk in in_chunks(ids):
        rows = db.execute(
            select(model.id, getattr(model, pusher.owner), model.sync_version).where(
                model.id.in_(chunk)
            )
        )
        found.update({row[0]: (row[1], row[2]) for row in rows})
    return found


# Returns True when it wrote tombstones.
StampHook = Callable[[Session, set[str]], bool]
STATE = "homeward.sync"


@dataclass
class SyncState:
    """What the domains declared to sync in their ``init_app``, kept on the app (and on
    each of its sessions, for the commit hook): the tables phones sync, by role and name,
    and the hooks that run inside every stamping transaction."""

    tables: dict[tuple[str, str], SyncTable] = field(default_factory=dict)
    stamp_hooks: list[StampHook] = field(default_factory=list)


def state_of(app: Flask) -> SyncState:
    state: SyncState = app.extensions.setdefault(STATE, SyncState())
    return state


def register(app: Flask, table: SyncTable) -> SyncTable:
    """A domain declares a table its phones sync (from its ``init_app``)."""
    key = (table.role, table.name)
    tables = state_of(app).tables
    if key in tables:
        raise ValueError(f"the {table.role} sync table {table.name!r} is registered twice")
    tables[key] = table
    return table


def before_stamping(app: Flask, hook: StampHook) -> StampHook:
    """Run ``hook(session, pending table names)`` inside every stamping transaction, after
    the clock's lock is taken and before rows are stamped: what it writes (tombstones of
    records that left someone's view) is stamped with the change that caused it, and no
    pull can record what it sent in between (api/sync/pull.py takes the same lock)."""
    hooks = state_of(app).stamp_hooks
    if hook not in hooks:
        hooks.append(hook)
    return hook


def tables_for(role: str) -> list[SyncTable]:
    tables = state_of(current_app).tables
    return [table for (table_role, _), table in tables.items() if table_role == role]


def table(role: str, name: str) -> SyncTable | None:
    return state_of(current_app).tables.get((role, name))
