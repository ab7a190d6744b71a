"""Which status changes a person (staff or client) may make.

Mail and replies move tickets too (a staff reply → awaiting_client, a client
message → in_progress); those moves are the actions' own and skip this check.
"""

from __future__ import annotations

from services.ticket_store.domain.errors import InvalidTransition
from services.ticket_store.models import TicketStatus

TRANSITIONS: dict[str, set[str]] = {
    TicketStatus.NEW: {TicketStatus.IN_PROGRESS, TicketStatus.AWAITING_CLIENT, TicketStatus.CLOSED},
    TicketStatus.IN_PROGRESS: {TicketStatus.AWAITING_CLIENT, TicketStatus.CLOSED},
    TicketStatus.AWAITING_CLIENT: {TicketStatus.IN_PROGRESS, TicketStatus.CLOSED},
    TicketStatus.CLOSED: {TicketStatus.IN_PROGRESS, TicketStatus.ARCHIVED},
    TicketStatus.ARCHIVED: {TicketStatus.IN_PROGRESS},
}

# A ticket in one of these is closed: it carries a closed_at.
CLOSED_STATUSES = frozenset({TicketStatus.CLOSED, TicketStatus.ARCHIVED})


def checked_transition(current: str, new: str) -> TicketStatus:
    """The target status of a person's change from `current` to `new`; staying put is allowed.

    Raises InvalidTransition for an unknown status or a move TRANSITIONS does not list.
    """
    try:
        target = TicketStatus(new)
    except ValueError as exc:
        raise InvalidTransition(f"unknown status {new!r}") from exc
    if current == target:
        return target
    if target not in TRANSITIONS.get(TicketStatus(current), set()):
        raise InvalidTransition(f"a ticket cannot go from {current} to {target}")
    return target
