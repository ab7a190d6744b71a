"""Views of the directory: departments, staff, clients and their incidents, gateways,
pre-defined replies and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field
from sqlalchemy.orm import Session

from services.ticket_store.domain.incidents import incident_balance
from services.ticket_store.models import Client, Gateway, PredefinedReply, Staff
from services.ticket_store.presenters.base import Out
from services.ticket_store.queries.directory import client_grants, support_departments
from services.ticket_store.queries.reply_picker import OfferedReply


class DepartmentOut(Out):
    id: int
    name: str
    show_in_support_center: bool
    per_incident: bool
    insufficient_notice: str


class SupportDepartmentOut(Out):
    id: int
    name: str
    per_incident: bool
    incidents_left: int | None = Field(
        description="how many incidents remain where support is paid; a new ticket uses one"
    )


def support_departments_out(session: Session, client: Client) -> list[SupportDepartmentOut]:
    """The Support center's departments, with the client's incidents where support is paid."""
    balance = incident_balance(session, client.id)
    return [
        SupportDepartmentOut.of(d, incidents_left=balance if d.per_incident else None)
        for d in support_departments(session)
    ]


class StaffOut(Out):
    id: int
    name: str
    email: str
    active: bool
    is_admin: bool
    department_ids: list[int]


def staff_out(staff: Staff) -> StaffOut:
    return StaffOut.of(staff, department_ids=sorted(d.id for d in staff.departments))


class ClientOut(Out):
    id: int
    name: str
    emails: list[str]
    comment: str
    created_at: datetime
    incidents_left: int
    can_log_in: bool


def client_out(session: Session, client: Client) -> ClientOut:
    return ClientOut.of(
        client,
        emails=[e.email for e in sorted(client.emails, key=lambda e: e.id)],
        incidents_left=incident_balance(session, client.id),
        can_log_in=bool(client.password_hash),
    )


class IncidentGrantOut(Out):
    grant_id: str
    amount: int
    reason: str
    created_at: datetime


class IncidentsOut(Out):
    client_id: int
    incidents_left: int
    grants: list[IncidentGrantOut]


def incidents_out(session: Session, client_id: int) -> IncidentsOut:
    """A client's balance and ledger, oldest grant first."""
    return IncidentsOut(
        client_id=client_id,
        incidents_left=incident_balance(session, client_id),
        grants=[IncidentGrantOut.model_validate(g) for g in client_grants(session, client_id)],
    )


class GatewayOut(Out):
    """A gateway as administrators see it: everything but the password."""

    id: str
    name: str
    type: str
    protocol: str
    host: str
    port: int
    security: str
    verify_tls: bool
    username: str
    has_password: bool
    folder: str
    maildir_path: str
    address: str
    extra_addresses: list[str]
    department_id: int
    poll_interval_s: int
    after_fetch: str
    enabled: bool


def gateway_out(gw: Gateway) -> GatewayOut:
    extra = list(gw.extra_addresses or [])
    return GatewayOut.of(gw, has_password=bool(gw.password_encrypted), extra_addresses=extra)


class ReplyOut(Out):
    id: int
    title: str
    text: str
    scope: Literal["all", "department", "staff"]
    department_id: int | None
    staff_id: int | None


def reply_out(r: PredefinedReply) -> ReplyOut:
    return ReplyOut.model_validate(r)


class FilledReplyOut(ReplyOut):
    filled_text: str


def filled_replies(offered: list[OfferedReply]) -> list[FilledReplyOut]:
    """The Auto-reply window's replies, each with its placeholders filled."""
    return [FilledReplyOut(**reply_out(f.reply).model_dump(), filled_text=f.text) for f in offered]


class AuditOut(Out):
    id: int
    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict
    at: datetime
