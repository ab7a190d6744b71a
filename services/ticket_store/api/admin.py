"""Administrators: departments, staff and their departments, clients and their emails,
incidents, gateways, pre-defined replies, the audit log, the ratings of staff replies."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlalchemy import select

from kernel.crypto import encrypt
from services.ticket_store import actions, queries
from services.ticket_store.api import views
from services.ticket_store.api.deps import AdminDep, SessionDep
from services.ticket_store.domain.incidents import incident_balance
from services.ticket_store.domain.text import normalise_email
from services.ticket_store.models import (
    AuditEntry,
    Client,
    ClientEmail,
    Department,
    Gateway,
    IncidentGrant,
    PredefinedReply,
    Staff,
)
from services.ticket_store.unit_of_work import UnitOfWork

router = APIRouter(prefix="/admin", tags=["admin"])


def _actor(admin: Staff) -> str:
    return f"staff:{admin.id}"


# ------------------------------------------------------------------ departments


@router.get("/departments", response_model=list[views.DepartmentOut])
def list_departments(session: SessionDep, admin: AdminDep):
    return session.scalars(select(Department).order_by(Department.id)).all()


@router.post("/departments", response_model=views.DepartmentOut, status_code=201)
def add_department(
    body: views.DepartmentIn, request: Request, session: SessionDep, admin: AdminDep
):
    return actions.departments.add_department(
        UnitOfWork(session, request.app.state.settings.topics, _actor(admin)), **body.model_dump()
    )


@router.patch("/departments/{department_id}", response_model=views.DepartmentOut)
def edit_department(
    department_id: int,
    body: views.DepartmentPatch,
    request: Request,
    session: SessionDep,
    admin: AdminDep,
):
    return actions.departments.update_department(
        UnitOfWork(session, request.app.state.settings.topics, _actor(admin)),
        department_id,
        **body.model_dump(exclude_unset=True),
    )


# ------------------------------------------------------------------ staff


@router.get("/staff", response_model=list[views.StaffOut])
def list_staff(session: SessionDep, admin: AdminDep):
    return [views.staff_out(s) for s in session.scalars(select(Staff).order_by(Staff.id))]


@router.post("/staff", response_model=views.StaffOut, status_code=201)
def add_staff(body: views.StaffIn, request: Request, session: SessionDep, admin: AdminDep):
    staff = actions.staff.add_staff(
        UnitOfWork(session, request.app.state.settings.topics, _actor(admin)),
        body.name,
        body.email,
        body.password,
        is_admin=body.is_admin,
        department_ids=body.department_ids,
    )
    return views.staff_out(staff)


@router.get("/staff/{staff_id}", response_model=views.StaffOut)
def read_staff(staff_id: int, session: SessionDep, admin: AdminDep):
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise HTTPException(404, f"staff member {staff_id} does not exist")
    return views.staff_out(staff)


@router.patch("/staff/{staff_id}", response_model=views.StaffOut)
def edit_staff(
    staff_id: int, body: views.StaffPatch, request: Request, session: SessionDep, admin: AdminDep
):
    """Departments are replaced as given; deactivating or a new password ends their logins."""
    fields = body.model_dump(exclude_unset=True)
    if staff_id == admin.id and (fields.get("active") is False or fields.get("is_admin") is False):
        raise HTTPException(422, "you cannot deactivate yourself or drop your own admin rights")
    return views.staff_out(
        actions.staff.update_staff(
            UnitOfWork(session, request.app.state.settings.topics, _actor(admin)),
            staff_id,
            **fields,
        )
    )


# ------------------------------------------------------------------ clients


def _client(session: SessionDep, client_id: int) -> Client:
    client = session.get(Client, client_id)
    if client is None:
        raise HTTPException(404, f"client {client_id} does not exist")
    return client


@router.get("/clients", response_model=list[views.ClientOut])
def list_clients(
    session: SessionDep,
    admin: AdminDep,
    q: str | None = Query(None, max_length=200),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
):
    query = select(Client).order_by(Client.id)
    if q:
        like = f"%{q.strip().lower()}%"
        query = query.where(
            Client.name.ilike(like)
            | Client.id.in_(select(ClientEmail.client_id).where(ClientEmail.email.like(like)))
        )
    return [
        views.client_out(session, c) for c in session.scalars(query.limit(limit).offset(offset))
    ]


@router.post("/clients", response_model=views.ClientOut, status_code=201)
def add_client(body: views.ClientIn, request: Request, session: SessionDep, admin: AdminDep):
    uow = UnitOfWork(session, request.app.state.settings.topics, _actor(admin))
    client = actions.clients.add_client(uow, body.name, body.emails)
    if body.password or body.comment:
        actions.clients.update_client(
            uow,
            client.id,
            password=body.password,
            comment=body.comment or None,
        )
    return views.client_out(session, client)


@router.get("/clients/{client_id}", response_model=views.ClientOut)
def read_client(client_id: int, session: SessionDep, admin: AdminDep):
    return views.client_out(session, _client(session, client_id))


@router.patch("/clients/{client_id}", response_model=views.ClientOut)
def edit_client(
    client_id: int, body: views.ClientPatch, request: Request, session: SessionDep, admin: AdminDep
):
    client = actions.clients.update_client(
        UnitOfWork(session, request.app.state.settings.topics, _actor(admin)),
        client_id,
        **body.model_dump(exclude_unset=True),
    )
    return views.client_out(session, client)


@router.post("/clients/{client_id}/emails", response_model=views.ClientOut, status_code=201)
def add_client_email(
    client_id: int, body: views.EmailIn, request: Request, session: SessionDep, admin: AdminDep
):
    client = _client(session, client_id)
    actions.clients.add_client_email(
        UnitOfWork(session, request.app.state.settings.topics, _actor(admin)), client, body.email
    )
    session.refresh(client)
    return views.client_out(session, client)


@router.delete("/clients/{client_id}/emails/{email}", status_code=204)
def remove_client_email(
    client_id: int, email: str, request: Request, session: SessionDep, admin: AdminDep
) -> Response:
    address = normalise_email(email)
    entry = session.scalar(
        select(ClientEmail).where(ClientEmail.email == address, ClientEmail.client_id == client_id)
    )
    if entry is None:
        raise HTTPException(404, f"{address} is not an email of client {client_id}")
    uow = UnitOfWork(session, request.app.state.settings.topics, _actor(admin))
    actions.clients.remove_client_email(uow, address)
    uow.audit("client.email.remove", "client", client_id, email=address)
    return Response(status_code=204)


@router.get("/clients/{client_id}/incidents", response_model=views.IncidentsOut)
def client_incidents(client_id: int, session: SessionDep, admin: AdminDep):
    _client(session, client_id)
    grants = session.scalars(
        select(IncidentGrant).where(IncidentGrant.client_id == client_id).order_by(IncidentGrant.id)
    ).all()
    return views.IncidentsOut(
        client_id=client_id,
        incidents_left=incident_balance(session, client_id),
        grants=[views.IncidentGrantOut.model_validate(g) for g in grants],
    )


@router.post("/clients/{client_id}/incidents", response_model=views.IncidentsOut, status_code=201)
def grant_incidents(
    client_id: int, body: views.IncidentsIn, request: Request, session: SessionDep, admin: AdminDep
):
    """Grant (positive) or adjust (negative); a repeated grant_id grants once."""
    if body.amount == 0:
        raise HTTPException(422, "amount must not be zero")
    _client(session, client_id)
    actions.clients.grant_incidents(
        UnitOfWork(session, request.app.state.settings.topics, _actor(admin)),
        client_id,
        body.amount,
        reason=body.reason,
        grant_id=body.grant_id,
    )
    session.flush()
    return client_incidents(client_id, session, admin)


# ------------------------------------------------------------------ gateways


@router.get("/gateways", response_model=list[views.GatewayOut])
def list_gateways(session: SessionDep, admin: AdminDep):
    return [views.gateway_out(g) for g in session.scalars(select(Gateway).order_by(Gateway.name))]


@router.get("/gateways/{gateway_id}", response_model=views.GatewayOut)
def read_gateway(gateway_id: str, session: SessionDep, admin: AdminDep):
    return views.gateway_out(_gateway(session, gateway_id))


@router.post("/gateways", response_model=views.GatewayOut, status_code=201)
def add_gateway(body: views.GatewayIn, request: Request, session: SessionDep, admin: AdminDep):
    """The password is encrypted before it is stored and is never returned."""
    settings = request.app.state.settings
    fields = body.service_fields()
    gw = actions.gateways.add_gateway(
        UnitOfWork(session, settings.topics, _actor(admin)),
        password_encrypted=encrypt(settings, body.password),
        **fields,
    )
    return views.gateway_out(gw)


def _gateway(session: SessionDep, gateway_id: str) -> Gateway:
    gw = session.get(Gateway, gateway_id)
    if gw is None:
        raise HTTPException(404, f"gateway {gateway_id} does not exist")
    return gw


@router.patch("/gateways/{gateway_id}", response_model=views.GatewayOut)
def edit_gateway(
    gateway_id: str,
    body: views.GatewayPatch,
    request: Request,
    session: SessionDep,
    admin: AdminDep,
):
    """Fetchers pick the change up from directory.gateways."""
    settings = request.app.state.settings
    gw = _gateway(session, gateway_id)
    changes = body.model_dump(exclude_unset=True, exclude={"password"})
    if body.password is not None:
        changes["password_encrypted"] = encrypt(settings, body.password)
    gw = actions.gateways.edit_gateway(
        UnitOfWork(session, settings.topics, _actor(admin)), gw.name, **changes
    )
    return views.gateway_out(gw)


@router.delete("/gateways/{gateway_id}", status_code=204)
def remove_gateway(
    gateway_id: str, request: Request, session: SessionDep, admin: AdminDep
) -> Response:
    """Fetchers stop polling it (a tombstone on directory.gateways)."""
    gw = _gateway(session, gateway_id)
    actions.gateways.remove_gateway(
        UnitOfWork(session, request.app.state.settings.topics, _actor(admin)), gw.name
    )
    return Response(status_code=204)


# ------------------------------------------------------------------ pre-defined replies


@router.get("/predefined-replies", response_model=list[views.ReplyOut])
def list_replies(session: SessionDep, admin: AdminDep):
    rows = session.scalars(select(PredefinedReply).order_by(PredefinedReply.id)).all()
    return [views.reply_out(r) for r in rows]


@router.post("/predefined-replies", response_model=views.ReplyOut, status_code=201)
def add_reply(body: views.ReplyIn, request: Request, session: SessionDep, admin: AdminDep):
    reply = actions.predefined_replies.add_predefined_reply(
        UnitOfWork(session, request.app.state.settings.topics, _actor(admin)),
        body.title,
        body.text,
        scope=body.scope,
        department_id=body.department_id,
        staff_id=body.staff_id,
    )
    return views.reply_out(reply)


@router.patch("/predefined-replies/{reply_id}", response_model=views.ReplyOut)
def edit_reply(
    reply_id: int, body: views.ReplyPatch, request: Request, session: SessionDep, admin: AdminDep
):
    reply = actions.predefined_replies.update_predefined_reply(
        UnitOfWork(session, request.app.state.settings.topics, _actor(admin)),
        reply_id,
        **body.model_dump(exclude_unset=True),
    )
    return views.reply_out(reply)


@router.delete("/predefined-replies/{reply_id}", status_code=204)
def delete_reply(reply_id: int, request: Request, session: SessionDep, admin: AdminDep) -> Response:
    actions.predefined_replies.delete_predefined_reply(
        UnitOfWork(session, request.app.state.settings.topics, _actor(admin)), reply_id
    )
    return Response(status_code=204)


# ------------------------------------------------------------------ audit


@router.get("/audit", response_model=list[views.AuditOut], summary="Who did what, newest first")
def audit_log(
    session: SessionDep,
    admin: AdminDep,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
):
    rows = session.scalars(
        select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    ).all()
    return [views.AuditOut.model_validate(r) for r in rows]


# ------------------------------------------------------------------ quality control


@router.get(
    "/ratings",
    response_model=list[views.StaffRatingsOut],
    summary="Clients' ratings of staff replies, per staff member (administrators only)",
)
def ratings_report(session: SessionDep, admin: AdminDep, recent: int = Query(10, ge=0, le=100)):
    return [
        views.StaffRatingsOut.model_validate(e, from_attributes=True)
        for e in queries.ratings.ratings_report(session, recent=recent)
    ]
