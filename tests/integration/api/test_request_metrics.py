"""HTTP requests counted by route template and status (the web process's /metrics)."""

from __future__ import annotations

from prometheus_client import REGISTRY

from tests.integration.api.conftest import World

TICKET_ROUTE = "/api/v1/tickets/{number}"


def count(route: str, method: str, status: str) -> float:
    labels = {"route": route, "method": method, "status": status}
    return REGISTRY.get_sample_value("supportdesk_http_requests_total", labels) or 0.0


def test_requests_are_counted_by_route_template_and_status(world: World) -> None:
    before_401 = count(TICKET_ROUTE, "GET", "401")
    before_unmatched = count("(unmatched)", "GET", "404")
    before_seconds = (
        REGISTRY.get_sample_value("supportdesk_http_request_seconds_count", {"route": TICKET_ROUTE})
        or 0.0
    )

    for ticket in (world.alice_ticket, world.bob_ticket, "NOSUCHTICKET"):
        assert world.app.get(f"/api/v1/tickets/{ticket}").status_code == 401
    for path in ("/no/such/page", "/wp-login.php"):
        assert world.app.get(path).status_code == 404

    # Three different ticket paths, one series: the template, not the raw path.
    assert count(TICKET_ROUTE, "GET", "401") == before_401 + 3
    assert count("(unmatched)", "GET", "404") == before_unmatched + 2
    assert count("/no/such/page", "GET", "404") == 0
    seconds = REGISTRY.get_sample_value(
        "supportdesk_http_request_seconds_count", {"route": TICKET_ROUTE}
    )
    assert seconds == before_seconds + 3
