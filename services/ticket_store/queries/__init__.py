"""Read-only questions about the support center, one module per subject, for every
adapter (API, web, CLI) and for the actions.

May import: the standard library, SQLAlchemy, the store's models and `domain`.
Never: `actions`, fastapi, starlette, jinja2, or the adapters. Nothing here
changes a row, emits an event or writes to the audit log.
"""

from services.ticket_store.queries import clients, gateways, ratings, replies, staff, tickets

__all__ = ["clients", "gateways", "ratings", "replies", "staff", "tickets"]
