"""``/api/docs`` works on a machine without internet: Swagger UI's files are served by the
app itself, nothing on the page names another host, and a real Chromium that can reach no
other host renders the operations.

The app here needs no database (the docs page and its assets read none), so it runs once,
on a SQLite file, rather than once per backend.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from api import create_app
from tests.fixtures.backends import TEST_CONFIG

DOCS = "/api/docs"
ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+[^\s"'<>()]*""")
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""")
EXPECTED_TYPES = {".css": "text/css", ".js": "text/javascript", ".png": "image/png"}
CHROMIUM_TIMEOUT = 120


@pytest.fixture(scope="module")
def docs_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("docs")
    app = create_app(
        {
            **TEST_CONFIG,
            "DATABASE_URL": f"sqlite:///{folder / 'docs.sqlite3'}",
            "INSTANCE_PATH": str(folder / "instance"),
        }
    )
    yield app
    app.extensions["homeward.db"].engine.dispose()


@pytest.fixture
def docs_client(docs_app: Flask) -> FlaskClient:
    return docs_app.test_client()


class _References(HTMLParser):
    """Every URL an element of the page names (src, href, and the like)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href", "action", "data", "poster", "srcset"} and value:
                self.urls.append((tag, value))


def _outside(url: str, own_host: str) -> bool:
    """A URL naming a host other than the app's own."""
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob"}:
        return False
    return bool(parts.netloc) and parts.netloc != own_host


def test_docs_page_and_every_asset_it_loads_come_from_the_app(docs_client: FlaskClient) -> None:
    page = docs_client.get(DOCS)
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    own_host = "localhost"  # the test client's host

    references = _References()
    references.feed(html)
    assert references.urls, html
    # No element, and nothing in the inline script, names another host.
    for tag, url in references.urls:
        assert not _outside(url, own_host), (tag, url)
    for url in ABSOLUTE_URL.findall(html):
        assert not _outside(url, own_host), url
    # The validator badge would call validator.swagger.io: switched off.
    assert '"validatorUrl": null' in html

    loaded = {urlsplit(urljoin(f"http://{own_host}{DOCS}", url)).path for _, url in references.urls}
    assert {p.rsplit("/", 1)[-1] for p in loaded} >= {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
    }
    for path in sorted(loaded):
        asset = docs_client.get(path)
        assert asset.status_code == 200, path
        assert asset.mimetype == EXPECTED_TYPES[Path(path).suffix], (path, asset.mimetype)
        assert len(asset.data) > 1000, path
        if path.endswith(".css"):
            for url in CSS_URL.findall(asset.get_data(as_text=True)):
                assert not _outside(url, own_host), (path, url)

    # The spec the page loads is the app's own, relative.
    assert 'url: "/api/openapi.json"' in html
    assert docs_client.get("/api/openapi.json").status_code == 200


def test_only_swagger_uis_own_files_are_served(docs_client: FlaskClient) -> None:
    served = docs_client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert served.status_code == 200 and served.mimetype == "text/javascript"
    assert served.headers["Cache-Control"] == "public, max-age=86400"
    # Its sample pages and anything outside its folder are not.
    for name in ("index.html", "swagger-initializer.js.bak", "..%2Fpyproject.toml", "nope.js"):
        assert docs_client.get(f"/api/docs/assets/{name}").status_code == 404, name
    assert docs_client.get("/api/docs/assets/../../pyproject.toml").status_code == 404


@pytest.fixture
def docs_url(docs_app: Flask) -> Iterator[str]:
    """The app over real HTTP on an ephemeral port."""
    server = make_server("127.0.0.1", 0, docs_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="docs-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{DOCS}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(
            "`chromium` is not on PATH. The docs rendering test needs it: "
            "`apt-get install -y chromium` (Debian), as .ci/run does."
        )
    return path


def _run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        # As on a machine without internet: every host but the app's own is unresolvable.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--virtual-time-budget=5000",
        *args,
    ]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT, check=False
    )
    assert completed.returncode == 0, (completed.returncode, completed.stderr[-3000:])
    return completed


def test_chromium_without_internet_renders_the_operations(
    docs_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dom = _run_chromium(tmp_path, "--dump-dom", docs_url).stdout

    # Swagger UI rendered the document: operation blocks, with the contract's paths.
    assert dom.count('class="opblock ') >= 10, dom[:3000]
    assert "/api/v1/auth/token" in dom
    assert "/api/v1/checkins" in dom
    assert "Homeward API" in dom
    assert "Failed to load API definition" not in dom

    screenshot = tmp_path / "api-docs.png"
    _run_chromium(tmp_path, f"--screenshot={screenshot}", "--window-size=1280,900", docs_url)
    assert screenshot.exists()
    png = screenshot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    # A blank page compresses to a few kilobytes; a rendered one is far larger.
    assert len(png) > 30_000, len(png)
    with capsys.disabled():
        print(f"\nscreenshot of {docs_url} in Chromium: {screenshot}")
