"""Reply-all in a real browser: the Cc'd mail shows its To and Cc, John picks "Reply all"
in the reply window, and the email carries the Cc list (axe-checked like every page)."""

from __future__ import annotations

from schemas import codec
from schemas.events import MailContent, OpenTicket, OutboundEmail
from services.ticket_store import actions
from tests.e2e.browser.conftest import Desk, World
from tests.integration.web.conftest import outbound


def test_staff_replies_to_everyone(world: World, desk) -> None:
    with world.db.unit_of_work() as uow:
        ticket = actions.mail_commands.open_ticket_from_mail(
            uow,
            OpenTicket(
                email_id="cc-b", gateway_id="gw", ticket_id="DDDDDDDDDD",
                client_id=world.ids["alice"], department_id=world.technical,
                content=MailContent(
                    from_address="alice@example.org", subject="Backup failed", text="see Cc",
                    cc_addresses=("admin@alice.example",),
                ),
            ),
        )  # fmt: skip
        assert ticket is not None
        number = ticket.number
    john: Desk = desk()
    john.sign_in(world, "john")
    page = john.goto(f"/tickets/{number}")
    assert page.locator("ol.thread li.msg-in .recipients .cc").inner_text() == (
        "admin@alice.example"
    )
    page.get_by_label("Reply all: the client, Cc admin@alice.example").check()
    page.locator("form.reply textarea[name=text]").fill("Restored for both of you.")
    before = len(outbound(world))
    page = john.click("form.reply button", has_text="Send reply")
    assert page.locator("p.notice").inner_text() == "Your reply was sent."
    [mail] = [codec.loads(OutboundEmail, e.value or b"") for e in outbound(world)[before:]]
    assert (mail.to, mail.cc) == ("alice@example.org", ("admin@alice.example",))
    assert page.locator("ol.thread li.msg-out .recipients .cc").inner_text() == (
        "admin@alice.example"
    )
