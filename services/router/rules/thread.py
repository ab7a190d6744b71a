"""Rule 5, thread: a reply to an existing ticket from that ticket's client is added to it.

The ticket is named by a tag in the subject or by In-Reply-To/References
naming a message we sent. A tag alone grants nothing: the sender must be the
ticket's client (tags are keyed hashes, so they cannot be guessed either),
or an address Cc'd on the ticket (`cc.match`: added as from that person).
From anyone else the mail goes to Incoming emails. Unknown tags are ignored.
"""

from __future__ import annotations

from schemas.events import Decision
from schemas.ticket_tag import find_ticket_ids
from services.router.mail import ParsedMail
from services.router.rules import cc
from services.router.rules.base import Action, Context, Verdict

NAME = "thread"


def referenced_tickets(mail: ParsedMail, ctx: Context) -> list[tuple[str, str]]:
    """(ticket id, how it was named) for every ticket the mail points at, tags first."""
    found: list[tuple[str, str]] = []
    for tid in find_ticket_ids(mail.subject):
        if ctx.directory.ticket_client(tid) is not None:
            found.append((tid, "subject tag"))
    for mid in reversed(mail.in_reply_to + mail.references):
        tid = ctx.directory.ticket_for_message(mid)
        if tid:
            found.append((tid, f"reply to <{mid}>"))
    return found


def check(mail: ParsedMail, ctx: Context) -> Verdict | None:
    found = referenced_tickets(mail, ctx)
    if not found:
        return None
    client = ctx.client(mail)
    for tid, how in found:
        owner = ctx.directory.ticket_client(tid)
        if client is not None and owner == client.client_id:
            return Verdict(
                Decision.MESSAGE_ADDED,
                NAME,
                how,
                Action.ADD_MESSAGE,
                ticket_id=tid,
                client_id=client.client_id,
            )
    if (by_cc := cc.match(mail, ctx, found)) is not None:
        return by_cc
    tid, how = found[0]
    return Verdict(
        Decision.INCOMING,
        NAME,
        f"{how} names ticket {tid} but the sender is not its client",
        Action.INCOMING,
        client_id=client.client_id if client else None,
    )
