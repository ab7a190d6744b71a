from __future__ import annotations

import pytest

from services.ticket_store.domain.errors import InvalidTransition
from services.ticket_store.domain.status import CLOSED_STATUSES, TRANSITIONS, checked_transition
from services.ticket_store.models import TicketStatus


def test_every_status_has_transitions_and_archived_only_reopens() -> None:
    assert set(TRANSITIONS) == set(TicketStatus)
    assert TRANSITIONS[TicketStatus.ARCHIVED] == {TicketStatus.IN_PROGRESS}
    assert TicketStatus.ARCHIVED in TRANSITIONS[TicketStatus.CLOSED]
    for status, targets in TRANSITIONS.items():
        assert status not in targets
        assert TicketStatus.NEW not in targets  # nothing goes back to new


# Sorted: the same order in every process (xdist workers must collect alike).
@pytest.mark.parametrize(
    ("current", "new"), [(c, n) for c, ts in TRANSITIONS.items() for n in sorted(ts)]
)
def test_every_listed_move_is_allowed(current: str, new: str) -> None:
    assert checked_transition(current, new) == new


def test_staying_put_is_allowed_and_returns_the_status() -> None:
    assert checked_transition("closed", "closed") is TicketStatus.CLOSED


@pytest.mark.parametrize(
    ("current", "new", "reason"),
    [
        ("new", "archived", "cannot go from new to archived"),
        ("in_progress", "new", "cannot go from in_progress to new"),
        ("archived", "closed", "cannot go from archived to closed"),
        ("new", "deleted", "unknown status 'deleted'"),
    ],
)
def test_other_moves_are_refused_with_a_reason(current: str, new: str, reason: str) -> None:
    with pytest.raises(InvalidTransition, match=reason):
        checked_transition(current, new)


def test_closed_and_archived_tickets_are_the_closed_ones() -> None:
    assert {TicketStatus.CLOSED, TicketStatus.ARCHIVED} == CLOSED_STATUSES
