"""Reply-all in the API: the ticket view lists the Cc, and each way to reply (JSON,
multipart form, pre-defined reply) sends to the client only unless reply_all is asked."""

from __future__ import annotations

from sqlalchemy import select

from schemas import codec
from schemas.events import MailContent, OpenTicket, OutboundEmail
from services.ticket_store import actions
from services.ticket_store.models import OutboxEvent
from tests.integration.api.conftest import World


def _sent(world: World) -> list[OutboundEmail]:
    with world.db.transaction() as s:
        rows = s.scalars(select(OutboxEvent).where(OutboxEvent.topic == "mail.outbound"))
        return [codec.loads(OutboundEmail, r.value or b"") for r in rows]


def test_reply_all_by_every_way_to_reply(world: World) -> None:
    with world.db.unit_of_work() as uow:
        actions.gateways.add_gateway(
            uow, name="support", type="local", protocol="maildir", maildir_path="/m/support",
            address="support@company.net", department_id=world.technical,
        )  # fmt: skip
        ticket = actions.mail_commands.open_ticket_from_mail(
            uow,
            OpenTicket(
                email_id="cc-api", gateway_id="gw", ticket_id="EEEEEEEEEE",
                client_id=world.ids["alice"], department_id=world.technical,
                content=MailContent(
                    from_address="alice@example.org", subject="Cc'd", text="see Cc",
                    to_addresses=("support@company.net",), cc_addresses=("cto@alice.example",),
                ),
            ),
        )  # fmt: skip
        assert ticket is not None
        n = ticket.number
        rid = actions.predefined_replies.add_predefined_reply(uow, "Done", "Done.").id
    view = world.get("john", f"/tickets/{n}").json()
    assert view["cc_addresses"] == ["cto@alice.example"]
    assert view["messages"][0]["to_addresses"] == ["support@company.net"]
    assert world.get("alice", f"/client/tickets/{n}").json()["messages"][0]["cc_addresses"] == []
    calls = [
        world.post("john", f"/tickets/{n}/replies", {"text": "one", "reply_all": True}),
        world.post("john", f"/tickets/{n}/replies", {"text": "two"}),
        world.app.post(
            f"/api/v1/tickets/{n}/replies/with-files",
            headers=world.as_("john"),
            data={"text": "three", "reply_all": "true"},
        ),
        world.post("john", f"/tickets/{n}/predefined-replies/{rid}/send?reply_all=true"),
        world.post("john", f"/tickets/{n}/predefined-replies/{rid}/send"),
    ]
    assert [r.status_code for r in calls] == [201] * 5, [r.text for r in calls]
    assert calls[0].json()["cc_addresses"] == ["cto@alice.example"]
    everyone, alice = ("cto@alice.example",), ()
    assert [(m.text, m.to, m.cc) for m in _sent(world)] == [
        ("one", "alice@example.org", everyone),
        ("two", "alice@example.org", alice),
        ("three", "alice@example.org", everyone),
        ("Done.", "alice@example.org", everyone),
        ("Done.", "alice@example.org", alice),
    ]
    refused = world.post("john", f"/tickets/{n}/replies", {"text": "x", "reply_all": "yes"})
    assert refused.status_code == 422  # strict JSON: a boolean, not a word
