"""The pages in a real browser (issue 16): Debian's Chromium (the ``chromium`` package, which
.ci/run installs when it is missing), driven by Playwright pointed at that executable, never
a browser Playwright downloads. On a phone-sized window (390x844) a mentor signs in, redeems
a member's code and reads the people they support; the member signs in in another browser,
ends the grant from her page, and the mentor's next page load shows nothing of her.

Every page visited is saved as a screenshot under ``test-output/screenshots/`` and checked
by axe-core (npm, pinned by ``tests/web/browser/package-lock.json``, installed with ``npm ci``
the first time and whenever the lock changes): no serious or critical violation, and
nothing wider than the window. The pages send a strict CSP (no script at all), so axe runs
in a second context that bypasses CSP, on the very HTML the user's browser was shown.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from werkzeug.serving import make_server

from tests.fixtures.people import Person

# The browser keeps cookies by the real clock: member and mentor register at the real time.
pytestmark = pytest.mark.real_clock

ROOT = Path(__file__).resolve().parents[2]
BROWSER_PACKAGES = Path(__file__).parent / "browser"
SCREENSHOTS = ROOT / "test-output" / "screenshots"
VIEWPORT = {"width": 390, "height": 844}
NPM_TIMEOUT = 300
# Milliseconds, for one Playwright action or navigation; a page here answers in a few.
ACTION_TIMEOUT = 15_000
BLOCKING = {"serious", "critical"}


def _required(program: str, why: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"`{program}` is not on PATH. {why}")
    return path


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    if found is None:
        pytest.fail(
            "`chromium` is not on PATH. The browser tests drive Debian's Chromium: "
            "`apt-get install -y chromium`, as .ci/run does (Playwright's own download is "
            "never used)."
        )
    return found


@functools.cache
def _axe_source() -> str:
    """axe.min.js, with the npm packages installed as package-lock.json pins them.

    Cached, so npm runs at most once a session; a missing npm or a failed install fails
    the test rather than skipping it."""
    lock = BROWSER_PACKAGES / "package-lock.json"
    # npm writes this copy of the lock when it installs: older than the lock, or missing,
    # means node_modules is stale or was never installed.
    installed = BROWSER_PACKAGES / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        npm = _required(
            "npm", "The browser tests install axe-core from npm (`apt-get install npm`)."
        )
        completed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=BROWSER_PACKAGES,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
        )
        if completed.returncode != 0:
            pytest.fail(
                f"npm ci failed in {BROWSER_PACKAGES} ({completed.returncode}):\n"
                f"{completed.stdout}\n{completed.stderr}"
            )
    return (BROWSER_PACKAGES / "node_modules" / "axe-core" / "axe.min.js").read_text()


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="module")
def chromium(playwright_driver: Playwright) -> Iterator[Browser]:
    browser = playwright_driver.chromium.launch(
        executable_path=_chromium(),
        headless=True,
        # As root (CI) Chromium refuses to start with its sandbox.
        args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        timeout=60_000,
    )
    yield browser
    browser.close()


@pytest.fixture
def server_url(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on an ephemeral port, on this test's database."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class Phone:
    """One browser on a phone-sized window: its own cookies, its pages checked as visited."""

    def __init__(
        self, chromium: Browser, base: str, name: str, backend: str, axe: Any, visited: list[str]
    ) -> None:
        self.context: BrowserContext = chromium.new_context(
            viewport=VIEWPORT, locale="en-US", base_url=base
        )
        self.context.set_default_timeout(ACTION_TIMEOUT)
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("response", self._response)
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.name = name
        self.backend = backend
        self.axe = axe
        self.visited = visited

    def _console(self, message: Any) -> None:
        # A page's own status (a 401, a 404) is logged as an error too: not counted here.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(f"{message.text} ({message.location.get('url')})")

    def _response(self, response: Any) -> None:
        # What the page loads (its style sheet) must load; Chromium asks for /favicon.ico
        # on its own, and the pages name none.
        request = response.request
        if (
            response.status >= 400
            and request.resource_type != "document"
            and not request.url.endswith("/favicon.ico")
        ):
            self.errors.append(f"{response.status} for {request.url}")

    def check(self, label: str) -> str:
        """Screenshot, width, CSP and axe for the page now shown; answers its text."""
        page = self.page
        page.wait_for_load_state("load")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"browser-{self.name}-{label}-{self.backend}.png"
        page.screenshot(path=str(shot), full_page=True)
        self.visited.append(f"{label}: {page.url} -> {shot.relative_to(ROOT)}")
        assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), shot

        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORT["width"], (label, page.url, width)
        # The style sheet loaded under the page's own CSP, and nothing was refused.
        assert self.errors == [], (label, page.url, self.errors)
        assert page.evaluate("getComputedStyle(document.body).margin") == "0px", page.url

        self.axe(page.url, page.content(), label)
        return page.inner_text("body")


@pytest.fixture
def phones(
    chromium: Browser, server_url: str, backend: str, request: pytest.FixtureRequest
) -> Iterator[Any]:
    axe_source = _axe_source()
    # The pages allow no script, so axe runs apart: in a context that bypasses CSP, on the
    # HTML the user's page was shown (a POST's answer too), its style sheet from the server.
    audit_context = chromium.new_context(viewport=VIEWPORT, locale="en-US", bypass_csp=True)
    audit_context.set_default_timeout(ACTION_TIMEOUT)
    audit = audit_context.new_page()
    visited: list[str] = []
    opened: list[Phone] = []

    def axe(url: str, html: str, label: str) -> None:
        def shown(route: Any) -> None:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

        document = url.split("#", 1)[0]

        def this_page(address: str) -> bool:
            return address == document

        audit.route(this_page, shown)
        try:
            audit.goto(document, wait_until="load")
        finally:
            audit.unroute(this_page, shown)
        # axe judges the page as styled (contrast, target sizes): the style sheet applied.
        assert audit.evaluate("getComputedStyle(document.body).margin") == "0px", url
        audit.add_script_tag(content=axe_source)
        results = audit.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        blocking = [v for v in results["violations"] if v["impact"] in BLOCKING]
        # Lesser findings do not fail the test; they are printed with the screenshots.
        visited.extend(
            f"  axe, {v['impact']}: {v['id']} on {len(v['nodes'])} element(s) ({v['help']})"
            for v in results["violations"]
            if v["impact"] not in BLOCKING
        )
        report = [
            {
                "rule": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [
                    {"target": n["target"], "summary": n.get("failureSummary")} for n in v["nodes"]
                ],
            }
            for v in blocking
        ]
        assert not blocking, f"axe on {label} ({url}):\n{json.dumps(report, indent=2)}"

    def open_phone(name: str) -> Phone:
        phone = Phone(chromium, server_url, name, backend, axe, visited)
        opened.append(phone)
        return phone

    try:
        yield open_phone
    finally:
        for phone in opened:
            phone.context.close()
        audit_context.close()
        print(f"\n{request.node.name}: pages checked, screenshots:\n  " + "\n  ".join(visited))


def _follow(page: Page, role: Any, name: str, to: str) -> None:
    """Click a link or a form's button and wait for the page it leads to to load."""
    with page.expect_navigation(wait_until="load"):
        page.get_by_role(role, name=name, exact=True).click()
    assert re.search(to, page.url), (name, page.url, to)


def _sign_in(phone: Phone, area: str, person: Person, expect: str | None = None) -> None:
    phone.page.get_by_label("Username").fill(person.username)
    phone.page.get_by_label("Password").fill(person.password)
    _follow(phone.page, "button", "Sign in", expect or rf"/{area}/$")


def test_a_mentor_reads_a_member_until_she_ends_the_grant_from_her_page(
    phones: Any, client: FlaskClient, member: Person, mentor: Person
) -> None:
    invite = client.post(
        "/api/v1/invites", json={"scopes": ["checkins.mood"]}, headers=member.headers
    )
    assert invite.status_code == 201, invite.get_json()
    code = invite.get_json()["code"]
    name = member.extra["display_name"]

    # The mentor, on their phone.
    mentor_phone = phones("mentor")
    page = mentor_phone.page
    page.goto("/mentor/sign-in")
    assert "Sign in as a mentor" in mentor_phone.check("sign-in")
    page.get_by_label("Username").fill(mentor.username)
    page.get_by_label("Password").fill("not the password")
    _follow(page, "button", "Sign in", r"/mentor/sign-in")
    assert "The username or password is not right." in mentor_phone.check("sign-in-refused")
    _sign_in(mentor_phone, "mentor", mentor)
    assert name not in mentor_phone.check("home-before")

    _follow(page, "link", "Use an invite code", r"/mentor/redeem$")
    mentor_phone.check("redeem")
    page.get_by_label("Invite code").fill("NOPE-NOPE")
    _follow(page, "button", "Use the code", r"/mentor/redeem$")
    assert page.get_by_role("alert").is_visible()
    mentor_phone.check("redeem-refused")
    page.get_by_label("Invite code").fill(code)
    _follow(page, "button", "Use the code", r"/mentor/$")
    assert name in mentor_phone.check("home")
    assert page.get_by_role("heading", name=name).is_visible()

    # The member, in another browser.
    member_phone = phones("member")
    mine = member_phone.page
    mine.goto("/me/sign-in")
    assert "Sign in" in member_phone.check("sign-in")
    # A form whose browser lost its CSRF cookie (an expired form) is an error page.
    member_phone.context.clear_cookies(name="homeward_csrf")
    _sign_in(member_phone, "me", member, expect=r"/me/sign-in")
    assert "This form has expired." in member_phone.check("form-expired")
    mine.goto("/me/sign-in")
    _sign_in(member_phone, "me", member)
    home = member_phone.check("home")
    assert "Mae" in home and "Sees now" in home
    _follow(mine, "link", "Access log", r"/me/access-log$")
    member_phone.check("access-log")
    _follow(mine, "link", "Who can see what", r"/me/$")
    _follow(mine, "button", "Stop sharing with Mae", r"/me/$")
    ended = member_phone.check("home-ended")
    assert "Ended" in ended and "Sees now" not in ended
    assert mine.get_by_role("button", name="Stop sharing with Mae").count() == 0

    # The mentor's next page load shows nothing of her.
    page.reload()
    after = mentor_phone.check("home-after")
    assert name not in after and member.username not in after
    assert name not in page.content()
    assert "Nobody shares anything with you yet." in after
