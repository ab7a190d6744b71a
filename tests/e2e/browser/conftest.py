"""The seed world of the API and web tests (Technical and Sales, John, Gary, Ann, Alice,
Bob) on SQLite, served over HTTP by uvicorn for a real Chromium (tests/fixtures/browser).

`Desk` is one person's browser tab: every page it shows is checked with axe-core
(`assert_accessible`) before the test looks at it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from schemas.events import IncomingEmail, MailContent
from services.ticket_store import actions, auth
from services.ticket_store.http.sessions import SESSION_COOKIE
from services.ticket_store.models import Client, Staff
from tests.fixtures.browser import assert_accessible, running_chromium, serve
from tests.integration.api.conftest import PASSWORD, World, world

__all__ = ["PASSWORD", "Desk", "World", "chromium", "desk", "incoming_email", "live_store", "world"]

EMAILS = {
    "john": ("staff", "john@company.net"),
    "gary": ("staff", "gary@company.net"),
    "ann": ("staff", "ann@company.net"),
    "alice": ("client", "alice@example.org"),
    "bob": ("client", "bob@example.org"),
}


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    """One browser for this package, closed after its last test: while Playwright's sync API
    is open, asyncio.run() fails in the main thread, so later tests must not see it."""
    with running_chromium() as browser:
        yield browser


@pytest.fixture
def database_url(sqlite_database_url: str) -> str:
    """SQLite, as the web suite: the pages add no SQL of their own worth a PostgreSQL run."""
    return sqlite_database_url


@pytest.fixture
def live_store(world: World) -> Iterator[str]:
    """The world's app (JSON API and pages) over real HTTP; yields its base URL."""
    with serve(world.app.app) as url:
        yield url


@dataclass
class Desk:
    """A browser tab on the live store; `checked` lists the pages axe-core passed."""

    page: Any
    base: str
    checked: list[str] = field(default_factory=list)

    def check(self) -> Any:
        """axe-core on what is shown now (every page a test visits goes through here).
        A mail's own HTML (sanitised, shown as sent) is the sender's, not ours to fix."""
        self.page.wait_for_load_state("load")
        assert_accessible(self.page, skip=(".body.html",))
        self.checked.append(self.page.url)
        return self.page

    def goto(self, path: str, status: int = 200) -> Any:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == status, (
            path,
            response and response.status,
        )
        return self.check()

    def click(self, selector: str, **kw: Any) -> Any:
        """Click something that loads a page (a link or a form's button), then check it."""
        with self.page.expect_navigation():
            self.page.locator(selector, **kw).click()
        return self.check()

    def sign_in(self, world: World, who: str) -> None:
        """A session made in the database and set as the cookie: logged in without the form
        (argon2 costs a second here; the login form has its own tests)."""
        role, _email = EMAILS[who]
        model = Staff if role == "staff" else Client
        with world.db.unit_of_work() as uow:
            person = uow.session.get(model, world.ids[who])
            secret, _row = auth.issue(uow.session, **{role: person})
        cookie = {"name": SESSION_COOKIE, "value": secret, "url": self.base, "httpOnly": True}
        self.page.context.add_cookies([cookie])

    def log_in(self, who: str) -> Any:
        """Through the login form, as a person would (both pages checked)."""
        role, email = EMAILS[who]
        self.goto(f"/login?role={role}")
        self.page.get_by_label("staff" if role == "staff" else "a client").check()
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(PASSWORD)
        return self.click("form[action='/login'] button[type=submit]")


@pytest.fixture
def desk(open_page: Callable[..., Any], live_store: str) -> Callable[..., Desk]:
    """desk(bypass_csp=False) -> a fresh tab (own cookies) on the live store."""

    def make(*, bypass_csp: bool = False) -> Desk:
        return Desk(open_page(bypass_csp=bypass_csp), live_store)

    return make


def incoming_email(
    world: World, email_id: str, department_id: int, sender: str, subject: str, html: str = ""
) -> int:
    """An unknown sender's mail in the Incoming emails section, as the router leaves it."""
    event = IncomingEmail(
        email_id=email_id,
        gateway_id="gw",
        department_id=department_id,
        content=MailContent(
            from_address=sender,
            from_name="Carol Newcomer",
            subject=subject,
            message_id=f"<{email_id}@newcomer.example>",
            text="" if html else "Do you sell domains?",
            html=html,
        ),
    )
    with world.db.unit_of_work() as uow:
        row = actions.mail_commands.record_incoming(uow, event)
        assert row is not None
        uow.session.flush()
        return row.id
