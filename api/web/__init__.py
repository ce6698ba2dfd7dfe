"""Server-rendered pages for mentors (/mentor/) and for members without the app (/me/):
Flask's own Jinja2 templates, no script, phone-first, with the API's privacy rules (every
read through the same authorization and access-log functions). docs/web.md."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def init_app(app: Flask, api: Api) -> None:
    """Register the pages, their language and their shared template helpers."""
    from api.web import i18n, session
    from api.web.member_routes import member_pages
    from api.web.mentor_routes import mentor_pages

    i18n.install(app)
    app.jinja_env.globals["csrf_token"] = session.csrf_token
    app.jinja_env.globals["CSRF_FIELD"] = session.CSRF_FIELD
    app.register_blueprint(member_pages)
    app.register_blueprint(mentor_pages)
