"""Swagger UI's own files, served by the app so ``/api/docs`` works without internet.

flask-smorest renders ``/api/docs`` from a template that loads ``swagger-ui.css``,
``swagger-ui-bundle.js`` and ``swagger-ui-standalone-preset.js`` from
``OPENAPI_SWAGGER_UI_URL``; that URL points here, at the files of the ``swagger-ui-bundle``
package (Swagger UI, Apache-2.0), instead of at a CDN.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from flask import Blueprint, Response, abort, send_from_directory

ASSETS_URL = "/api/docs/assets/"
ASSETS_DIR = Path(swagger_ui_bundle.swagger_ui_path)
# Only Swagger UI's scripts, styles, icons and their source maps; never its sample pages.
TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".map": "application/json",
}

blp = Blueprint("docs_assets", __name__)


@blp.get(ASSETS_URL + "<string:filename>")
def asset(filename: str) -> Response:
    mimetype = TYPES.get(Path(filename).suffix)
    if mimetype is None or not (ASSETS_DIR / filename).is_file():
        abort(404)
    # The file names carry no version, so clients revalidate (ETag) after a day.
    return send_from_directory(ASSETS_DIR, filename, mimetype=mimetype, max_age=86400)
