"""Clients: list with incidents left, add, and a client's page (as `/api/v1/admin/clients`).

On a client's page an administrator adds or removes the email addresses that
identify the client's mail (the seed: a registered address makes an email a
ticket), grants or takes back support incidents, and keeps an internal comment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from services.ticket_store import actions, presenters
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.http.deps import SessionDep
from services.ticket_store.models import Client, Staff
from services.ticket_store.queries.directory import MAX_ID, client_grants, find_clients
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web.admin_forms import (
    ClientEditForm,
    ClientForm,
    EmailForm,
    IncidentsForm,
)
from services.ticket_store.web.common import Who, act, need, render_page
from services.ticket_store.web.forms import Posted, posted

router = APIRouter(include_in_schema=False)

LIST_LIMIT = 200


def _client(session: Session, client_id: int) -> Client:
    client = session.get(Client, client_id) if client_id <= MAX_ID else None
    if client is None:
        raise NotFound(f"client {client_id}")
    return client


def _list_page(
    request: Request,
    session: Session,
    who: Who,
    *,
    q: str = "",
    form: dict | None = None,
    **shown: Any,
) -> Response:
    context = {
        "clients": [
            presenters.client_out(session, c)
            for c in find_clients(session, q[:200], limit=LIST_LIMIT)
        ],
        "q": q[:200],
        "limit": LIST_LIMIT,
        "form": form or {},
    }
    return render_page(request, "admin_clients.html", who, context, **shown)


def _client_page(
    request: Request,
    session: Session,
    who: Who,
    client_id: int,
    *,
    form: dict | None = None,
    **shown: Any,
) -> Response:
    client = presenters.client_out(session, _client(session, client_id))
    context = {
        "c": client,
        "grants": client_grants(session, client.id),
        "form": form or {"name": client.name, "comment": client.comment},
    }
    return render_page(request, "admin_client.html", who, context, **shown)


@router.get("/admin/clients")
def clients(request: Request, session: SessionDep, q: str = "") -> Response:
    """?q= finds clients by name or email address, as the API's search does."""
    return _list_page(request, session, need(request, session, "admin"), q=q)


@router.get("/admin/clients/{client_id:int}")
def client_page(request: Request, session: SessionDep, client_id: int) -> Response:
    return _client_page(request, session, need(request, session, "admin"), client_id)


@router.post("/admin/clients")
def add_client(request: Request, form: Posted[ClientForm] = posted(ClientForm)) -> Response:
    """At least one address; a password lets the client log in to the Support center."""

    def work(uow: UnitOfWork, admin: Staff) -> str:
        body = form.valid()
        client = actions.clients.add_client(uow, body.name, body.addresses())
        if body.password or body.comment:
            actions.clients.update_client(
                uow, client.id, password=body.password, comment=body.comment or None
            )
        return f"/admin/clients/{client.id}?done=client-added"

    return act(request, "admin", form, work, _list_page, form=form.shown())


def _on_client(
    request: Request,
    client_id: int,
    form: Posted[Any],
    change: Callable[[UnitOfWork, Client], str],
) -> Response:
    """A form of the client's page: `change` the client, then back to the page with its notice."""

    def work(uow: UnitOfWork, admin: Staff) -> str:
        client = _client(uow.session, client_id)
        return f"/admin/clients/{client.id}?done={change(uow, client)}"

    return act(request, "admin", form, work, _client_page, client_id=client_id)


@router.post("/admin/clients/{client_id:int}")
def edit_client(
    request: Request, client_id: int, form: Posted[ClientEditForm] = posted(ClientEditForm)
) -> Response:
    """Name and internal comment; a new password (never shown) ends the client's logins."""

    def change(uow: UnitOfWork, client: Client) -> str:
        changes = form.valid().fields()
        if changes["password"] is None:
            del changes["password"]
        actions.clients.update_client(uow, client.id, **changes)
        return "client-saved"

    return _on_client(request, client_id, form, change)


@router.post("/admin/clients/{client_id:int}/emails")
def add_email(
    request: Request, client_id: int, form: Posted[EmailForm] = posted(EmailForm)
) -> Response:
    """Mail from this address now becomes this client's ticket."""

    def change(uow: UnitOfWork, client: Client) -> str:
        actions.clients.add_client_email(uow, client, form.valid().email)
        return "email-added"

    return _on_client(request, client_id, form, change)


@router.post("/admin/clients/{client_id:int}/emails/remove")
def remove_email(
    request: Request, client_id: int, form: Posted[EmailForm] = posted(EmailForm)
) -> Response:
    """Only an address of this client; mail from it then goes to Incoming emails."""

    def change(uow: UnitOfWork, client: Client) -> str:
        actions.clients.remove_email_of(uow, client.id, form.valid().email)
        return "email-removed"

    return _on_client(request, client_id, form, change)


@router.post("/admin/clients/{client_id:int}/incidents")
def grant_incidents(
    request: Request, client_id: int, form: Posted[IncidentsForm] = posted(IncidentsForm)
) -> Response:
    """Grant (positive) or take back (negative) support incidents, with a reason."""

    def change(uow: UnitOfWork, client: Client) -> str:
        body = form.valid()
        actions.clients.grant_incidents(uow, client.id, body.amount, reason=body.reason)
        return "incidents"

    return _on_client(request, client_id, form, change)
