"""What an applied replay changes in the store: the replayed outcome replaces the recorded
one, and a mail that waited in Incoming emails and became a ticket leaves the section."""

from __future__ import annotations

from datetime import timedelta

from schemas.events import Decision, Outcome, utcnow
from services.ticket_store import actions
from services.ticket_store.actions.replayed_mail import outcome_row
from services.ticket_store.models import IncomingEmail, MailOutcome
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork

mc = actions.mail_commands


def test_a_replayed_outcome_replaces_the_recorded_one_and_a_late_old_one_does_not(
    uow: FakeUnitOfWork,
) -> None:
    first = Outcome(email_id="e-1", gateway_id="gw", decision=Decision.IGNORED_RECIPIENT,
                    rule="recipient", decided_at=utcnow() - timedelta(hours=1))  # fmt: skip
    assert mc.record_outcomes(uow, [first]) == 1
    again = first.model_copy(update={"decided_at": utcnow()})  # a plain redelivery
    replayed = Outcome(email_id="e-1", gateway_id="gw", decision=Decision.TICKET_OPENED,
                       rule="client", ticket_id="AAAAAAAAAA", replay_id="r1")  # fmt: skip
    assert mc.record_outcomes(uow, [again, replayed]) == 1
    uow.flush()
    row = uow.session.get(MailOutcome, "e-1")
    assert row is not None and (row.decision, row.ticket_id) == ("ticket_opened", "AAAAAAAAAA")
    older = replayed.model_copy(update={"decision": Decision.INCOMING, "replay_id": "r0",
                                        "decided_at": utcnow() - timedelta(minutes=5)})  # fmt: skip
    assert mc.record_outcome(uow, older) is None
    uow.flush()
    assert uow.session.get(MailOutcome, "e-1").decision == "ticket_opened"  # type: ignore[union-attr]
    mc.record_outcome(uow, replayed)  # redelivered: the same values
    assert uow.session.get(MailOutcome, "e-1").decision == "ticket_opened"  # type: ignore[union-attr]


def test_an_incoming_email_that_became_a_ticket_by_replay_leaves_the_section(
    uow: FakeUnitOfWork,
) -> None:
    dep = builders.department(uow)
    alice = builders.client(uow)
    waiting = builders.incoming(uow, dep, sender="alice@example.org")
    cmds = [builders.open_command(alice, dep, email_id="in-1"),
            builders.open_command(alice, dep, email_id="e-2", ticket_id="BBBBBBBBBB",
                                  message_id="second@client.example")]  # fmt: skip
    assert mc.open_tickets_from_mail(uow, cmds) == 2
    uow.flush()
    uow.session.refresh(waiting)
    assert waiting.status == "converted" and waiting.ticket_number is not None
    assert uow.session.query(IncomingEmail).filter_by(status="new").count() == 0


def test_one_ticket_from_mail_settles_its_incoming_email_too(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    alice = builders.client(uow)
    waiting = builders.incoming(uow, dep, sender="alice@example.org")
    ticket = builders.mail_ticket(uow, alice, dep, email_id="in-1")
    uow.flush()
    uow.session.refresh(waiting)
    assert (waiting.status, waiting.ticket_number) == ("converted", ticket.number)


def test_every_outcome_column_comes_from_the_outcome_field_of_its_name() -> None:
    assert set(MailOutcome.__table__.columns.keys()) <= set(Outcome.model_fields)
    outcome = Outcome(email_id="e-9", gateway_id="gw", decision=Decision.INCOMING, rule="client",
                      reason="unknown sender", client_id=None, automatic=True)  # fmt: skip
    row = outcome_row(outcome)
    assert row["decision"] == "incoming" and type(row["decision"]) is str
    assert (row["email_id"], row["reason"], row["automatic"]) == ("e-9", "unknown sender", True)
    assert set(row) == set(MailOutcome.__table__.columns.keys())
