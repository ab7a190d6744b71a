"""Which departments a staff member works in (the seed: only their own)."""

from __future__ import annotations

from services.ticket_store.models import Staff


def staff_department_ids(staff: Staff) -> set[int]:
    """A staff member in several departments has the rights of all of them."""
    return {d.id for d in staff.departments}


def can_handle(staff: Staff, department_id: int) -> bool:
    return staff.active and department_id in staff_department_ids(staff)
