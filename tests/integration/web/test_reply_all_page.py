"""The ticket page shows each mail's To and Cc; the reply window offers the client only
or reply-all, and what John picks is what the outbound email carries."""

from __future__ import annotations

from schemas import codec
from schemas.events import MailContent, OpenTicket, OutboundEmail
from services.ticket_store import actions
from tests.integration.web.conftest import World, csrf_of, log_in, outbound


def _cc_ticket(world: World) -> int:
    with world.db.unit_of_work() as uow:
        actions.gateways.add_gateway(
            uow, name="support", type="local", protocol="maildir", maildir_path="/m/support",
            address="support@company.net", department_id=world.technical,
        )  # fmt: skip
        ticket = actions.mail_commands.open_ticket_from_mail(
            uow,
            OpenTicket(
                email_id="cc-1", gateway_id="gw", ticket_id="CCCCCCCCCC",
                client_id=world.ids["alice"], department_id=world.technical,
                content=MailContent(
                    from_address="alice@example.org", subject="Cc'd", text="see Cc",
                    to_addresses=("support@company.net",),
                    cc_addresses=("bob.colleague@example.org", "alice@example.org"),
                ),
            ),
        )  # fmt: skip
        assert ticket is not None
        return ticket.number


def test_reply_window_offers_reply_all_and_sends_what_was_chosen(world: World) -> None:
    number = _cc_ticket(world)
    john = log_in(world, "john")
    page = john.get(f"/tickets/{number}")
    assert page.status_code == 200
    assert 'Cc: <span class="cc">bob.colleague@example.org, alice@example.org</span>' in page.text
    assert 'name="reply_all" value="0" checked' in page.text
    assert "Reply all: the client, Cc bob.colleague@example.org</label>" in page.text
    token = csrf_of(page.text)
    before = len(outbound(world))
    for choice, text in (("1", "To everyone."), ("0", "Only you.")):
        r = john.post(
            f"/tickets/{number}/reply",
            data={"csrf_token": token, "text": text, "reply_all": choice},
        )
        assert r.status_code == 303, r.text
    sent = [codec.loads(OutboundEmail, e.value or b"") for e in outbound(world)[before:]]
    assert [(m.text, m.to, m.cc) for m in sent] == [
        ("To everyone.", "alice@example.org", ("bob.colleague@example.org",)),
        ("Only you.", "alice@example.org", ()),
    ]
    after = john.get(f"/tickets/{number}")
    assert after.text.count('Cc: <span class="cc">bob.colleague@example.org</span>') == 1


def test_a_ticket_without_cc_offers_the_client_only(world: World) -> None:
    page = log_in(world, "john").get(f"/tickets/{world.alice_ticket}")
    assert "Nobody is Cc'd on this ticket." in page.text
    assert 'name="reply_all" value="1"' not in page.text
