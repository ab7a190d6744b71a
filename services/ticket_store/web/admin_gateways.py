"""Mail gateways: list, add in the seed's two steps, edit, delete (as `/api/v1/admin/gateways`).

The seed: "Integrations > Mail gateways > Add: Step 1. Select a gateway type:
external or local. Step 2. Gateway parameters." As in the API, an external
gateway reads an IMAP or POP3 server and a local one reads a Maildir on this
host. The password is encrypted before it is stored and is never put into a
page, not even as an input's value: an empty password field keeps the stored one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from kernel.crypto import encrypt
from services.ticket_store import actions
from services.ticket_store.api import views
from services.ticket_store.api.deps import SessionDep
from services.ticket_store.models import Gateway
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web import queries
from services.ticket_store.web.admin_common import (
    actor,
    admin_of,
    checked,
    lines,
    need_admin,
    notice,
    validated,
)
from services.ticket_store.web.common import Refused, Who, act, render_page

router = APIRouter(include_in_schema=False)

TYPES = ("external", "local")
EXTERNAL_PROTOCOLS = ("imap", "pop3")


def _gateway(session: Session, gateway_id: str) -> Gateway:
    gw = session.get(Gateway, gateway_id) if len(gateway_id) <= 64 else None
    if gw is None:
        raise Refused(404, f"gateway {gateway_id} does not exist")
    return gw


def _number(value: str) -> str | None:
    """A number field as typed, for the API model to check; empty means 'not given'."""
    return value.strip() or None


class GatewayForm(BaseModel):
    """The add and edit forms, as typed (an unticked check box is simply absent)."""

    type: str = ""  # step 2 of adding only; a gateway keeps its type
    name: str = ""
    protocol: str = "imap"
    host: str = ""
    port: str = ""
    security: str = "tls"
    verify_tls: str = ""
    username: str = ""
    password: str = ""
    folder: str = ""
    maildir_path: str = ""
    address: str = ""
    extra_addresses: str = ""
    department_id: str = ""
    poll_interval_s: str = ""
    after_fetch: str = "mark-read"
    enabled: str = ""
    csrf_token: str = ""


def _fields(kind: str, form: GatewayForm, *, name: str, protocol: str) -> dict[str, object]:
    """The fields the API's gateway models take for this type (no password: that is separate)."""
    fields: dict[str, object] = {
        "name": name.strip(),
        "address": form.address.strip(),
        "extra_addresses": lines(form.extra_addresses),
        "department_id": _number(form.department_id),
        "poll_interval_s": _number(form.poll_interval_s),
        "after_fetch": form.after_fetch,
        "enabled": checked(form.enabled),
    }
    if kind == "local":
        fields.update(protocol="maildir", maildir_path=form.maildir_path.strip())
    else:
        fields.update(
            protocol=protocol,
            host=form.host.strip(),
            port=_number(form.port) or 0,
            security=form.security,
            verify_tls=checked(form.verify_tls),
            username=form.username.strip(),
            folder=form.folder.strip() or "INBOX",
        )
    return {k: v for k, v in fields.items() if v is not None}


def _shown(fields: dict[str, object]) -> dict[str, object]:
    """Form values to show again: text as typed, the extra addresses one per line."""
    shown = {k: v for k, v in fields.items() if k != "password"}
    shown["extra_addresses"] = "\n".join(fields.get("extra_addresses") or [])  # type: ignore[arg-type]
    return shown


# ------------------------------------------------------------------ list


@router.get("/admin/gateways")
def gateways(request: Request, session: SessionDep) -> Response:
    who, _admin = need_admin(request, session)
    dep_names, _staff = queries.names(session)
    return render_page(
        request,
        "admin_gateways.html",
        who,
        {
            "gateways": [views.gateway_out(g) for g in queries.all_gateways(session)],
            "dep_names": dep_names,
            "notice": notice(request),
        },
    )


# ------------------------------------------------------------------ add, in two steps


def _new_page(
    request: Request,
    session: Session,
    who: Who,
    kind: str,
    *,
    error: str = "",
    status: int = 200,
    form: dict[str, object] | None = None,
) -> Response:
    """Step 1 (no type chosen yet) or step 2 (the parameters of that type)."""
    admin_of(who)
    defaults: dict[str, object] = {
        "protocol": "imap",
        "security": "tls",
        "verify_tls": True,
        "folder": "INBOX",
        "poll_interval_s": 300,
        "after_fetch": "mark-read",
        "enabled": True,
        "extra_addresses": "",
    }
    return render_page(
        request,
        "admin_gateway_new.html",
        who,
        {
            "kind": kind if kind in TYPES else "",
            "departments": queries.all_departments(session),
            "form": {**defaults, **(form or {})},
            "gw": None,
            "error": error,
        },
        status,
    )


@router.get("/admin/gateways/new")
def new_gateway(request: Request, session: SessionDep, type: str = "") -> Response:
    """?type=external|local is step 2; without it (or with another value), step 1."""
    who, _admin = need_admin(request, session)
    return _new_page(request, session, who, type)


@router.post("/admin/gateways")
def add_gateway(request: Request, form: Annotated[GatewayForm, Form()]) -> Response:
    """Step 2's post: the API's GatewayIn rules and refusals, the password encrypted."""
    fields = _fields(form.type, form, name=form.name, protocol=form.protocol)

    def work(s: Session, who: Who) -> str:
        admin = admin_of(who)
        if form.type not in TYPES:
            raise ValueError("Choose the gateway type first: external or local.")
        if form.type == "external" and form.protocol not in EXTERNAL_PROTOCOLS:
            raise ValueError("An external gateway reads an IMAP or POP3 server.")
        body = validated(views.GatewayIn, **fields, password=form.password)
        settings = request.app.state.settings
        gw = actions.gateways.add_gateway(
            UnitOfWork(s, settings.topics, actor(admin)),
            password_encrypted=encrypt(settings, body.password),
            **body.service_fields(),
        )
        return f"/admin/gateways/{gw.id}?done=gateway-added"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _new_page(
            request, s, who, form.type, error=message, status=status, form=_shown(fields)
        )

    return act(request, "staff", form.csrf_token, work, show)


# ------------------------------------------------------------------ edit


def _edit_page(
    request: Request,
    session: Session,
    who: Who,
    gateway_id: str,
    *,
    error: str = "",
    status: int = 200,
    form: dict[str, object] | None = None,
) -> Response:
    admin_of(who)
    gw = views.gateway_out(_gateway(session, gateway_id))
    shown = form or _shown(gw.model_dump(exclude={"has_password"}))
    return render_page(
        request,
        "admin_gateway.html",
        who,
        {
            "gw": gw,
            "kind": gw.type,
            "departments": queries.all_departments(session),
            "form": shown,
            "error": error,
            "notice": notice(request),
        },
        status,
    )


@router.get("/admin/gateways/{gateway_id}")
def gateway(request: Request, session: SessionDep, gateway_id: str) -> Response:
    who, _admin = need_admin(request, session)
    return _edit_page(request, session, who, gateway_id)


@router.post("/admin/gateways/{gateway_id}")
def edit_gateway(
    request: Request, gateway_id: str, form: Annotated[GatewayForm, Form()]
) -> Response:
    """The API's GatewayPatch; an empty password keeps the stored one.

    Type and protocol stay as added (not editable in the API either); a new name
    renames it (fetchers key their state by the gateway's id, not its name).
    """
    shown: dict[str, object] = {}

    def work(s: Session, who: Who) -> str:
        admin = admin_of(who)
        gw = _gateway(s, gateway_id)
        fields = _fields(gw.type, form, name=form.name.strip() or gw.name, protocol=gw.protocol)
        shown.update(_shown(fields))
        del fields["protocol"]  # not editable (see above)
        if form.password:
            fields["password"] = form.password
        body = validated(views.GatewayPatch, **fields)
        settings = request.app.state.settings
        changes = body.model_dump(exclude_unset=True, exclude={"password"})
        if body.password:
            changes["password_encrypted"] = encrypt(settings, body.password)
        actions.gateways.edit_gateway(
            UnitOfWork(s, settings.topics, actor(admin)), gw.name, **changes
        )
        return f"/admin/gateways/{gw.id}?done=gateway-saved"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _edit_page(
            request, s, who, gateway_id, error=message, status=status, form=shown or None
        )

    return act(request, "staff", form.csrf_token, work, show)


# ------------------------------------------------------------------ delete, after a confirmation


def _delete_page(
    request: Request,
    session: Session,
    who: Who,
    gateway_id: str,
    *,
    error: str = "",
    status: int = 200,
) -> Response:
    admin_of(who)
    gw = _gateway(session, gateway_id)
    return render_page(
        request, "admin_gateway_delete.html", who, {"gw": gw, "error": error}, status
    )


@router.get("/admin/gateways/{gateway_id}/delete")
def confirm_delete(request: Request, session: SessionDep, gateway_id: str) -> Response:
    who, _admin = need_admin(request, session)
    return _delete_page(request, session, who, gateway_id)


@router.post("/admin/gateways/{gateway_id}/delete")
def delete_gateway(
    request: Request,
    gateway_id: str,
    confirm: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Only the confirmation form's 'Yes, delete' deletes; fetchers then stop polling it."""

    def work(s: Session, who: Who) -> str:
        admin = admin_of(who)
        gw = _gateway(s, gateway_id)
        if confirm != "yes":
            raise ValueError("Confirm the deletion with the button below.")
        actions.gateways.remove_gateway(
            UnitOfWork(s, request.app.state.settings.topics, actor(admin)), gw.name
        )
        return "/admin/gateways?done=gateway-deleted"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _delete_page(request, s, who, gateway_id, error=message, status=status)

    return act(request, "staff", csrf_token, work, show)
