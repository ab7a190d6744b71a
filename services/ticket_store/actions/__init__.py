"""The store's actions, one module per subject: every change to the support center.

Each action takes the unit of work first (`uow`: session, topics, actor), writes
its events only with `uow.emit` and its audit entries only with `uow.audit`, and
refuses with the errors of `domain.errors`. The API, the web pages, the CLI and
the consumer are adapters over these functions.

May import: the standard library, SQLAlchemy, `schemas`, the store's models,
`unit_of_work`, `domain`, `queries` and sibling actions. Never: fastapi,
starlette, jinja2, or the adapters (api, web, consumer).
"""

from services.ticket_store.actions import (
    clients,
    departments,
    events,
    gateways,
    incoming_emails,
    mail_commands,
    messages,
    predefined_replies,
    ratings,
    staff,
    ticket_requests,
    tickets,
)

__all__ = [
    "clients",
    "departments",
    "events",
    "gateways",
    "incoming_emails",
    "mail_commands",
    "messages",
    "predefined_replies",
    "ratings",
    "staff",
    "ticket_requests",
    "tickets",
]
