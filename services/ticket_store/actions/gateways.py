"""Mail gateways: adding, changing and removing them, and their entry on
directory.gateways (fetchers poll what is there; a tombstone stops them).

May import: `unit_of_work`, `domain`, `queries`, the store's models, `actions.events`.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from services.ticket_store.actions.events import gateway_entry
from services.ticket_store.domain.errors import Conflict, NotFound
from services.ticket_store.models import Department, Gateway
from services.ticket_store.queries.gateways import gateway_by_name
from services.ticket_store.unit_of_work import UnitOfWork

GATEWAY_EDITABLE = frozenset(
    {
        "name",
        "host",
        "port",
        "security",
        "verify_tls",
        "username",
        "password_encrypted",
        "folder",
        "maildir_path",
        "address",
        "extra_addresses",
        "department_id",
        "poll_interval_s",
        "after_fetch",
        "enabled",
    }
)


def publish_gateway(uow: UnitOfWork, gw: Gateway) -> None:
    uow.emit(uow.topics.gateways, gw.id, gateway_entry(gw))


def add_gateway(uow: UnitOfWork, **fields: object) -> Gateway:
    session = uow.session
    name = str(fields["name"])
    if session.scalar(select(Gateway).where(Gateway.name == name)):
        raise Conflict(f"a gateway named {name!r} exists")
    if session.get(Department, fields["department_id"]) is None:
        raise NotFound(f"department {fields['department_id']}")
    gw = Gateway(id=uuid.uuid4().hex[:16], **fields)
    session.add(gw)
    uow.flush()  # applies the column defaults
    gateway_entry(gw)  # validates; an invalid gateway rolls back the caller's transaction
    publish_gateway(uow, gw)
    uow.audit("gateway.add", "gateway", gw.id, name=name)
    return gw


def edit_gateway(uow: UnitOfWork, current_name: str, /, **changes: object) -> Gateway:
    """Change a gateway (a new ``name`` among the changes renames it) and republish it;
    fetchers restart that gateway with the new entry (its id, not its name, keys its state)."""
    session = uow.session
    gw = gateway_by_name(session, current_name)
    unknown = set(changes) - GATEWAY_EDITABLE
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    new_name = changes.get("name")
    taken = new_name and new_name != gw.name
    if taken and session.scalar(select(Gateway).where(Gateway.name == new_name)):
        raise Conflict(f"a gateway named {new_name!r} exists")
    if "department_id" in changes and session.get(Department, changes["department_id"]) is None:
        raise NotFound(f"department {changes['department_id']}")
    for key, value in changes.items():
        setattr(gw, key, value)
    gateway_entry(gw)  # validates (e.g. poll interval >= 10 s) before anything is stored
    uow.flush()
    publish_gateway(uow, gw)
    uow.audit(
        "gateway.edit",
        "gateway",
        gw.id,
        fields=sorted(k for k in changes if k != "password_encrypted")
        + (["password"] if "password_encrypted" in changes else []),
    )
    return gw


def remove_gateway(uow: UnitOfWork, name: str) -> str:
    """Delete a gateway and publish a tombstone: fetchers stop polling it."""
    gw = gateway_by_name(uow.session, name)
    gateway_id = gw.id
    uow.session.delete(gw)
    uow.emit(uow.topics.gateways, gateway_id, None)
    uow.audit("gateway.remove", "gateway", gateway_id, name=name)
    return gateway_id
