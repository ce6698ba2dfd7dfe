"""The pages' texts in the reader's language: the signed-in account's locale, else the
first of en/es/ru/kk that ``Accept-Language`` names, else English.

Templates use ``{{ _("...") }}`` (Jinja's i18n extension, new style: ``%(name)s``
placeholders). Catalogues are ``translations/<locale>/LC_MESSAGES/messages.po``, read with
Babel as the other catalogues are; ``tests/web/test_web_translations.py`` fails while a
text of a template has no translation.
"""

from __future__ import annotations

from functools import cache

from babel.support import NullTranslations
from flask import Flask, g, has_request_context, request

from api.core.i18n import LOCALES, accepted_locale, package_translations


@cache
def translations(locale: str) -> NullTranslations:
    """The catalog for ``locale``; English is the source language."""
    return package_translations("api.web", locale)


def page_locale() -> str:
    if not has_request_context():
        return "en"
    account = g.get("account")
    locale = getattr(account, "__dict__", {}).get("locale") if account is not None else None
    if isinstance(locale, str) and locale in LOCALES:
        return locale
    return accepted_locale(request.headers.get("Accept-Language", ""))


def gettext(message: str) -> str:
    return translations(page_locale()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(page_locale()).ngettext(singular, plural, n)


def install(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the extension
        gettext, ngettext, newstyle=True
    )
    app.jinja_env.globals["page_locale"] = page_locale
