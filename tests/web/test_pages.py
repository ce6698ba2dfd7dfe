"""The member and mentor pages (issue 16, first part): a web session is a row of the
sessions table, forms carry CSRF tokens, every page is no-store with a strict CSP, and the
pages show only what the API would (ending a grant from the member's page empties the
mentor's page on its next load)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from api.accounts.models import AuthSession
from api.mentors.models import Grant
from tests.fixtures.records import share
from tests.web.helpers import Browser

PAGES_OF_MEMBER = ("/me/", "/me/access-log")
PAGES_OF_MENTOR = ("/mentor/", "/mentor/redeem")


def _sessions(app: Any) -> int:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        return int(db.scalar(select(func.count()).select_from(AuthSession)) or 0)


def _grant(app: Any, grant_id: str) -> Grant:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        found = db.get(Grant, grant_id)
        assert found is not None
        return found


def _assert_page(response: Any) -> str:
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "default-src 'none'" in csp
    html: str = response.get_data(as_text=True)
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert len(response.get_data()) < 30_000
    return html


def test_signing_in_opens_a_session_row_with_a_strict_cookie(app, member):
    browser = Browser(app)
    before = _sessions(app)
    page = browser.get("/me/sign-in")
    _assert_page(page)
    csrf_cookie = browser.cookie("homeward_csrf")
    assert csrf_cookie.http_only and csrf_cookie.same_site == "Strict"

    response = browser.sign_in("me", member)

    assert response.headers["Location"] == "/me/"
    session = browser.cookie("homeward_web")
    assert session.http_only and session.same_site == "Lax"
    assert _sessions(app) == before + 1
    home = browser.get("/me/")
    assert home.status_code == 200
    assert "Who can see what" in _assert_page(home)


def test_a_wrong_password_is_refused_and_opens_nothing(app, member):
    browser = Browser(app)
    before = _sessions(app)
    browser.get("/me/sign-in")
    response = browser.post("/me/sign-in", {"username": member.username, "password": "wrong!!!"})
    assert response.status_code == 401
    assert "The username or password is not right." in _assert_page(response)
    assert browser.cookie("homeward_web") is None
    assert _sessions(app) == before


def test_a_member_cannot_sign_in_on_the_mentor_pages(app, member, mentor):
    browser = Browser(app)
    browser.get("/mentor/sign-in")
    response = browser.post(
        "/mentor/sign-in", {"username": member.username, "password": member.password}
    )
    assert response.status_code == 401 and browser.cookie("homeward_web") is None
    # A mentor signed in on the mentor pages does not reach the member pages.
    browser.sign_in("mentor", mentor)
    assert browser.get("/me/").status_code == 404


def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(
    app, client, member, mentor
):
    grant = share(client, member, mentor, ["checkins.mood"])
    browser = Browser(app)
    browser.sign_in("me", member)
    browser.get("/me/")

    refused = browser.post(f"/me/grants/{grant['id']}/end", token=False)
    assert refused.status_code == 400
    _assert_page(refused)
    assert _grant(app, grant["id"]).revoked_at is None

    other = Browser(app)
    other.get("/me/sign-in")  # another browser's token is not this one's
    forged = browser.client.post(f"/me/grants/{grant['id']}/end", data={"csrf_token": other.token})
    assert forged.status_code == 400
    assert _grant(app, grant["id"]).revoked_at is None

    before = _sessions(app)
    fresh = Browser(app)
    fresh.get("/me/sign-in")
    response = fresh.post(
        "/me/sign-in", {"username": member.username, "password": member.password}, token=False
    )
    assert response.status_code == 400 and _sessions(app) == before


def test_ending_a_grant_on_the_member_page_empties_the_mentor_page(app, client, member, mentor):
    grant = share(client, member, mentor, ["checkins.mood", "plan.progress"])
    mentor_browser = Browser(app)
    mentor_browser.sign_in("mentor", mentor)
    shown = _assert_page(mentor_browser.get("/mentor/"))
    assert "Rosa Díaz" in shown and "How they feel (mood only)" in shown

    member_browser = Browser(app)
    member_browser.sign_in("me", member)
    page = _assert_page(member_browser.get("/me/"))
    assert "Stop sharing with" in page and "Plan progress" in page
    ended = member_browser.post(f"/me/grants/{grant['id']}/end")
    assert ended.status_code == 303 and ended.headers["Location"] == "/me/"

    assert _grant(app, grant["id"]).revoked_at is not None
    after = _assert_page(mentor_browser.get("/mentor/"))
    assert "Rosa Díaz" not in after
    assert "Nobody shares anything with you yet." in after
    assert "Ended" in _assert_page(member_browser.get("/me/"))


def test_a_member_cannot_end_someone_elses_grant(app, client, accounts, member, mentor):
    grant = share(client, member, mentor, ["checkins.mood"])
    other = accounts.register()
    browser = Browser(app)
    browser.sign_in("me", other)
    browser.get("/me/")
    response = browser.post(f"/me/grants/{grant['id']}/end")
    assert response.status_code == 404
    _assert_page(response)
    assert _grant(app, grant["id"]).revoked_at is None


def test_signing_out_everywhere_from_the_api_ends_the_browser_session(app, client, member):
    browser = Browser(app)
    browser.sign_in("me", member)
    assert browser.get("/me/").status_code == 200

    assert client.post("/api/v1/auth/logout-all", headers=member.headers).status_code == 200

    after = browser.get("/me/")
    assert after.status_code == 302
    assert after.headers["Location"].startswith("/me/sign-in")


def test_signing_out_on_the_page_ends_that_session_only(app, client, member):
    browser, phone_still_works = Browser(app), member.headers
    browser.sign_in("me", member)
    browser.get("/me/")
    response = browser.post("/me/sign-out")
    assert response.status_code == 303 and response.headers["Location"] == "/me/sign-in"
    assert browser.get("/me/").status_code == 302
    assert client.get("/api/v1/me", headers=phone_still_works).status_code == 200


def test_sign_out_everywhere_on_the_page_ends_the_phones_too(app, client, mentor):
    browser = Browser(app)
    browser.sign_in("mentor", mentor)
    browser.get("/mentor/")
    assert browser.post("/mentor/sign-out-everywhere").status_code == 303
    assert client.get("/api/v1/me", headers=mentor.headers).status_code == 401


@pytest.mark.parametrize("path", [*PAGES_OF_MEMBER, *PAGES_OF_MENTOR])
def test_every_page_needs_its_sign_in(app, path):
    response = Browser(app).get(path)
    area = path.split("/")[1]
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/{area}/sign-in?next=")


def test_sign_in_never_sends_the_browser_to_another_host(app, member):
    browser = Browser(app)
    browser.get("/me/sign-in?next=//evil.example/x")
    response = browser.post(
        "/me/sign-in?next=//evil.example/x",
        {"username": member.username, "password": member.password},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/me/"


def test_a_mentor_redeems_a_code_on_the_page(app, client, member, mentor):
    invite = client.post(
        "/api/v1/invites", json={"scopes": ["checkins.mood"]}, headers=member.headers
    ).get_json()
    browser = Browser(app)
    browser.sign_in("mentor", mentor)
    browser.get("/mentor/redeem")

    wrong = browser.post("/mentor/redeem", {"code": "NOPE-NOPE"})
    assert wrong.status_code == 404
    assert 'role="alert"' in _assert_page(wrong)

    browser.get("/mentor/redeem")
    used = browser.post("/mentor/redeem", {"code": invite["code"]})
    assert used.status_code == 303 and used.headers["Location"] == "/mentor/"
    assert "Rosa Díaz" in browser.get("/mentor/").get_data(as_text=True)


def test_the_access_log_page_lists_the_mentors_reads(app, client, member, mentor):
    share(client, member, mentor, ["checkins.mood"])
    read = client.get(f"/api/v1/mentees/{member.account_id}/checkins", headers=mentor.headers)
    assert read.status_code == 200
    browser = Browser(app)
    browser.sign_in("me", member)
    page = _assert_page(browser.get("/me/access-log"))
    assert "Read your check-ins" in page and "Mae" in page


def test_every_page_has_labels_and_the_language_of_the_reader(app, member):
    browser = Browser(app, **{"Accept-Language": "es-MX,es;q=0.9"})
    page = _assert_page(browser.get("/me/sign-in"))
    assert '<html lang="es">' in page
    assert '<label for="username">' in page and '<label for="password">' in page


@pytest.mark.parametrize("path", ["/me/nothing-here", "/mentor/grants/x/y", "/mentor/nothing"])
def test_an_address_with_no_page_is_the_404_page(app, path):
    response = Browser(app).get(path)
    assert response.status_code == 404
    assert "There is nothing at this address." in _assert_page(response)
