"""The mentor's pages for one mentee (issue 16): check-ins shaped by the grant's scopes as
the API shapes them, help requests marked, replies, appointment times, the plan and its
"suggest a step" form, ending a grant; every read is in the member's access log, and a
member who is not the mentor's mentee (or no longer is) is the 404 page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.mentors.models import Grant
from tests.fixtures.records import appointment, checkin, share
from tests.web.helpers import Browser

GOALS = "/api/v1/plan/goals"


def _page(response: Any, status: int = 200) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    html: str = response.get_data(as_text=True)
    assert "<script" not in html and " style=" not in html
    assert len(response.get_data()) < 30_000
    return html


def _mentor_browser(app: Any, mentor: Any) -> Browser:
    browser = Browser(app)
    browser.sign_in("mentor", mentor)
    browser.get("/mentor/")
    return browser


def _grant(app: Any, grant_id: str) -> Grant:
    with app.app_context(), app.extensions["homeward.db"].sessionmaker() as db:
        found = db.get(Grant, grant_id)
        assert found is not None
        return found


def _log(client: Any, member: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/me/access-log?page_size=100", headers=member.headers)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.get_json()["items"]
    return items


def _plan(client: Any, member: Any) -> None:
    body = {"area": "supervision", "title": "Leave my PO", "why": "why-secret"}
    goal = client.post(GOALS, json=body, headers=member.headers)
    assert goal.status_code == 201, goal.get_json()
    step = client.post(
        f"{GOALS}/{goal.get_json()['id']}/steps",
        json={"title": "Step one", "notes": "notes-secret", "bring": ["bring-secret"]},
        headers=member.headers,
    )
    assert step.status_code == 201, step.get_json()


def test_the_mentor_home_links_to_each_mentee_page(app, client, member, mentor):
    share(client, member, mentor, ["checkins.mood"])
    html = _page(_mentor_browser(app, mentor).get("/mentor/"))
    assert f'href="/mentor/mentees/{member.account_id}/"' in html


def test_a_mood_only_grant_shows_the_mood_and_never_the_note_or_wins(app, client, member, mentor):
    share(client, member, mentor, ["checkins.mood"])
    checkin(client, member, mood=2, note="note-secret", wins="wins-secret", place="place-secret")
    browser = _mentor_browser(app, mentor)
    html = _page(browser.get(f"/mentor/mentees/{member.account_id}/"))
    assert "Rosa Díaz" in html and "Mood: 2 of 5" in html
    for secret in ("note-secret", "wins-secret", "place-secret", "Needs:", "work"):
        assert secret not in html
    # No appointments and no plan without their scopes.
    assert "Appointment times" not in html and "Suggest a step" not in html


def test_a_full_grant_shows_the_note_and_marks_help_requests_in_words(
    app, client, clock, member, mentor
):
    share(client, member, mentor, ["checkins.full"])
    checkin(client, member, mood=4, note="quiet day")
    clock.shift(timedelta(minutes=1))
    checkin(client, member, mood=1, note="need a ride", help_requested=True)
    html = _page(_mentor_browser(app, mentor).get(f"/mentor/mentees/{member.account_id}/"))
    assert "quiet day" in html and "need a ride" in html
    assert html.count("Asked for help") == 1
    assert "Needs:" in html and "Work" in html
    # Newest first: the help request was made last.
    assert html.index("need a ride") < html.index("quiet day")


def test_a_needs_grant_shows_the_needs_in_words_and_no_note(app, client, member, mentor):
    share(client, member, mentor, ["checkins.needs"])
    checkin(client, member, mood=3, needs=["housing", "support"], note="note-secret")
    html = _page(_mentor_browser(app, mentor).get(f"/mentor/mentees/{member.account_id}/"))
    assert "Housing" in html and "Someone to talk to" in html
    assert "note-secret" not in html


def test_the_check_ins_are_paged_twenty_at_a_time(app, client, member, mentor):
    share(client, member, mentor, ["checkins.mood"])
    for _ in range(21):
        checkin(client, member, mood=3)
    browser = _mentor_browser(app, mentor)
    first = _page(browser.get(f"/mentor/mentees/{member.account_id}/"))
    assert first.count("Mood: 3 of 5") == 20 and "?page=2" in first
    second = _page(browser.get(f"/mentor/mentees/{member.account_id}/?page=2"))
    assert second.count("Mood: 3 of 5") == 1


def test_a_reply_is_written_and_the_member_sees_it(app, client, member, mentor):
    share(client, member, mentor, ["checkins.mood"])
    made = checkin(client, member, mood=3)
    browser = _mentor_browser(app, mentor)
    _page(browser.get(f"/mentor/mentees/{member.account_id}/"))
    response = browser.post(f"/mentor/checkins/{made['id']}/reply", {"body": "Proud of you"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/mentor/mentees/{member.account_id}/"
    read = client.get(f"/api/v1/checkins/{made['id']}", headers=member.headers).get_json()
    assert "Proud of you" in str(read)
    assert any(e["action"] == "checkins.respond" for e in _log(client, member))


def test_a_bad_or_unsigned_reply_writes_nothing(app, client, member, mentor):
    share(client, member, mentor, ["checkins.mood"])
    made = checkin(client, member, mood=3)
    browser = _mentor_browser(app, mentor)
    _page(browser.get(f"/mentor/mentees/{member.account_id}/"))
    empty = browser.post(f"/mentor/checkins/{made['id']}/reply", {"body": ""})
    assert 'role="alert"' in _page(empty, 422)
    too_long = browser.post(f"/mentor/checkins/{made['id']}/reply", {"body": "x" * 1001})
    _page(too_long, 422)
    unsigned = browser.post(f"/mentor/checkins/{made['id']}/reply", {"body": "Hello"}, token=False)
    _page(unsigned, 400)
    read = client.get(f"/api/v1/checkins/{made['id']}", headers=member.headers).get_json()
    assert "Hello" not in str(read)
    assert not any(e["action"] == "checkins.respond" for e in _log(client, member))


def test_someone_elses_check_in_cannot_be_replied_to(app, client, accounts, member, mentor):
    other = accounts.register()
    share(client, other, mentor, ["checkins.mood"])
    made = checkin(client, member, mood=3)  # the member shares nothing with this mentor
    browser = _mentor_browser(app, mentor)
    for body in ("Hello", ""):
        response = browser.post(f"/mentor/checkins/{made['id']}/reply", {"body": body})
        _page(response, 404)
    read = client.get(f"/api/v1/checkins/{made['id']}", headers=member.headers).get_json()
    assert "Hello" not in str(read)


def test_a_non_mentee_and_an_ended_grant_show_nothing_of_the_member(
    app, client, accounts, member, mentor
):
    other_mentor = accounts.register(role="mentor")
    checkin(client, member, mood=2)
    browser = Browser(app)
    browser.sign_in("mentor", other_mentor)
    html = _page(browser.get(f"/mentor/mentees/{member.account_id}/"), 404)
    assert "Rosa Díaz" not in html and "Mood" not in html

    grant = share(client, member, mentor, ["checkins.mood", "plan.progress"])
    mentor_browser = _mentor_browser(app, mentor)
    assert "Mood: 2 of 5" in _page(mentor_browser.get(f"/mentor/mentees/{member.account_id}/"))
    ended = client.delete(f"/api/v1/grants/{grant['id']}", headers=member.headers)
    assert ended.status_code == 204
    after = _page(mentor_browser.get(f"/mentor/mentees/{member.account_id}/"), 404)
    assert "Rosa Díaz" not in after and "Mood" not in after


def test_appointment_times_show_only_with_their_scope(app, client, accounts, member, mentor):
    appointment(client, member, title="title-secret", notes="notes-secret")
    share(client, member, mentor, ["checkins.mood", "appointments.times"])
    html = _page(_mentor_browser(app, mentor).get(f"/mentor/mentees/{member.account_id}/"))
    assert "Appointment times" in html and "09:00" in html and "America/Chicago" in html
    assert "title-secret" not in html and "notes-secret" not in html
    assert any(e["action"] == "appointments.list" for e in _log(client, member))

    other_mentor = accounts.register(role="mentor")
    share(client, member, other_mentor, ["checkins.mood"])
    other = _page(_mentor_browser(app, other_mentor).get(f"/mentor/mentees/{member.account_id}/"))
    assert "Appointment times" not in other and "09:00" not in other


def test_an_appointments_only_grant_shows_the_times_and_no_check_ins(app, client, member, mentor):
    appointment(client, member)
    checkin(client, member, mood=2)
    share(client, member, mentor, ["appointments.times"])
    html = _page(_mentor_browser(app, mentor).get(f"/mentor/mentees/{member.account_id}/"))
    assert "09:00" in html and "Mood" not in html and "Check-ins" not in html


def test_plan_progress_shows_titles_and_never_why_notes_or_bring(app, client, member, mentor):
    _plan(client, member)
    share(client, member, mentor, ["plan.progress"])
    html = _page(_mentor_browser(app, mentor).get(f"/mentor/mentees/{member.account_id}/"))
    assert "Leave my PO" in html and "Step one" in html and "0 of 1 steps done" in html
    for secret in ("why-secret", "notes-secret", "bring-secret"):
        assert secret not in html
    assert "Suggest a step" in html
    assert any(e["action"] == "plan.read" for e in _log(client, member))


def test_plan_full_shows_the_notes_and_no_plan_scope_shows_no_plan(
    app, client, accounts, member, mentor
):
    _plan(client, member)
    share(client, member, mentor, ["plan.full"])
    html = _page(_mentor_browser(app, mentor).get(f"/mentor/mentees/{member.account_id}/"))
    assert "why-secret" in html and "notes-secret" in html and "bring-secret" in html

    other_mentor = accounts.register(role="mentor")
    share(client, member, other_mentor, ["checkins.mood"])
    other = _page(_mentor_browser(app, other_mentor).get(f"/mentor/mentees/{member.account_id}/"))
    assert "Leave my PO" not in other and "Suggest a step" not in other


def test_suggesting_a_step_makes_a_pending_suggestion(app, client, member, mentor):
    share(client, member, mentor, ["plan.progress"])
    browser = _mentor_browser(app, mentor)
    _page(browser.get(f"/mentor/mentees/{member.account_id}/"))
    bad = browser.post(
        f"/mentor/mentees/{member.account_id}/suggestions", {"title": "", "notes": ""}
    )
    _page(bad, 422)
    response = browser.post(
        f"/mentor/mentees/{member.account_id}/suggestions",
        {"title": "Call the housing office", "notes": "Ask about the list"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/mentor/mentees/{member.account_id}/"
    listed = client.get("/api/v1/plan/suggestions", headers=member.headers).get_json()["items"]
    assert [(s["title"], s["status"]) for s in listed] == [("Call the housing office", "pending")]


def test_a_mentor_without_a_plan_scope_cannot_suggest(app, client, member, mentor):
    share(client, member, mentor, ["checkins.mood"])
    browser = _mentor_browser(app, mentor)
    response = browser.post(f"/mentor/mentees/{member.account_id}/suggestions", {"title": "A step"})
    _page(response, 404)
    listed = client.get("/api/v1/plan/suggestions", headers=member.headers).get_json()["items"]
    assert listed == []


def test_the_mentor_ends_the_grant(app, client, accounts, member, mentor):
    grant = share(client, member, mentor, ["checkins.mood"])
    browser = _mentor_browser(app, mentor)
    _page(browser.get(f"/mentor/mentees/{member.account_id}/"))
    response = browser.post(f"/mentor/grants/{grant['id']}/end")
    assert response.status_code == 303 and response.headers["Location"] == "/mentor/"
    assert _grant(app, grant["id"]).revoked_at is not None
    assert "Rosa Díaz" not in _page(browser.get("/mentor/"))
    _page(browser.get(f"/mentor/mentees/{member.account_id}/"), 404)


def test_a_mentor_cannot_end_someone_elses_grant(app, client, accounts, member, mentor):
    grant = share(client, member, mentor, ["checkins.mood"])
    other_mentor = accounts.register(role="mentor")
    browser = _mentor_browser(app, other_mentor)
    _page(browser.post(f"/mentor/grants/{grant['id']}/end"), 404)
    assert _grant(app, grant["id"]).revoked_at is None


def test_each_mentee_page_read_is_in_the_members_access_log(app, client, member, mentor):
    share(client, member, mentor, ["checkins.mood"])
    made = checkin(client, member, mood=3)
    browser = _mentor_browser(app, mentor)
    before = [e for e in _log(client, member) if e["action"] == "checkins.list"]
    _page(browser.get(f"/mentor/mentees/{member.account_id}/"))
    _page(browser.get(f"/mentor/mentees/{member.account_id}/"))
    reads = [e for e in _log(client, member) if e["action"] == "checkins.list"]
    assert len(reads) == len(before) + 2
    assert all(e["record_ids"] == [made["id"]] for e in reads)
