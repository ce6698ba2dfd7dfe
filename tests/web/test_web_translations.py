"""Every text of the pages (templates and the labels in api/web) has its Spanish, Russian
and Kazakh translation, with the same placeholders; and a page is in the reader's
language (the account's locale once signed in, Accept-Language before)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from api.web import i18n
from tests.web.helpers import Browser

WEB = Path(i18n.__file__).parent
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def extracted() -> set[str]:
    """Every text the code and templates mark (``_`` and ``L_``), read from the source."""
    found: set[str] = set()
    for _, _, message, _, _ in extract_from_dir(
        str(WEB), METHODS, keywords={"_": None, "L_": None, "ngettext": (1, 2)},
        options_map=OPTIONS,
    ):  # fmt: skip
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_the_extraction_finds_the_texts():
    texts = extracted()
    assert {"Who can see what", "Sign out everywhere", "Read your plan"} <= texts
    assert len(texts) > 40


@pytest.mark.parametrize("locale", ["es", "ru", "kk"])
def test_every_page_text_has_a_translation(locale):
    with (WEB / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    translated = {}
    for message in catalog:
        if not message.id:
            continue
        assert "fuzzy" not in message.flags, (locale, message.id)
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), (locale, key)
        wanted = sorted(PLACEHOLDER.findall(key))
        assert all(sorted(PLACEHOLDER.findall(s)) == wanted for s in strings), (locale, key)
        translated[key] = strings[0]
    missing = extracted() - set(translated)
    assert not missing, f"{locale}: no translation for {sorted(missing)}"


def test_a_russian_member_reads_the_pages_in_russian(app, accounts):
    person = accounts.register(locale="ru")
    browser = Browser(app, **{"Accept-Language": "en"})
    browser.sign_in("me", person)
    page = browser.get("/me/").get_data(as_text=True)
    assert '<html lang="ru">' in page
    assert "Who can see what" not in page
    assert i18n.translations("ru").gettext("Who can see what") in page


def test_before_sign_in_the_browser_language_is_used(app):
    page = Browser(app, **{"Accept-Language": "kk-KZ,ru;q=0.5"}).get("/mentor/sign-in")
    html = page.get_data(as_text=True)
    assert '<html lang="kk">' in html
    assert i18n.translations("kk").gettext("Sign in as a mentor") in html
