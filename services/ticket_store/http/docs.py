"""The API's documentation pages, /docs (Swagger UI) and /redoc (ReDoc), working offline.

Their scripts and styles come from a pinned Python dependency (`fastapi-offline`, MIT,
which ships Swagger UI and ReDoc) and are served from here, never from a CDN; the
pages run no inline script (Swagger UI is started by `docs_static/swagger-init.js`)
and send a CSP that allows this origin only. ReDoc builds its styles at run time
(styled-components), so /redoc alone allows inline styles; never inline scripts.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
OURS = Path(__file__).parent / "docs_static"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
REDOC_HEADERS = HEADERS | {
    "Content-Security-Policy": CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
}

SWAGGER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - API</title>
<link rel="icon" href="/docs/assets/favicon.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init/swagger-init.js"></script></body></html>
"""

REDOC = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - API</title>
<link rel="icon" href="/docs/assets/favicon.png"></head>
<body><redoc spec-url="/openapi.json"></redoc>
<script src="/docs/assets/redoc.standalone.js"></script></body></html>
"""


def mount_docs(app: FastAPI) -> None:
    """/docs and /redoc on `app` (created with docs_url=None, redoc_url=None)."""
    app.mount("/docs/assets", StaticFiles(directory=ASSETS), name="docs-assets")
    app.mount("/docs/init", StaticFiles(directory=OURS), name="docs-init")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(SWAGGER.format(title=app.title), headers=HEADERS)

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return HTMLResponse(REDOC.format(title=app.title), headers=REDOC_HEADERS)
