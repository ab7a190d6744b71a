"""Clients: list with incidents left, add, and a client's page (as `/api/v1/admin/clients`).

On a client's page an administrator adds or removes the email addresses that
identify the client's mail (the seed: a registered address makes an email a
ticket), grants or takes back support incidents, and keeps an internal comment.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.ticket_store import actions
from services.ticket_store.api import views
from services.ticket_store.api.deps import SessionDep
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.domain.text import normalise_email
from services.ticket_store.models import Client, ClientEmail
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web import queries
from services.ticket_store.web.admin_common import (
    actor,
    admin_of,
    lines,
    need_admin,
    notice,
    validated,
)
from services.ticket_store.web.common import MAX_ID, ErrorPage, Refused, Who, act, render_page

router = APIRouter(include_in_schema=False)


def _client(session: Session, client_id: int) -> Client:
    client = session.get(Client, client_id) if client_id <= MAX_ID else None
    if client is None:
        raise Refused(404, f"client {client_id} does not exist")
    return client


def _list_page(
    request: Request,
    session: Session,
    who: Who,
    *,
    q: str = "",
    error: str = "",
    status: int = 200,
    form: dict[str, object] | None = None,
) -> Response:
    admin_of(who)
    return render_page(
        request,
        "admin_clients.html",
        who,
        {
            "clients": queries.clients_with_balance(session, q[:200]),
            "q": q[:200],
            "limit": queries.LIST_LIMIT,
            "form": form or {},
            "error": error,
            "notice": notice(request),
        },
        status,
    )


@router.get("/admin/clients")
def clients(request: Request, session: SessionDep, q: str = "") -> Response:
    """?q= finds clients by name or email address, as the API's search does."""
    who, _admin = need_admin(request, session)
    return _list_page(request, session, who, q=q)


@router.post("/admin/clients")
def add_client(
    request: Request,
    name: Annotated[str, Form()] = "",
    emails: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """The API's ClientIn: at least one address; a password lets the client log in."""
    form: dict[str, object] = {"name": name.strip(), "emails": emails, "comment": comment}

    def work(s: Session, who: Who) -> str:
        admin = admin_of(who)
        body = validated(
            views.ClientIn,
            name=name.strip(),
            emails=lines(emails),
            password=password or None,
            comment=comment,
        )
        uow = UnitOfWork(s, request.app.state.settings.topics, actor(admin))
        client = actions.clients.add_client(uow, body.name, body.emails)
        if body.password or body.comment:
            actions.clients.update_client(
                uow,
                client.id,
                password=body.password,
                comment=body.comment or None,
            )
        return f"/admin/clients/{client.id}?done=client-added"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _list_page(request, s, who, error=message, status=status, form=form)

    return act(request, "staff", csrf_token, work, show)


def _client_page(
    request: Request,
    session: Session,
    who: Who,
    client_id: int,
    *,
    error: str = "",
    status: int = 200,
    form: dict[str, object] | None = None,
) -> Response:
    admin_of(who)
    client = views.client_out(session, _client(session, client_id))
    return render_page(
        request,
        "admin_client.html",
        who,
        {
            "c": client,
            "grants": queries.client_grants(session, client.id),
            "form": form or {"name": client.name, "comment": client.comment},
            "error": error,
            "notice": notice(request),
        },
        status,
    )


@router.get("/admin/clients/{client_id:int}")
def client_page(request: Request, session: SessionDep, client_id: int) -> Response:
    who, _admin = need_admin(request, session)
    return _client_page(request, session, who, client_id)


def _client_error(
    request: Request, client_id: int, form: dict[str, object] | None = None
) -> ErrorPage:
    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _client_page(request, s, who, client_id, error=message, status=status, form=form)

    return show


@router.post("/admin/clients/{client_id:int}")
def edit_client(
    request: Request,
    client_id: int,
    name: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Name and internal comment; a new password (never shown) ends the client's logins."""
    form: dict[str, object] = {"name": name.strip(), "comment": comment}

    def work(s: Session, who: Who) -> str:
        admin = admin_of(who)
        client = _client(s, client_id)
        fields = {**form, **({"password": password} if password else {})}
        body = validated(views.ClientPatch, **fields)
        actions.clients.update_client(
            UnitOfWork(s, request.app.state.settings.topics, actor(admin)),
            client.id,
            **body.model_dump(exclude_unset=True),
        )
        return f"/admin/clients/{client.id}?done=client-saved"

    return act(request, "staff", csrf_token, work, _client_error(request, client_id, form))


@router.post("/admin/clients/{client_id:int}/emails")
def add_email(
    request: Request,
    client_id: int,
    email: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Mail from this address now becomes this client's ticket."""

    def work(s: Session, who: Who) -> str:
        admin = admin_of(who)
        client = _client(s, client_id)
        body = validated(views.EmailIn, email=email.strip())
        actions.clients.add_client_email(
            UnitOfWork(s, request.app.state.settings.topics, actor(admin)), client, body.email
        )
        return f"/admin/clients/{client.id}?done=email-added"

    return act(request, "staff", csrf_token, work, _client_error(request, client_id))


@router.post("/admin/clients/{client_id:int}/emails/remove")
def remove_email(
    request: Request,
    client_id: int,
    email: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Only an address of this client, as in the API; mail from it then goes to Incoming."""

    def work(s: Session, who: Who) -> str:
        admin = admin_of(who)
        client = _client(s, client_id)
        address = normalise_email(email)
        entry = s.scalar(
            select(ClientEmail).where(
                ClientEmail.email == address, ClientEmail.client_id == client.id
            )
        )
        if entry is None:
            raise NotFound(f"{address} as an email of client {client.id}")
        uow = UnitOfWork(s, request.app.state.settings.topics, actor(admin))
        actions.clients.remove_client_email(uow, address)
        uow.audit("client.email.remove", "client", client.id, email=address)
        return f"/admin/clients/{client.id}?done=email-removed"

    return act(request, "staff", csrf_token, work, _client_error(request, client_id))


@router.post("/admin/clients/{client_id:int}/incidents")
def grant_incidents(
    request: Request,
    client_id: int,
    amount: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Grant (positive) or take back (negative) support incidents, with a reason."""

    def work(s: Session, who: Who) -> str:
        admin = admin_of(who)
        client = _client(s, client_id)
        fields: dict[str, object] = {"amount": amount.strip()}
        if reason.strip():
            fields["reason"] = reason.strip()
        body = validated(views.IncidentsIn, **fields)
        if body.amount == 0:
            raise ValueError("amount must not be zero")
        actions.clients.grant_incidents(
            UnitOfWork(s, request.app.state.settings.topics, actor(admin)),
            client.id,
            body.amount,
            reason=body.reason,
        )
        return f"/admin/clients/{client.id}?done=incidents"

    return act(request, "staff", csrf_token, work, _client_error(request, client_id))
