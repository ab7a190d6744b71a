"""Gateway health for administrators: what each gateway's fetcher last reported, the mail it
took in the last hour and day, the lag behind it, and which went stale."""

from __future__ import annotations

from fastapi.responses import Response

from services.ticket_store.presenters.operations import STALE_AFTER_POLLS, gateway_health_out
from services.ticket_store.queries.gateway_health import gateway_facts
from services.ticket_store.timestamps import utcnow
from services.ticket_store.web.common import Pages, View

pages = Pages("admin")


@pages.page("/admin/gateway-health")
def gateway_health_page(view: View) -> Response:
    """Every gateway's health as of now (the password never appears: fetchers strip it)."""
    now = utcnow()
    rows = [gateway_health_out(f, now) for f in gateway_facts(view.session, now)]
    return view.render(
        "admin_gateway_health.html", rows=rows, now=now, stale_after=STALE_AFTER_POLLS
    )
