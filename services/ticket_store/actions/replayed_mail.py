"""What an applied replay changes in the store, besides the tickets it opens: the mail's
outcome becomes the replayed one, and a mail that waited in Incoming emails and now
became a ticket (or a message) leaves the section, so nobody converts it a second time.

May import: `unit_of_work`, `bulk`, the store's models, `schemas`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select, update

from schemas.events import Outcome
from services.ticket_store.bulk import among
from services.ticket_store.models import IncomingEmail, MailOutcome
from services.ticket_store.unit_of_work import UnitOfWork


def replace_outcomes(uow: UnitOfWork, outcomes: Sequence[Outcome]) -> int:
    """Replayed outcomes (with a replay id) replace the recorded ones; returns how many.
    A reprocessed dead letter's new outcome replaces its `malformed` one the same way.

    Idempotent: a redelivered one writes the same values again. An outcome decided
    before the recorded one (an older replay delivered late) changes nothing.
    """
    changed = 0
    for outcome in outcomes:
        row = uow.session.get(MailOutcome, outcome.email_id)
        if row is None:
            uow.session.add(MailOutcome(**outcome_row(outcome)))
        elif row.decided_at > outcome.decided_at:
            continue
        else:
            for name, value in outcome_row(outcome).items():
                if name != "email_id":  # the key stays as it is
                    setattr(row, name, value)
        changed += 1
    return changed


# Every mail_outcomes column is an Outcome field of the same name.
_OUTCOME_COLUMNS = frozenset(MailOutcome.__table__.columns.keys())


def outcome_row(outcome: Outcome) -> dict[str, object]:
    """The mail_outcomes columns of an outcome, for a new row or one it replaces."""
    return outcome.model_dump(include=_OUTCOME_COLUMNS) | {"decision": outcome.decision.value}


def settle_incoming(uow: UnitOfWork, tickets: Mapping[str, int]) -> None:
    """Incoming emails (email id -> ticket number) that became tickets from mail: converted.

    Only a replay makes this happen (a mail is first decided either way, not both), so
    the common case costs one query that finds nothing.
    """
    waiting = uow.session.scalars(
        select(IncomingEmail.email_id).where(
            among(uow.session, IncomingEmail.email_id, list(tickets)),
            IncomingEmail.status == "new",
        )
    ).all()
    for email_id in waiting:
        number = tickets[email_id]
        uow.session.execute(
            update(IncomingEmail)
            .where(IncomingEmail.email_id == email_id, IncomingEmail.status == "new")
            .values(status="converted", ticket_number=number)
        )
