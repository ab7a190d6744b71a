"""Who a reply-all goes to, and who may write into a ticket as a Cc'd person.

A ticket's Cc list is every address its mail named in To or Cc, and every Cc'd
person who wrote in, minus the client's own addresses (the client is the reply's
To, never repeated in Cc) and minus every gateway's addresses, ours and the other
gateways' (Cc'ing a monitored mailbox would bring the reply back as new mail: a loop).
The same list goes on tickets.events (`MessageAdded.cc_addresses`), which is how
the router knows whose replies to thread into the ticket.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from services.ticket_store.domain.text import normalise_email, plain_address
from services.ticket_store.models import ClientEmail, Gateway, Message, Ticket

# A reply-all never fans out wider than this (a mail may carry hundreds of Cc).
MAX_CC = 50


def cc_list(candidates: Iterable[str], exclude: Collection[str]) -> tuple[str, ...]:
    """The candidates normalised, in first-seen order, once each, without `exclude`
    (normalised addresses) and without anything that is not one plain address."""
    out: dict[str, None] = {}
    for raw in candidates:
        address = normalise_email(raw)
        try:
            plain_address(address)
        except ValueError:
            continue
        if address not in exclude and address not in out:
            out[address] = None
    return tuple(out)[:MAX_CC]


def from_cc(msg: Message) -> bool:
    """A message a Cc'd person wrote by mail: in, and neither the client's nor staff's."""
    return (
        msg.direction == "in"
        and msg.author_client_id is None
        and msg.author_staff_id is None
        and bool(msg.from_address)
    )


def named_in(msg: Message) -> list[str]:
    """The addresses one message brings onto the ticket's Cc list (before exclusions)."""
    if msg.direction == "out":
        return list(msg.cc_addresses or ())
    if msg.direction != "in":
        return []
    named = [*(msg.to_addresses or ()), *(msg.cc_addresses or ())]
    return [msg.from_address, *named] if from_cc(msg) else named


def gateway_addresses(session: Session) -> set[str]:
    """Every gateway's address and extra addresses, normalised: never Cc'd."""
    found: set[str] = set()
    for address, extra in session.execute(select(Gateway.address, Gateway.extra_addresses)):
        found.add(normalise_email(address))
        found.update(normalise_email(a) for a in extra or ())
    return found


def client_addresses(session: Session, ticket: Ticket) -> set[str]:
    """The client's registered addresses and the address replies go to."""
    rows = session.scalars(
        select(ClientEmail.email).where(ClientEmail.client_id == ticket.client_id)
    )
    found = {normalise_email(e) for e in rows}
    if ticket.reply_to:
        found.add(normalise_email(ticket.reply_to))
    return found


def excluded(session: Session, ticket: Ticket) -> set[str]:
    return gateway_addresses(session) | client_addresses(session, ticket)


def ticket_cc(session: Session, ticket: Ticket, also: Iterable[str] = ()) -> tuple[str, ...]:
    """The ticket's Cc list: what a reply-all Cc's (`also`: addresses of a message not yet
    in `ticket.messages`)."""
    named = [a for m in ticket.messages for a in named_in(m)]
    return cc_list([*named, *also], excluded(session, ticket))


def clients_addresses(session: Session, client_ids: Collection[int]) -> dict[int, set[str]]:
    """Registered addresses of many clients in one query (the consumer's batches)."""
    found: dict[int, set[str]] = {cid: set() for cid in client_ids}
    rows = session.execute(
        select(ClientEmail.client_id, ClientEmail.email).where(
            ClientEmail.client_id.in_(list(client_ids))
        )
    )
    for cid, email in rows:
        found[cid].add(normalise_email(email))
    return found


def message_cc(ticket: Ticket, msg: Message) -> tuple[str, ...]:
    """What one message adds to the ticket's Cc list, as MessageAdded carries it."""
    named = named_in(msg)
    if not named:
        return ()
    session = object_session(ticket) or object_session(msg)
    if session is None:  # a row never stored: nothing to exclude by, so nothing is offered
        return ()
    return cc_list(named, excluded(session, ticket))
