"""Pre-defined replies: adding, changing and deleting them (who may use one is its scope).

May import: `unit_of_work`, `domain`, the store's models.
"""

from __future__ import annotations

from services.ticket_store.domain.errors import NotFound
from services.ticket_store.domain.replies import check_reply_scope
from services.ticket_store.models import PredefinedReply
from services.ticket_store.unit_of_work import UnitOfWork


def add_predefined_reply(
    uow: UnitOfWork,
    title: str,
    text: str,
    *,
    scope: str = "all",
    department_id: int | None = None,
    staff_id: int | None = None,
) -> PredefinedReply:
    """Available to every staff member, to one department's staff, or to one person."""
    check_reply_scope(uow.session, scope, department_id, staff_id)
    reply = PredefinedReply(
        title=title,
        text=text,
        scope=scope,
        department_id=department_id if scope == "department" else None,
        staff_id=staff_id if scope == "staff" else None,
    )
    uow.session.add(reply)
    uow.flush()
    uow.audit("reply.add", "predefined_reply", reply.id, scope=scope)
    return reply


def update_predefined_reply(uow: UnitOfWork, reply_id: int, **fields: object) -> PredefinedReply:
    reply = uow.session.get(PredefinedReply, reply_id)
    if reply is None:
        raise NotFound(f"pre-defined reply {reply_id}")
    scope = str(fields.get("scope", reply.scope))
    dep_id = fields.get("department_id", reply.department_id)
    staff_id = fields.get("staff_id", reply.staff_id)
    check_reply_scope(uow.session, scope, dep_id, staff_id)  # type: ignore[arg-type]
    reply.title = str(fields.get("title", reply.title))
    reply.text = str(fields.get("text", reply.text))
    reply.scope = scope
    reply.department_id = dep_id if scope == "department" else None  # type: ignore[assignment]
    reply.staff_id = staff_id if scope == "staff" else None  # type: ignore[assignment]
    uow.flush()
    uow.audit("reply.update", "predefined_reply", reply.id, scope=scope)
    return reply


def delete_predefined_reply(uow: UnitOfWork, reply_id: int) -> None:
    reply = uow.session.get(PredefinedReply, reply_id)
    if reply is None:
        raise NotFound(f"pre-defined reply {reply_id}")
    uow.session.delete(reply)
    uow.audit("reply.delete", "predefined_reply", reply_id)
