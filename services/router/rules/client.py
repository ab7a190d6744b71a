"""Rule 6, client: the From address against clients' registered emails.

Known -> a new ticket in the gateway's department (through the incidents
rule); unknown -> Incoming emails. Automatic mail that would open a ticket
goes to Incoming as well: it must never open or charge anything.
"""

from __future__ import annotations

from schemas.events import Decision
from schemas.ticket_tag import ticket_id_for_email
from services.router.mail import ParsedMail
from services.router.rules.base import Action, Context, Verdict

NAME = "client"


def check(mail: ParsedMail, ctx: Context) -> Verdict | None:
    if not mail.from_address:
        return Verdict(
            Decision.INCOMING, NAME, mail.from_problem or "no From address", Action.INCOMING
        )
    client = ctx.client(mail)
    if client is None:
        return Verdict(Decision.INCOMING, NAME, "unknown sender", Action.INCOMING)
    if ctx.automatic:
        return Verdict(
            Decision.INCOMING,
            NAME,
            f"automatic mail from client {client.client_id} does not open tickets",
            Action.INCOMING,
            client_id=client.client_id,
        )
    return Verdict(
        Decision.TICKET_OPENED,
        NAME,
        "known client",
        Action.OPEN_TICKET,
        ticket_id=ticket_id_for_email(ctx.raw.email_id, ctx.ticket_key),
        client_id=client.client_id,
    )
