"""/asyncapi.json: the contract of tickets.events for downstream consumers.

Generated from the event models with this installation's topic name (the
repository's schemas/asyncapi.json is the same document with the default name),
once per process: the models do not change while it runs. The broker address
stays the default placeholder: the page is public, the broker is not.
"""

from __future__ import annotations

import json

from fastapi import FastAPI, Response

from schemas import asyncapi


def mount_asyncapi(app: FastAPI) -> None:
    body = json.dumps(asyncapi.document(app.state.settings.topics), indent=2)

    @app.get("/asyncapi.json", include_in_schema=False)
    def asyncapi_document() -> Response:
        return Response(
            body, media_type="application/json", headers={"X-Content-Type-Options": "nosniff"}
        )
