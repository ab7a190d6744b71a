"""Mail gateways: list, add in the seed's two steps, edit, delete (as `/api/v1/admin/gateways`).

The seed: "Integrations > Mail gateways > Add: Step 1. Select a gateway type:
external or local. Step 2. Gateway parameters." As in the API, an external
gateway reads an IMAP or POP3 server and a local one reads a Maildir on this
host. The password is encrypted before it is stored and is never put into a
page, not even as an input's value: an empty password field keeps the stored one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from kernel.crypto import encrypt
from services.ticket_store import actions, presenters
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.http.deps import SessionDep
from services.ticket_store.models import Gateway, Staff
from services.ticket_store.queries.directory import all_departments, all_gateways, names
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web.admin_forms import ConfirmForm, GatewayForm
from services.ticket_store.web.common import Who, act, need, render_page
from services.ticket_store.web.forms import Posted, posted

router = APIRouter(include_in_schema=False)

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


def _gateway(session: Session, gateway_id: str) -> Gateway:
    gw = session.get(Gateway, gateway_id) if len(gateway_id) <= 64 else None
    if gw is None:
        raise NotFound(f"gateway {gateway_id}")
    return gw


@router.get("/admin/gateways")
def gateways(request: Request, session: SessionDep) -> Response:
    who = need(request, session, "admin")
    dep_names, _staff = names(session)
    context = {
        "gateways": [presenters.gateway_out(g) for g in all_gateways(session)],
        "dep_names": dep_names,
    }
    return render_page(request, "admin_gateways.html", who, context)


# ------------------------------------------------------------------ add, in two steps


def _new_page(
    request: Request,
    session: Session,
    who: Who,
    kind: str,
    *,
    form: dict | None = None,
    **shown: Any,
) -> Response:
    """Step 1 (no type chosen yet) or step 2 (the parameters of that type)."""
    context = {
        "kind": kind if kind in TYPES else "",
        "departments": all_departments(session),
        "form": DEFAULTS | (form or {}),
        "gw": None,
    }
    return render_page(request, "admin_gateway_new.html", who, context, **shown)


@router.get("/admin/gateways/new")
def new_gateway(request: Request, session: SessionDep, type: str = "") -> Response:
    """?type=external|local is step 2; without it (or with another value), step 1."""
    return _new_page(request, session, need(request, session, "admin"), type)


@router.post("/admin/gateways")
def add_gateway(request: Request, form: Posted[GatewayForm] = posted(GatewayForm)) -> Response:
    """Step 2's post: the API's rules and refusals, the password encrypted."""

    def work(uow: UnitOfWork, admin: Staff) -> str:
        body = form.valid()
        settings = request.app.state.settings
        gw = actions.gateways.add_gateway(
            uow, password_encrypted=encrypt(settings, body.password), **body.new_gateway()
        )
        return f"/admin/gateways/{gw.id}?done=gateway-added"

    kind = str(form.raw.get("type") or "")
    return act(request, "admin", form, work, _new_page, kind=kind, form=form.shown())


# ------------------------------------------------------------------ edit


def _edit_page(
    request: Request,
    session: Session,
    who: Who,
    gateway_id: str,
    *,
    form: dict | None = None,
    **shown: Any,
) -> Response:
    gw = presenters.gateway_out(_gateway(session, gateway_id))
    shown_form = form or gw.model_dump(exclude={"has_password"}) | {
        "extra_addresses": "\n".join(gw.extra_addresses)
    }
    context = {
        "gw": gw,
        "kind": gw.type,
        "departments": all_departments(session),
        "form": shown_form,
    }
    return render_page(request, "admin_gateway.html", who, context, **shown)


@router.get("/admin/gateways/{gateway_id}")
def gateway(request: Request, session: SessionDep, gateway_id: str) -> Response:
    return _edit_page(request, session, need(request, session, "admin"), gateway_id)


@router.post("/admin/gateways/{gateway_id}")
def edit_gateway(
    request: Request, gateway_id: str, form: Posted[GatewayForm] = posted(GatewayForm)
) -> Response:
    """An empty password keeps the stored one; type and protocol stay as added (not editable
    in the API either); a new name renames it (fetchers key their state by its id)."""

    def work(uow: UnitOfWork, admin: Staff) -> str:
        gw = _gateway(uow.session, gateway_id)
        changes = form.valid(type=gw.type, protocol=gw.protocol).changes(gw.name)
        if "password" in changes:
            changes["password_encrypted"] = encrypt(
                request.app.state.settings, changes.pop("password")
            )
        actions.gateways.edit_gateway(uow, gw.name, **changes)
        return f"/admin/gateways/{gw.id}?done=gateway-saved"

    return act(request, "admin", form, work, _edit_page, gateway_id=gateway_id, form=form.shown())


# ------------------------------------------------------------------ delete, after a confirmation


def _delete_page(
    request: Request, session: Session, who: Who, gateway_id: str, **shown: Any
) -> Response:
    context = {"gw": _gateway(session, gateway_id)}
    return render_page(request, "admin_gateway_delete.html", who, context, **shown)


@router.get("/admin/gateways/{gateway_id}/delete")
def confirm_delete(request: Request, session: SessionDep, gateway_id: str) -> Response:
    return _delete_page(request, session, need(request, session, "admin"), gateway_id)


@router.post("/admin/gateways/{gateway_id}/delete")
def delete_gateway(
    request: Request, gateway_id: str, form: Posted[ConfirmForm] = posted(ConfirmForm)
) -> Response:
    """Only the confirmation form's 'Yes, delete' deletes; fetchers then stop polling it."""

    def work(uow: UnitOfWork, admin: Staff) -> str:
        gw = _gateway(uow.session, gateway_id)
        if form.valid().confirm != "yes":
            raise ValueError("Confirm the deletion with the button below.")
        actions.gateways.remove_gateway(uow, gw.name)
        return "/admin/gateways?done=gateway-deleted"

    return act(request, "admin", form, work, _delete_page, gateway_id=gateway_id)
