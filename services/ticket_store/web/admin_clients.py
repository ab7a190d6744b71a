"""Clients: list with incidents left, add, and a client's page (as `/api/v1/admin/clients`).

On a client's page an administrator adds or removes the email addresses that
identify the client's mail (the seed: a registered address makes an email a
ticket), grants or takes back support incidents, and keeps an internal comment.
"""

from __future__ import annotations

from fastapi.responses import Response

from services.ticket_store import actions, presenters
from services.ticket_store.models import Client, Staff
from services.ticket_store.queries.directory import client_grants, find_clients
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web.admin_forms import (
    ClientEditForm,
    ClientForm,
    EmailForm,
    IncidentsForm,
    found,
)
from services.ticket_store.web.common import Pages, View

pages = Pages("admin")

LIST_LIMIT = 200


@pages.page("/admin/clients")
def clients_page(view: View) -> Response:
    """?q= finds clients by name or email address, as the API's search does."""
    q = view.query("q")[:200]
    rows = find_clients(view.session, q, limit=LIST_LIMIT)
    return view.render(
        "admin_clients.html",
        clients=[presenters.client_out(view.session, c) for c in rows],
        q=q,
        limit=LIST_LIMIT,
        form=view.form or {},
    )


@pages.page("/admin/clients/{client_id:int}")
def client_page(view: View, client_id: int) -> Response:
    """A client: addresses, incidents and their ledger, the edit form."""
    client = presenters.client_out(view.session, found(view.session, Client, client_id, "client"))
    # The edit form shown again as posted; after the other forms, the current values.
    posted = view.form if view.form and "name" in view.form else None
    return view.render(
        "admin_client.html",
        c=client,
        grants=client_grants(view.session, client.id),
        form=posted or {"name": client.name, "comment": client.comment},
    )


@pages.action("/admin/clients", ClientForm, clients_page)
def add_client(uow: UnitOfWork, admin: Staff, form: ClientForm) -> str:
    """At least one address; a password lets the client log in to the Support center."""
    client = actions.clients.add_client(uow, form.name, form.addresses())
    if form.password or form.comment:
        actions.clients.update_client(
            uow, client.id, password=form.password, comment=form.comment or None
        )
    return f"/admin/clients/{client.id}?done=client-added"


@pages.action("/admin/clients/{client_id:int}", ClientEditForm, client_page)
def edit_client(uow: UnitOfWork, admin: Staff, form: ClientEditForm, client_id: int) -> str:
    """Name and internal comment; a new password (never shown) ends the client's logins."""
    actions.clients.update_client(
        uow, found(uow.session, Client, client_id, "client").id, **form.fields()
    )
    return f"/admin/clients/{client_id}?done=client-saved"


@pages.action("/admin/clients/{client_id:int}/emails", EmailForm, client_page)
def add_email(uow: UnitOfWork, admin: Staff, form: EmailForm, client_id: int) -> str:
    """Mail from this address now becomes this client's ticket."""
    actions.clients.add_client_email(
        uow, found(uow.session, Client, client_id, "client"), form.email
    )
    return f"/admin/clients/{client_id}?done=email-added"


@pages.action("/admin/clients/{client_id:int}/emails/remove", EmailForm, client_page)
def remove_email(uow: UnitOfWork, admin: Staff, form: EmailForm, client_id: int) -> str:
    """Only an address of this client; mail from it then goes to Incoming emails."""
    actions.clients.remove_email_of(
        uow, found(uow.session, Client, client_id, "client").id, form.email
    )
    return f"/admin/clients/{client_id}?done=email-removed"


@pages.action("/admin/clients/{client_id:int}/incidents", IncidentsForm, client_page)
def grant_incidents(uow: UnitOfWork, admin: Staff, form: IncidentsForm, client_id: int) -> str:
    """Grant (positive) or take back (negative) support incidents, with a reason."""
    client = found(uow.session, Client, client_id, "client")
    actions.clients.grant_incidents(uow, client.id, form.amount, reason=form.reason)
    return f"/admin/clients/{client.id}?done=incidents"
