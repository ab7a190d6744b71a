"""Clients and their incidents: adding and changing clients, their registered
addresses (published on directory.clients), and grants of support incidents.

May import: `unit_of_work`, `domain`, `auth` (password hashes, revoking logins),
the store's models, `actions.events`.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from schemas.events import IncidentsGranted
from services.ticket_store.actions.events import client_entry, event_id
from services.ticket_store.auth import hash_password, revoke_all
from services.ticket_store.domain.errors import Conflict, NotFound
from services.ticket_store.domain.text import normalise_email
from services.ticket_store.models import Client, ClientEmail, IncidentGrant
from services.ticket_store.unit_of_work import UnitOfWork


def add_client(uow: UnitOfWork, name: str, emails: Iterable[str]) -> Client:
    client = Client(name=name)
    uow.session.add(client)
    uow.flush()
    for email in emails:
        add_client_email(uow, client, email)
    uow.audit("client.add", "client", client.id, name=name)
    return client


def add_client_email(uow: UnitOfWork, client: Client, email: str) -> ClientEmail:
    """Mail from this address goes to the client's tickets from now on (the router's directory)."""
    address = normalise_email(email)
    if "@" not in address:
        raise ValueError(f"not an email address: {email!r}")
    if uow.session.scalar(select(ClientEmail).where(ClientEmail.email == address)):
        raise Conflict(f"{address} is registered to a client already")
    entry = ClientEmail(client_id=client.id, email=address)
    uow.session.add(entry)
    uow.flush()
    uow.emit(uow.topics.clients, address, client_entry(client, address))
    return entry


def remove_client_email(uow: UnitOfWork, email: str) -> None:
    """The address is forgotten (a tombstone on directory.clients); the adapter audits it."""
    address = normalise_email(email)
    entry = uow.session.scalar(select(ClientEmail).where(ClientEmail.email == address))
    if entry is None:
        raise NotFound(address)
    uow.session.delete(entry)
    uow.emit(uow.topics.clients, address, None)


def update_client(
    uow: UnitOfWork,
    client_id: int,
    *,
    name: str | None = None,
    comment: str | None = None,
    password: str | None = None,
) -> Client:
    """A new name is republished for every address, so the router's directory stays right."""
    session = uow.session
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound(f"client {client_id}")
    changed: dict[str, object] = {}
    if name is not None and name != client.name:
        client.name = changed["name"] = name
        for entry in client.emails:
            uow.emit(uow.topics.clients, entry.email, client_entry(client, entry.email))
    if comment is not None:
        client.comment = changed["comment"] = comment
    if password is not None:
        client.password_hash = hash_password(password) if password else ""
        changed["password"] = "changed"
        revoke_all(session, client_id=client.id)
    uow.flush()
    uow.audit("client.update", "client", client.id, **changed)
    return client


def grant_incidents(
    uow: UnitOfWork,
    client_id: int,
    amount: int,
    *,
    reason: str = "",
    grant_id: str | None = None,
) -> IncidentGrant:
    """Incidents into the ledger, and onto billing.incidents for the router; idempotent
    on `grant_id` (a repeat returns the first grant and changes nothing)."""
    session = uow.session
    if session.get(Client, client_id) is None:
        raise NotFound(f"client {client_id}")
    grant_id = grant_id or event_id()
    existing = session.scalar(select(IncidentGrant).where(IncidentGrant.grant_id == grant_id))
    if existing is not None:
        return existing
    grant = IncidentGrant(grant_id=grant_id, client_id=client_id, amount=amount, reason=reason)
    session.add(grant)
    event = IncidentsGranted(grant_id=grant_id, client_id=client_id, amount=amount, reason=reason)
    uow.emit(uow.topics.incidents, str(client_id), event)
    uow.audit("incidents.grant", "client", client_id, amount=amount, reason=reason)
    return grant


def remove_email_of(uow: UnitOfWork, client_id: int, email: str) -> str:
    """One of this client's addresses is removed (never another client's), and audited."""
    address = normalise_email(email)
    entry = uow.session.scalar(
        select(ClientEmail).where(ClientEmail.email == address, ClientEmail.client_id == client_id)
    )
    if entry is None:
        raise NotFound(f"{address} as an email of client {client_id}")
    remove_client_email(uow, address)
    uow.audit("client.email.remove", "client", client_id, email=address)
    return address
