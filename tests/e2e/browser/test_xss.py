"""Mail is hostile: a subject and an HTML body that would run script if shown as markup.

Each page that shows them is read back in a real browser: the title and window.name
the payload would set are unchanged. Once with the CSP as served (which alone would
stop inline script), once with the CSP bypassed, so the escaping and the HTML sanitiser
are what is tested, not only the CSP.
"""

from __future__ import annotations

from typing import Any

from schemas.events import MailContent, OpenTicket
from services.ticket_store import actions
from tests.e2e.browser.conftest import Desk, World, incoming_email

SUBJECT = "<img src=x onerror=\"document.title='pwned'\"><script>window.name='pwned'</script>"
BODY = (
    "<p>Hello</p><img src=x onerror=\"window.name='pwned'\">"
    "<script>window.name='pwned'</script><svg onload=\"window.name='pwned'\"></svg>"
    "<a id=trap href=\"javascript:window.name='pwned'\">click me</a>"
    "<iframe srcdoc=\"<script>parent.name='pwned'</script>\"></iframe>"
    "<form action=\"javascript:window.name='pwned'\"><button>go</button></form>"
    "<div style=\"background:url(javascript:window.name='pwned')\">styled</div>"
)


def _hostile_ticket(world: World) -> int:
    with world.db.unit_of_work() as uow:
        ticket = actions.mail_commands.open_ticket_from_mail(
            uow,
            OpenTicket(
                email_id="e-xss",
                gateway_id="gw",
                ticket_id="XXXXXXXXXX",
                client_id=world.ids["alice"],
                department_id=world.technical,
                content=MailContent(
                    from_address="alice@example.org",
                    subject=SUBJECT,
                    message_id="<e-xss@client.example>",
                    text="",
                    html=BODY,
                ),
            ),
        )
        assert ticket is not None
        return ticket.number


def _untouched(desk: Desk, path: str, title: str) -> Any:
    """The page shows the payload as text, and nothing in it ran (nor does a click on it)."""
    page = desk.goto(path)
    trap = page.locator("main a", has_text="click me")
    if trap.count():
        trap.click()
    page.wait_for_timeout(100)  # onerror/onload handlers fire right after load
    assert page.evaluate("window.name") == "", path
    assert page.title() == f"{title} · Supportdesk", path
    hostile = "main script, main iframe, main svg, main form[action^=javascript]"
    assert page.locator(hostile).count() == 0, path
    assert page.locator("main [onerror], main [onload], main [style]").count() == 0, path
    return page


def _csp_controls(desk: Desk, number: int, bypass_csp: bool) -> None:
    """The CSP is served; the payload is live as raw markup; an inline script the page adds
    runs only where the CSP is bypassed (so that run tests escaping and sanitising alone)."""
    response = desk.page.goto(f"{desk.base}/tickets/{number}")
    assert response is not None
    assert "default-src 'none'" in response.headers["content-security-policy"]
    raw = desk.page.context.new_page()
    raw.set_content(BODY)
    raw.wait_for_function("window.name === 'pwned'", timeout=2000)
    raw.close()
    probe = desk.page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__probe = 1'; document.head.appendChild(s);"
        " return window.__probe === 1; }"
    )
    assert probe is bypass_csp


def test_hostile_mail_runs_no_script(world: World, desk) -> None:
    number = _hostile_ticket(world)
    incoming = incoming_email(world, "in-xss", world.technical, "x@evil.example", SUBJECT, BODY)
    for bypass_csp in (False, True):
        john: Desk = desk(bypass_csp=bypass_csp)
        john.sign_in(world, "john")
        _csp_controls(john, number, bypass_csp)
        page = _untouched(john, f"/tickets/{number}", f"#{number} {SUBJECT}")
        assert page.locator("h1").inner_text() == f"#{number} {SUBJECT}"
        assert page.locator("li.msg-in .body.html").inner_text().startswith("Hello")
        page = _untouched(john, "/tickets", "Tickets")
        assert page.get_by_role("link", name=SUBJECT).count() == 1
        page = _untouched(john, f"/incoming/{incoming}", SUBJECT)
        assert page.locator("h1").inner_text() == SUBJECT
        _untouched(john, "/incoming", "Incoming emails")
        alice: Desk = desk(bypass_csp=bypass_csp)
        alice.sign_in(world, "alice")
        page = _untouched(alice, f"/support/tickets/{number}", f"#{number} {SUBJECT}")
        assert page.locator("h1").inner_text() == f"#{number} {SUBJECT}"
        _untouched(alice, "/support", "Support center")
