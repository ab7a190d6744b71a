"""Mail gateways: list, add in the seed's two steps, edit, delete (as `/api/v1/admin/gateways`).

The seed: "Integrations > Mail gateways > Add: Step 1. Select a gateway type:
external or local. Step 2. Gateway parameters." As in the API, an external
gateway reads an IMAP or POP3 server and a local one reads a Maildir on this
host. The password is encrypted before it is stored and is never put into a
page, not even as an input's value: an empty password field keeps the stored one.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from kernel.crypto import encrypt
from services.ticket_store import actions, presenters
from services.ticket_store.models import Gateway, Staff
from services.ticket_store.queries.directory import all_departments, all_gateways, names
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web.admin_forms import ConfirmForm, GatewayForm, NewGatewayForm, found
from services.ticket_store.web.common import Pages, View

pages = Pages("admin")

TYPES = ("external", "local")
# What the add form starts with (the API's defaults).
DEFAULTS: dict[str, object] = {
    "protocol": "imap",
    "security": "tls",
    "verify_tls": True,
    "folder": "INBOX",
    "poll_interval_s": 300,
    "after_fetch": "mark-read",
    "enabled": True,
    "extra_addresses": "",
}


@pages.page("/admin/gateways")
def gateways_page(view: View) -> Response:
    return view.render(
        "admin_gateways.html",
        gateways=[presenters.gateway_out(g) for g in all_gateways(view.session)],
        dep_names=names(view.session)[0],
    )


@pages.page("/admin/gateways/new")
def new_gateway_page(view: View) -> Response:
    """Step 1 (no ?type= chosen yet) or step 2 (?type=external|local: its parameters)."""
    kind = (view.form or {}).get("type") or view.query("type")
    return view.render(
        "admin_gateway_new.html",
        kind=kind if kind in TYPES else "",
        departments=all_departments(view.session),
        form=view.form if view.form is not None else DEFAULTS,
        gw=None,
    )


@pages.action("/admin/gateways", NewGatewayForm, new_gateway_page)
def add_gateway(uow: UnitOfWork, admin: Staff, form: NewGatewayForm, request: Request) -> str:
    """Step 2's post: the API's rules and refusals, the password encrypted."""
    password = encrypt(request.app.state.settings, form.password)
    gw = actions.gateways.add_gateway(uow, password_encrypted=password, **form.gateway())
    return f"/admin/gateways/{gw.id}?done=gateway-added"


@pages.page("/admin/gateways/{gateway_id}")
def gateway_page(view: View, gateway_id: str) -> Response:
    """A gateway's settings (never its password), and the form to change them."""
    gw = presenters.gateway_out(found(view.session, Gateway, gateway_id, "gateway"))
    current = gw.model_dump(exclude={"has_password"})
    form = view.form or current | {"extra_addresses": "\n".join(gw.extra_addresses)}
    departments = all_departments(view.session)
    return view.render(
        "admin_gateway.html", gw=gw, kind=gw.type, departments=departments, form=form
    )


@pages.action("/admin/gateways/{gateway_id}", GatewayForm, gateway_page)
def edit_gateway(
    uow: UnitOfWork, admin: Staff, form: GatewayForm, gateway_id: str, request: Request
) -> str:
    """Type and protocol stay as added (not editable in the API either); a new name renames
    it (fetchers key their state by the gateway's id, not its name)."""
    gw = found(uow.session, Gateway, gateway_id, "gateway")
    changes = form.changes(gw)
    if "password" in changes:
        changes["password_encrypted"] = encrypt(request.app.state.settings, changes.pop("password"))
    actions.gateways.edit_gateway(uow, gw.name, **changes)
    return f"/admin/gateways/{gw.id}?done=gateway-saved"


@pages.page("/admin/gateways/{gateway_id}/delete")
def delete_page(view: View, gateway_id: str) -> Response:
    """Are you sure? The gateway is deleted only from this page's 'Yes, delete'."""
    gw = found(view.session, Gateway, gateway_id, "gateway")
    return view.render("admin_gateway_delete.html", gw=gw)


@pages.action("/admin/gateways/{gateway_id}/delete", ConfirmForm, delete_page)
def delete_gateway(uow: UnitOfWork, admin: Staff, form: ConfirmForm, gateway_id: str) -> str:
    """Fetchers then stop polling it (a tombstone on directory.gateways)."""
    gw = found(uow.session, Gateway, gateway_id, "gateway")
    if form.confirm != "yes":
        raise ValueError("Confirm the deletion with the button below.")
    actions.gateways.remove_gateway(uow, gw.name)
    return "/admin/gateways?done=gateway-deleted"
