"""The API tests' seed world (Technical and Sales, John, Gary, Ann, Alice, Bob), on SQLite only,
driven through the web pages with a browser-like TestClient (cookies, form posts)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.ticket_store.models import OutboxEvent, Ticket
from tests.integration.api.conftest import PASSWORD, World, mail_ticket, world

__all__ = ["PASSWORD", "World", "csrf_of", "log_in", "mail_ticket", "messages", "outbound", "world"]

EMAILS = {
    "john": ("staff", "john@company.net"),
    "gary": ("staff", "gary@company.net"),
    "ann": ("staff", "ann@company.net"),
    "alice": ("client", "alice@example.org"),
    "bob": ("client", "bob@example.org"),
}


@pytest.fixture
def database_url(sqlite_database_url: str) -> str:
    """The web suite runs on SQLite: the pages add no SQL of their own worth a PostgreSQL run."""
    return sqlite_database_url


def csrf_of(html: str, field: str = "csrf_token") -> str:
    found = re.search(rf'name="{field}" value="([^"]*)"', html)
    assert found, f"no {field} in the page"
    return found.group(1)


def log_in(world: World, who: str) -> TestClient:
    """A fresh browser for `who` (its own cookie jar), logged in through the login form."""
    role, email = EMAILS[who]
    browser = TestClient(world.app.app, follow_redirects=False)
    page = browser.get("/login")
    assert page.status_code == 200
    r = browser.post(
        "/login",
        data={
            "email": email,
            "password": PASSWORD,
            "role": role,
            "login_token": csrf_of(page.text, "login_token"),
        },
    )
    assert r.status_code == 303, r.text
    assert "supportdesk_session" in browser.cookies
    return browser


def outbound(world: World) -> list[OutboxEvent]:
    """Outbound emails waiting in the outbox (what the mailer will send)."""
    with world.db.transaction() as s:
        topic = world.settings.topics.outbound
        return list(s.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic)))


def messages(world: World, number: int) -> list[tuple[str, str]]:
    """(direction, text) of a ticket's messages, straight from the database."""
    with world.db.transaction() as s:
        ticket = s.get(Ticket, number)
        assert ticket is not None
        return [(m.direction, m.text) for m in ticket.messages]
