"""Clients: the address their web tickets are answered at."""

from __future__ import annotations

from services.ticket_store.models import Client


def client_primary_email(client: Client) -> str:
    """The first address registered, or "" for a client without one."""
    return min((e.id, e.email) for e in client.emails)[1] if client.emails else ""
