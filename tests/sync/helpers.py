"""Helpers shared by the sync protocol tests (tests/test_sync_*.py): pull and push as a
WatermelonDB phone does (docs/sync.md), raw records as the phone holds them, the REST
calls that change data on the server side, and a few direct database counts.

Every pull made through ``pull`` is checked for the shape of the protocol: each table has
``created``, ``updated`` and ``deleted`` lists, raw records have an ``id`` and no
``_status``/``_changed``, and no id appears twice in one table of one answer.
"""

from __future__ import annotations

import json
import secrets
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

SYNC = "/api/v1/sync"
CHECKINS = "/api/v1/checkins"
APPOINTMENTS = "/api/v1/appointments"
INVITES = "/api/v1/invites"
GRANTS = "/api/v1/grants"
SAVED = "/api/v1/me/saved"
AREA = "/api/v1/me/area"
ME = "/api/v1/me"
ACCESS_LOG = "/api/v1/me/access-log"

# A Thursday; America/Chicago is UTC-5 (CDT) until 2026-11-01.
NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
CHICAGO = "America/Chicago"

MEMBER_TABLES = frozenset(
    {
        "appointments",
        "checkins",
        "checkin_responses",
        "plan_goals",
        "plan_steps",
        "plan_suggestions",
        "saved_resources",
        "grants",
        "resources",
        "reminders",
    }
)
MENTOR_TABLES = frozenset({"grants", "shared_checkins", "shared_plan_steps", "alerts"})
PULL_ONLY = ("grants", "checkin_responses", "plan_suggestions", "resources", "reminders")

# docs/sync.md, "Tables": raw column -> (WatermelonDB type, may be null).
S, N, B = "string", "number", "boolean"
COLUMNS: dict[str, dict[str, tuple[str, bool]]] = {
    "appointments": {
        "title": (S, False),
        "kind": (S, False),
        "starts_at": (S, False),
        "ends_at": (S, True),
        "timezone": (S, False),
        "location": (S, True),
        "notes": (S, True),
        "bring": (S, False),  # a JSON array of texts
        "recurrence": (S, True),
        "reminder_offsets": (S, False),
        "channels": (S, False),
        "status": (S, False),
        "created_at": (N, False),
        "updated_at": (N, False),
    },
    "checkins": {
        "mood": (N, False),
        "needs": (S, False),
        "wins": (S, True),
        "note": (S, True),
        "help_requested": (B, False),
        "place": (S, True),
        "recorded_at": (N, False),
        "created_at": (N, False),
        "updated_at": (N, False),
    },
    "plan_goals": {
        "area": (S, False),
        "title": (S, False),
        "why": (S, True),
        "status": (S, False),
        "target_date": (S, True),
        "position": (N, False),
        "created_at": (N, False),
        "updated_at": (N, False),
    },
    "plan_steps": {
        "goal_id": (S, False),
        "title": (S, False),
        "notes": (S, True),
        "status": (S, False),
        "due_date": (S, True),
        "due_time": (S, True),
        "timezone": (S, True),
        "remind": (B, False),
        "bring": (S, False),
        "position": (N, False),
        "listing_id": (S, True),
        "appointment_id": (S, True),
        "created_at": (N, False),
        "updated_at": (N, False),
    },
    "plan_suggestions": {
        "mentor_name": (S, True),
        "goal_id": (S, True),
        "title": (S, False),
        "notes": (S, True),
        "status": (S, False),
        "step_id": (S, True),
        "created_at": (N, False),
        "decided_at": (N, True),
    },
    "checkin_responses": {
        "checkin_id": (S, False),
        "body": (S, False),
        "mentor_name": (S, True),
        "created_at": (N, False),
    },
    "saved_resources": {
        "resource_id": (S, False),
        "kind": (S, False),
        "name": (S, False),
        "created_at": (N, False),
    },
    "grants": {
        "member_name": (S, True),
        "mentor_name": (S, True),
        "scopes": (S, False),
        "share_history": (B, False),
        "created_at": (N, False),
        "expires_at": (N, True),
        "revoked_at": (N, True),
        "in_force": (B, False),
    },
    "resources": {
        "kind": (S, False),
        "name": (S, False),
        "organization_name": (S, True),
        "description": (S, False),
        "address": (S, True),
        "latitude": (N, True),
        "longitude": (N, True),
        "phone": (S, True),
        "fair_chance": (B, True),
        "accepts_records": (S, True),
        "valid_through": (N, True),
        "last_verified_at": (N, True),
    },
    "reminders": {
        "appointment_id": (S, False),
        "occurrence_at": (N, False),
        "remind_at": (N, False),
        "offset": (S, False),
        "state": (S, False),
        "push_state": (S, True),
        "push_reason": (S, True),
        "sms_state": (S, True),
        "sms_reason": (S, True),
        "detail": (S, True),
    },
    "alerts": {
        "member_id": (S, False),
        "member_name": (S, True),
        "checkin_id": (S, False),
        "asked_at": (N, False),
        "body": (S, False),
    },
    # notes and bring are null unless the grant has plan.full.
    "shared_plan_steps": {
        "member_id": (S, False),
        "member_name": (S, True),
        "goal_id": (S, False),
        "goal_area": (S, False),
        "goal_title": (S, False),
        "goal_status": (S, False),
        "title": (S, False),
        "status": (S, False),
        "due_date": (S, True),
        "position": (N, False),
        "notes": (S, True),
        "bring": (S, True),
    },
    # Always there; the scope-shaped columns are in SHARED_BY_SCOPE.
    "shared_checkins": {
        "member_id": (S, False),
        "member_name": (S, True),
        "recorded_at": (N, False),
        "created_at": (N, False),
    },
}
# Every one travels, null when the grant's scopes do not name it.
SHARED_BY_SCOPE: dict[str, tuple[str, bool]] = {
    "mood": (N, True),
    "needs": (S, True),
    "help_requested": (B, True),
    "wins": (S, True),
    "note": (S, True),
    "place": (S, True),
}


def ms(moment: datetime) -> int:
    """Milliseconds since the epoch, as raw records carry instants."""
    return int(moment.timestamp() * 1000)


NOW_MS = ms(NOW)


def new_id() -> str:
    """An id as WatermelonDB makes them: 16 random letters and digits."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


# -- pull ---------------------------------------------------------------------------------


def pull_response(client: Any, person: Any, last_pulled_at: Any = None, **query: Any) -> Any:
    params: dict[str, Any] = {}
    if last_pulled_at is not None:
        params["last_pulled_at"] = last_pulled_at
    for name, value in query.items():
        params[name] = json.dumps(value) if isinstance(value, dict) else value
    return client.get(SYNC, query_string=params, headers=person.headers)


def check_shape(body: Any) -> None:
    """The answer is a pull answer of the protocol, and no id appears twice in a table."""
    assert isinstance(body, dict), body
    assert set(body) <= {"changes", "timestamp", "experimentalStrategy"}, sorted(body)
    timestamp = body["timestamp"]
    assert isinstance(timestamp, int) and not isinstance(timestamp, bool), timestamp
    if "experimentalStrategy" in body:
        assert body["experimentalStrategy"] == "replacement", body["experimentalStrategy"]
    assert isinstance(body["changes"], dict), body["changes"]
    for table, change in body["changes"].items():
        assert isinstance(change, dict) and set(change) == {"created", "updated", "deleted"}, (
            table,
            change,
        )
        seen: list[str] = []
        for kind in ("created", "updated"):
            assert isinstance(change[kind], list), (table, kind, change[kind])
            for record in change[kind]:
                assert isinstance(record, dict), (table, record)
                assert isinstance(record.get("id"), str) and record["id"], (table, record)
                assert "_status" not in record and "_changed" not in record, (table, record)
                seen.append(record["id"])
        assert isinstance(change["deleted"], list), (table, change["deleted"])
        assert all(isinstance(i, str) for i in change["deleted"]), (table, change["deleted"])
        seen.extend(change["deleted"])
        twice = {i for i in seen if seen.count(i) > 1}
        assert not twice, f"{table}: ids {sorted(twice)} appear more than once in one answer"


def pull(client: Any, person: Any, last_pulled_at: Any = None, **query: Any) -> dict[str, Any]:
    response = pull_response(client, person, last_pulled_at, **query)
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json", response.mimetype
    body: dict[str, Any] = response.get_json()
    check_shape(body)
    return body


def tables(body: dict[str, Any]) -> set[str]:
    return set(body["changes"])


def change_of(body: dict[str, Any], table: str) -> dict[str, Any]:
    assert table in body["changes"], f"table {table!r} missing from {sorted(body['changes'])}"
    change: dict[str, Any] = body["changes"][table]
    return change


def records(body: dict[str, Any], table: str) -> dict[str, dict[str, Any]]:
    """The records of ``table`` sent as created or updated, by id."""
    change = change_of(body, table)
    return {r["id"]: r for r in [*change["created"], *change["updated"]]}


def created_ids(body: dict[str, Any], table: str) -> set[str]:
    return {r["id"] for r in change_of(body, table)["created"]}


def updated_ids(body: dict[str, Any], table: str) -> set[str]:
    return {r["id"] for r in change_of(body, table)["updated"]}


def deleted_ids(body: dict[str, Any], table: str) -> set[str]:
    return set(change_of(body, table)["deleted"])


def is_replacement(body: dict[str, Any]) -> bool:
    return body.get("experimentalStrategy") == "replacement"


def nothing_in(body: dict[str, Any]) -> dict[str, Any]:
    """Every non-empty list of the answer, by table (empty when the answer is empty)."""
    return {
        f"{table}.{kind}": items
        for table, change in body["changes"].items()
        for kind, items in change.items()
        if items
    }


def assert_gone(body: dict[str, Any], table: str, record_id: str) -> None:
    """The record left the phone: it is named in ``deleted`` (a replacement sync that
    leaves it out is not enough: a pullChanges written as Frontend.md shows it drops
    ``experimentalStrategy``, and such a phone would keep it)."""
    assert record_id not in records(body, table), (table, record_id, records(body, table))
    assert record_id in deleted_ids(body, table), (
        f"{table} {record_id} not named in deleted",
        body["changes"][table],
        body.get("experimentalStrategy"),
    )


def check_columns(table: str, record: dict[str, Any]) -> None:
    """The raw record has exactly the documented columns, of the documented types."""
    columns = dict(COLUMNS[table])
    keys = set(record) - {"id"}
    if table == "shared_checkins":
        assert set(columns) <= keys, (table, sorted(set(columns) - keys))
        assert keys - set(columns) <= set(SHARED_BY_SCOPE), (table, sorted(keys))
        columns.update({k: SHARED_BY_SCOPE[k] for k in keys - set(columns)})
    else:
        assert keys == set(columns), (
            table,
            "missing",
            sorted(set(columns) - keys),
            "extra",
            sorted(keys - set(columns)),
        )
    for name, (kind, nullable) in columns.items():
        value = record[name]
        if value is None:
            assert nullable, (table, name, "is null")
        elif kind == S:
            assert isinstance(value, str), (table, name, value)
        elif kind == B:
            assert isinstance(value, bool), (table, name, value)
        else:
            assert isinstance(value, int | float) and not isinstance(value, bool), (
                table,
                name,
                value,
            )


# -- push ---------------------------------------------------------------------------------


def table_changes(
    created: list[dict[str, Any]] | None = None,
    updated: list[dict[str, Any]] | None = None,
    deleted: list[str] | None = None,
) -> dict[str, Any]:
    return {"created": created or [], "updated": updated or [], "deleted": deleted or []}


def push_response(
    client: Any,
    person: Any,
    changes: Any,
    last_pulled_at: Any,
    key: str | None = None,
    raw: bytes | str | None = None,
) -> Any:
    headers = dict(person.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    query = {} if last_pulled_at is None else {"last_pulled_at": last_pulled_at}
    if raw is not None:
        headers["Content-Type"] = "application/json"
        return client.post(SYNC, query_string=query, data=raw, headers=headers)
    return client.post(SYNC, query_string=query, json=changes, headers=headers)


def push(
    client: Any, person: Any, changes: Any, last_pulled_at: Any, key: str | None = None
) -> dict[str, list[str]]:
    """Push; the answer must be 200. Returns experimentalRejectedIds."""
    response = push_response(client, person, changes, last_pulled_at, key)
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert set(body) == {"experimentalRejectedIds"}, body
    rejected: dict[str, list[str]] = body["experimentalRejectedIds"]
    assert isinstance(rejected, dict), rejected
    assert all(ids for ids in rejected.values()), f"empty rejected lists: {rejected}"
    return rejected


def raw_checkin(record_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """A check-in as WatermelonDB pushes it: every column, plus its own bookkeeping."""
    return {
        "id": record_id or new_id(),
        "mood": 3,
        "needs": "",
        "wins": None,
        "note": None,
        "help_requested": False,
        "place": None,
        "recorded_at": NOW_MS,
        "created_at": NOW_MS,
        "updated_at": NOW_MS,
        "_status": "created",
        "_changed": "",
        **fields,
    }


def raw_appointment(record_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """An appointment as the phone pushes it (reminder offsets and channels: defaults)."""
    return {
        "id": record_id or new_id(),
        "title": "See Dana",
        "kind": "other",
        "starts_at": "2026-10-20T09:00",
        "ends_at": None,
        "timezone": CHICAGO,
        "location": None,
        "notes": None,
        "recurrence": None,
        "status": "scheduled",
        "created_at": NOW_MS,
        "updated_at": NOW_MS,
        "_status": "created",
        "_changed": "",
        **fields,
    }


# -- REST (the server side of the story) ---------------------------------------------------


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    return None if status == 204 else response.get_json()


def rest_checkin(client: Any, person: Any, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = ok(
        client.post(CHECKINS, json={"mood": 3, **fields}, headers=person.headers), 201
    )
    return body


def get_checkin(client: Any, person: Any, checkin_id: str) -> Any:
    return client.get(f"{CHECKINS}/{checkin_id}", headers=person.headers)


def rest_appointment(client: Any, person: Any, **fields: Any) -> dict[str, Any]:
    body = {"title": "See Dana", "starts_at": "2026-10-20T09:00", **fields}
    created: dict[str, Any] = ok(client.post(APPOINTMENTS, json=body, headers=person.headers), 201)
    return created


def get_appointment(client: Any, person: Any, appointment_id: str) -> Any:
    return client.get(f"{APPOINTMENTS}/{appointment_id}", headers=person.headers)


def invite(client: Any, member: Any, scopes: list[str], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = ok(
        client.post(INVITES, json={"scopes": scopes, **fields}, headers=member.headers), 201
    )
    return body


def connect(
    client: Any, member: Any, mentor: Any, scopes: list[str], **fields: Any
) -> dict[str, Any]:
    """The member invites, the mentor redeems: the grant in force between them."""
    code = invite(client, member, scopes, **fields)["code"]
    grant: dict[str, Any] = ok(
        client.post(f"{INVITES}/redeem", json={"code": code}, headers=mentor.headers), 201
    )
    return grant


def revoke(client: Any, person: Any, grant_id: str) -> None:
    ok(client.delete(f"{GRANTS}/{grant_id}", headers=person.headers), 204)


def change_grant(client: Any, member: Any, grant_id: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = ok(
        client.patch(f"{GRANTS}/{grant_id}", json=fields, headers=member.headers)
    )
    return body


def later(clock: Any, accounts: Any, by: timedelta, *people: Any) -> None:
    """Move the clock and sign ``people`` in again (access tokens last 15 minutes)."""
    clock.shift(by)
    for person in people:
        person.access_token = accounts.sign_in(person)["access_token"]


# -- the database, read directly -----------------------------------------------------------


def count(app: Any, model: Any, *where: Any) -> int:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        query = select(func.count()).select_from(model)
        for condition in where:
            query = query.where(condition)
        return db.scalar(query) or 0


def reminder_rows(app: Any, appointment_id: str) -> list[dict[str, Any]]:
    """The reminder outbox rows of one appointment, as plain dicts."""
    from reminders.models import NoticeKind, ReminderDelivery

    rd = ReminderDelivery
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        query = (
            select(rd)
            .where(rd.appointment_id == appointment_id, rd.kind == NoticeKind.REMINDER)
            .order_by(rd.due_at, rd.offset_key, rd.channel)
        )
        return [
            {
                "id": row.id,
                "offset_key": row.offset_key,
                "channel": str(row.channel),
                "due_at": row.due_at,
                "state": str(row.state),
            }
            for row in db.scalars(query)
        ]


def help_alert_rows(app: Any, checkin_id: str) -> list[dict[str, Any]]:
    """Help-alert rows of the outbox about one check-in."""
    from reminders.models import NoticeKind, ReminderDelivery

    rd = ReminderDelivery
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        query = select(rd).where(rd.kind == NoticeKind.HELP_ALERT, rd.subject_id == checkin_id)
        return [
            {"id": row.id, "member_id": row.member_id, "channel": str(row.channel)}
            for row in db.scalars(query.order_by(rd.member_id, rd.channel))
        ]


# -- a phone -------------------------------------------------------------------------------


def apply_pull(
    data: dict[str, dict[str, dict[str, Any]]], body: dict[str, Any], honours_strategy: bool
) -> None:
    """Apply a pull answer to a phone's tables as WatermelonDB's synchronize() does: a
    replacement sync (when the phone's pullChanges hands ``experimentalStrategy`` on)
    keeps only what it lists; deleted ids go; a record the phone lacks is created, one it
    has is merged, ``{...local, ...remote}`` (so a column left out keeps its old value)."""
    for table, change in body["changes"].items():
        held = data.setdefault(table, {})
        if honours_strategy and is_replacement(body):
            listed = {r["id"] for r in [*change["created"], *change["updated"]]}
            for record_id in set(held) - listed:
                del held[record_id]
        for record_id in change["deleted"]:
            held.pop(record_id, None)
        for record in [*change["created"], *change["updated"]]:
            held[record["id"]] = {**held.get(record["id"], {}), **record}


class Phone:
    """One device of ``person``: what it holds and when it last pulled. It applies each
    pull twice, as a phone that honours ``experimentalStrategy`` and as one whose
    pullChanges drops it (Frontend.md's snippet); both must always hold the same."""

    def __init__(self, client: Any, person: Any) -> None:
        self.client = client
        self.person = person
        self.honouring: dict[str, dict[str, dict[str, Any]]] = {}
        self.plain: dict[str, dict[str, dict[str, Any]]] = {}
        self.last_pulled_at: int | None = None

    @property
    def data(self) -> dict[str, dict[str, dict[str, Any]]]:
        assert self.plain == self.honouring, "a phone that ignores the strategy differs"
        return self.honouring

    def sync(self) -> dict[str, Any]:
        body = pull(self.client, self.person, self.last_pulled_at)
        apply_pull(self.honouring, body, honours_strategy=True)
        apply_pull(self.plain, body, honours_strategy=False)
        self.last_pulled_at = body["timestamp"]
        return body

    def ids(self, table: str) -> set[str]:
        return set(self.data.get(table, {}))

    def record(self, table: str, record_id: str) -> dict[str, Any]:
        return self.data[table][record_id]

    def assert_matches_server(self) -> None:
        """What the phone holds is exactly what a first pull would give it now."""
        fresh: dict[str, dict[str, dict[str, Any]]] = {}
        first = pull(self.client, self.person)
        assert {t: c["deleted"] for t, c in first["changes"].items() if c["deleted"]} == {}, (
            "a first pull deletes nothing"
        )
        apply_pull(fresh, first, honours_strategy=True)
        for table in set(fresh) | set(self.data):
            mine, theirs = self.data.get(table, {}), fresh.get(table, {})
            assert set(mine) == set(theirs), (
                table,
                "stale on the phone",
                sorted(set(mine) - set(theirs)),
                "missing on the phone",
                sorted(set(theirs) - set(mine)),
            )
            for record_id, record in theirs.items():
                assert mine[record_id] == record, (table, record_id, mine[record_id], record)
