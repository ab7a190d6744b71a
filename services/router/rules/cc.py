"""Rule 5's second half: a reply from an address Cc'd on the ticket joins it as that person.

The thread rule asks here when a mail names a ticket (by tag or In-Reply-To /
References) but its sender is not the ticket's client. The ticket's Cc list is
what the store published on tickets.events (`MessageAdded.cc_addresses`: the
To and Cc of the client's mail and of staff's reply-all, gateway and client
addresses left out). A sender on it is added as themselves (`author="cc"`),
never under the client's name; anyone else is not, and the thread rule sends
the mail to Incoming emails. New mail (no ticket named) from a Cc'd address is
not decided here: the client rule treats it like any sender's.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.events import Decision
from services.router.mail import ParsedMail
from services.router.rules.base import Action, Context, Verdict

NAME = "thread"


def match(mail: ParsedMail, ctx: Context, found: Sequence[tuple[str, str]]) -> Verdict | None:
    """The first named ticket whose Cc list holds the sender, as a message from them."""
    sender = mail.from_address
    if not sender:
        return None
    for tid, how in found:
        owner = ctx.directory.ticket_client(tid)
        if owner is not None and sender in ctx.directory.ticket_cc(tid):
            return Verdict(
                Decision.MESSAGE_ADDED,
                NAME,
                f"{how}, from {sender}, Cc'd on the ticket",
                Action.ADD_MESSAGE,
                ticket_id=tid,
                client_id=owner,
                author="cc",
            )
    return None
