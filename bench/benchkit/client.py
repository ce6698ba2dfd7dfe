"""The app driven through Flask's test client: checked answers, accounts, shares."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any


@dataclass
class Account:
    """A registered account and the headers that act as it."""

    account_id: str
    headers: dict[str, str]

    @property
    def id(self) -> str:
        return self.account_id


def expect(response: Any, status: int, what: str) -> Any:
    """The response's JSON body (None when it has none); raises unless it has ``status``."""
    if response.status_code != status:
        raise RuntimeError(
            f"{what} answered {response.status_code} (expected {status}): "
            f"{response.get_data(as_text=True)[:600]}"
        )
    return response.get_json(silent=True)


def register(
    client: Any, role: str, username: str | None = None, password: str | None = None, **fields: Any
) -> Account:
    """``POST /api/v1/auth/register`` (a random username and password unless given)."""
    body = expect(
        client.post(
            "/api/v1/auth/register",
            json={
                "username": username or f"bench{uuid.uuid4().hex[:12]}",
                "password": password or "bench " + uuid.uuid4().hex,
                "role": role,
                **fields,
            },
        ),
        201,
        "register",
    )
    return Account(
        body["account"]["id"], {"Authorization": f"Bearer {body['tokens']['access_token']}"}
    )


def share(client: Any, member: Account, mentor: Account) -> str:
    """The member invites with ``checkins.full`` and history shared, the mentor redeems;
    returns the grant's id."""
    code = expect(
        client.post(
            "/api/v1/invites",
            json={"scopes": ["checkins.full"], "share_history": True},
            headers=member.headers,
        ),
        201,
        "invite",
    )["code"]
    grant = expect(
        client.post("/api/v1/invites/redeem", json={"code": code}, headers=mentor.headers),
        201,
        "redeem",
    )
    return str(grant["id"])
