"""What the support center shows of its objects, shared by the JSON API, the web pages and
the CLI: the `*Out` models (pydantic, the API's response bodies) and the functions that
build them from rows.

Owns what each audience may see (clients never see internal notes, delivery details or
the sender's address; no gateway view carries a password). May import pydantic,
SQLAlchemy, the store's models, `domain` and `queries`; never a web framework, `actions`
or an adapter. Request bodies belong to the API, form models to the web.
"""

from __future__ import annotations

from services.ticket_store.presenters.base import Out
from services.ticket_store.presenters.directory import (
    AuditOut,
    ClientOut,
    DepartmentOut,
    FilledReplyOut,
    GatewayOut,
    IncidentGrantOut,
    IncidentsOut,
    ReplyOut,
    StaffOut,
    SupportDepartmentOut,
    client_out,
    filled_replies,
    gateway_out,
    incidents_out,
    reply_out,
    staff_out,
    support_departments_out,
)
from services.ticket_store.presenters.ticket_requests import (
    TicketRequestOut,
    ticket_request_out,
)
from services.ticket_store.presenters.tickets import (
    CLIENT_STATUS,
    AttachmentOut,
    ClientInfo,
    ClientMessageOut,
    ClientTicketDetail,
    ClientTicketOut,
    IncomingDetail,
    IncomingOut,
    MessageOut,
    MyRatingOut,
    RatingOut,
    TicketDetail,
    TicketOut,
    client_ticket_detail,
    client_ticket_out,
    incoming_detail,
    message_out,
    rating_out,
    ticket_detail,
    ticket_out,
)

__all__ = [
    "CLIENT_STATUS",
    "AttachmentOut",
    "AuditOut",
    "ClientInfo",
    "ClientMessageOut",
    "ClientOut",
    "ClientTicketDetail",
    "ClientTicketOut",
    "DepartmentOut",
    "FilledReplyOut",
    "GatewayOut",
    "IncidentGrantOut",
    "IncidentsOut",
    "IncomingDetail",
    "IncomingOut",
    "MessageOut",
    "MyRatingOut",
    "Out",
    "RatingOut",
    "ReplyOut",
    "StaffOut",
    "SupportDepartmentOut",
    "TicketDetail",
    "TicketOut",
    "TicketRequestOut",
    "client_out",
    "client_ticket_detail",
    "client_ticket_out",
    "filled_replies",
    "gateway_out",
    "incidents_out",
    "incoming_detail",
    "message_out",
    "rating_out",
    "reply_out",
    "staff_out",
    "support_departments_out",
    "ticket_detail",
    "ticket_out",
    "ticket_request_out",
]
