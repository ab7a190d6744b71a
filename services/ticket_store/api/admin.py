"""Administrators: departments, staff and their departments, clients and their emails,
incidents, gateways, pre-defined replies, the audit log, the ratings of staff replies."""

from __future__ import annotations

from typing import TypeVar

from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlalchemy.orm import Session

from kernel.crypto import encrypt
from services.ticket_store import access, actions, presenters
from services.ticket_store.api import schemas
from services.ticket_store.api.deps import AdminDep, SessionDep, UowDep
from services.ticket_store.api.routes import created
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.models import Client, Gateway, Staff
from services.ticket_store.queries import directory
from services.ticket_store.queries.ratings import StaffRatings, ratings_report

router = APIRouter(prefix="/admin", tags=["admin"])
T = TypeVar("T")


def _found(session: Session, model: type[T], key: int | str, what: str) -> T:
    """The row, or NotFound naming it (`what` and its id)."""
    row = session.get(model, key)
    if row is None:
        raise NotFound(f"{what} {key}")
    return row


# ------------------------------------------------------------------ departments


@router.get("/departments", response_model=list[presenters.DepartmentOut])
def list_departments(session: SessionDep, admin: AdminDep):
    return directory.all_departments(session)


@created(router, "/departments", presenters.DepartmentOut)
def add_department(body: schemas.DepartmentIn, uow: UowDep, admin: AdminDep):
    return actions.departments.add_department(uow, **body.model_dump())


@router.patch("/departments/{department_id}", response_model=presenters.DepartmentOut)
def edit_department(
    department_id: int, body: schemas.DepartmentPatch, uow: UowDep, admin: AdminDep
):
    changes = body.model_dump(exclude_unset=True)
    return actions.departments.update_department(uow, department_id, **changes)


# ------------------------------------------------------------------ staff


@router.get("/staff", response_model=list[presenters.StaffOut])
def list_staff(session: SessionDep, admin: AdminDep):
    return [presenters.staff_out(s) for s in directory.all_staff(session)]


@created(router, "/staff", presenters.StaffOut)
def add_staff(body: schemas.StaffIn, uow: UowDep, admin: AdminDep):
    return presenters.staff_out(actions.staff.add_staff(uow, **body.model_dump()))


@router.get("/staff/{staff_id}", response_model=presenters.StaffOut)
def read_staff(staff_id: int, session: SessionDep, admin: AdminDep):
    return presenters.staff_out(_found(session, Staff, staff_id, "staff member"))


@router.patch("/staff/{staff_id}", response_model=presenters.StaffOut)
def edit_staff(staff_id: int, body: schemas.StaffPatch, uow: UowDep, admin: AdminDep):
    """Departments are replaced as given; deactivating or a new password ends their logins."""
    changes = body.model_dump(exclude_unset=True)
    access.check_staff_change(
        admin, staff_id, active=changes.get("active"), is_admin=changes.get("is_admin")
    )
    return presenters.staff_out(actions.staff.update_staff(uow, staff_id, **changes))


# ------------------------------------------------------------------ clients


@router.get("/clients", response_model=list[presenters.ClientOut])
def list_clients(
    session: SessionDep,
    admin: AdminDep,
    q: str | None = Query(None, max_length=200),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
):
    found = directory.find_clients(session, q or "", offset=offset, limit=limit)
    return [presenters.client_out(session, c) for c in found]


@created(router, "/clients", presenters.ClientOut)
def add_client(body: schemas.ClientIn, uow: UowDep, admin: AdminDep):
    client = actions.clients.add_client(uow, body.name, body.emails)
    if body.password or body.comment:
        actions.clients.update_client(
            uow, client.id, password=body.password, comment=body.comment or None
        )
    return presenters.client_out(uow.session, client)


@router.get("/clients/{client_id}", response_model=presenters.ClientOut)
def read_client(client_id: int, session: SessionDep, admin: AdminDep):
    return presenters.client_out(session, _found(session, Client, client_id, "client"))


@router.patch("/clients/{client_id}", response_model=presenters.ClientOut)
def edit_client(client_id: int, body: schemas.ClientPatch, uow: UowDep, admin: AdminDep):
    changes = body.model_dump(exclude_unset=True)
    return presenters.client_out(
        uow.session, actions.clients.update_client(uow, client_id, **changes)
    )


@created(router, "/clients/{client_id}/emails", presenters.ClientOut)
def add_client_email(client_id: int, body: schemas.EmailIn, uow: UowDep, admin: AdminDep):
    client = _found(uow.session, Client, client_id, "client")
    actions.clients.add_client_email(uow, client, body.email)
    uow.session.refresh(client)
    return presenters.client_out(uow.session, client)


@router.delete("/clients/{client_id}/emails/{email}", status_code=204)
def remove_client_email(client_id: int, email: str, uow: UowDep, admin: AdminDep) -> Response:
    actions.clients.remove_email_of(uow, client_id, email)
    return Response(status_code=204)


@router.get("/clients/{client_id}/incidents", response_model=presenters.IncidentsOut)
def client_incidents(client_id: int, session: SessionDep, admin: AdminDep):
    _found(session, Client, client_id, "client")
    return presenters.incidents_out(session, client_id)


@created(router, "/clients/{client_id}/incidents", presenters.IncidentsOut)
def grant_incidents(client_id: int, body: schemas.IncidentsIn, uow: UowDep, admin: AdminDep):
    """Grant (positive) or adjust (negative); a repeated grant_id grants once."""
    if body.amount == 0:
        raise HTTPException(422, "amount must not be zero")
    _found(uow.session, Client, client_id, "client")
    actions.clients.grant_incidents(
        uow, client_id, body.amount, reason=body.reason, grant_id=body.grant_id
    )
    uow.flush()
    return presenters.incidents_out(uow.session, client_id)


# ------------------------------------------------------------------ gateways


@router.get("/gateways", response_model=list[presenters.GatewayOut])
def list_gateways(session: SessionDep, admin: AdminDep):
    return [presenters.gateway_out(g) for g in directory.all_gateways(session)]


@router.get("/gateways/{gateway_id}", response_model=presenters.GatewayOut)
def read_gateway(gateway_id: str, session: SessionDep, admin: AdminDep):
    return presenters.gateway_out(_found(session, Gateway, gateway_id, "gateway"))


@created(router, "/gateways", presenters.GatewayOut)
def add_gateway(body: schemas.GatewayIn, request: Request, uow: UowDep, admin: AdminDep):
    """The password is encrypted before it is stored and is never returned."""
    password = encrypt(request.app.state.settings, body.password)
    gw = actions.gateways.add_gateway(uow, password_encrypted=password, **body.gateway_fields())
    return presenters.gateway_out(gw)


@router.patch("/gateways/{gateway_id}", response_model=presenters.GatewayOut)
def edit_gateway(
    gateway_id: str, body: schemas.GatewayPatch, request: Request, uow: UowDep, admin: AdminDep
):
    """Fetchers pick the change up from directory.gateways."""
    gw = _found(uow.session, Gateway, gateway_id, "gateway")
    changes = body.model_dump(exclude_unset=True, exclude={"password"})
    if body.password is not None:
        changes["password_encrypted"] = encrypt(request.app.state.settings, body.password)
    return presenters.gateway_out(actions.gateways.edit_gateway(uow, gw.name, **changes))


@router.delete("/gateways/{gateway_id}", status_code=204)
def remove_gateway(gateway_id: str, uow: UowDep, admin: AdminDep) -> Response:
    """Fetchers stop polling it (a tombstone on directory.gateways)."""
    gw = _found(uow.session, Gateway, gateway_id, "gateway")
    actions.gateways.remove_gateway(uow, gw.name)
    return Response(status_code=204)


# ------------------------------------------------------------------ pre-defined replies


@router.get("/predefined-replies", response_model=list[presenters.ReplyOut])
def list_replies(session: SessionDep, admin: AdminDep):
    return [presenters.reply_out(r) for r in directory.all_replies(session)]


@created(router, "/predefined-replies", presenters.ReplyOut)
def add_reply(body: schemas.ReplyIn, uow: UowDep, admin: AdminDep):
    reply = actions.predefined_replies.add_predefined_reply(uow, **body.model_dump())
    return presenters.reply_out(reply)


@router.patch("/predefined-replies/{reply_id}", response_model=presenters.ReplyOut)
def edit_reply(reply_id: int, body: schemas.ReplyPatch, uow: UowDep, admin: AdminDep):
    changes = body.model_dump(exclude_unset=True)
    reply = actions.predefined_replies.update_predefined_reply(uow, reply_id, **changes)
    return presenters.reply_out(reply)


@router.delete("/predefined-replies/{reply_id}", status_code=204)
def delete_reply(reply_id: int, uow: UowDep, admin: AdminDep) -> Response:
    actions.predefined_replies.delete_predefined_reply(uow, reply_id)
    return Response(status_code=204)


# ------------------------------------------------------------------ audit and quality control


@router.get(
    "/audit", response_model=list[presenters.AuditOut], summary="Who did what, newest first"
)
def audit_log(
    session: SessionDep,
    admin: AdminDep,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
):
    return directory.audit_entries(session, offset=offset, limit=limit)


@router.get(
    "/ratings",
    response_model=list[StaffRatings],
    summary="Clients' ratings of staff replies, per staff member (administrators only)",
)
def ratings(session: SessionDep, admin: AdminDep, recent: int = Query(10, ge=0, le=100)):
    return ratings_report(session, recent=recent)
