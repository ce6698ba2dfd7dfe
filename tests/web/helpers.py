"""A browser for the page tests: one Flask test client (its own cookie jar), reading the
CSRF token from the form it was shown, as a browser submits it."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


class Browser:
    def __init__(self, app: Flask, **headers: str) -> None:
        self.client = app.test_client()
        self.headers = headers
        self.token: str | None = None

    def get(self, path: str, **kwargs: Any) -> Any:
        response = self.client.get(path, headers=self.headers, **kwargs)
        found = TOKEN.search(response.get_data(as_text=True))
        if found:
            self.token = found.group(1)
        return response

    def post(self, path: str, data: dict[str, str] | None = None, *, token: bool = True) -> Any:
        """Submit a form as the page gave it (with its CSRF token unless ``token=False``)."""
        body = dict(data or {})
        if token:
            assert self.token, "open a page with a form first"
            body["csrf_token"] = self.token
        return self.client.post(path, data=body, headers=self.headers)

    def sign_in(self, area: str, person: Any) -> Any:
        self.get(f"/{area}/sign-in")
        response = self.post(
            f"/{area}/sign-in", {"username": person.username, "password": person.password}
        )
        assert response.status_code == 303, response.get_data(as_text=True)
        return response

    def cookie(self, name: str) -> Any:
        return self.client.get_cookie(name)
