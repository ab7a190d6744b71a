"""The operations consumer's records (dead letters, raw locations, gateway health) and the
reprocessing of a store-stage dead letter, on a real migrated SQLite session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kernel.config import Settings
from schemas import codec
from schemas.events import AddMessage, DeadLetter, Decision, MailContent, Outcome
from services.ticket_store.actions import dead_letters, mail_commands, operations
from services.ticket_store.consumer.batch import BatchApplier
from services.ticket_store.consumer.reprocess import reprocess
from services.ticket_store.domain.raw_headers import sender_and_subject
from services.ticket_store.models import MailOutcome
from services.ticket_store.models_operations import DeadLetterRecord, GatewayHealthRecord
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _letter(at: datetime, reason: str = "boom", stage: str = "router.parse") -> DeadLetter:
    return DeadLetter(email_id="e-1", gateway_id="gw", stage=stage, reason=reason, at=at)


def test_a_dead_letter_is_recorded_once_and_reopened_by_a_newer_failure(
    uow: FakeUnitOfWork,
) -> None:
    row = operations.record_dead_letter(uow, _letter(T0))
    uow.flush()
    operations.record_dead_letter(uow, _letter(T0))  # the same record, redelivered
    assert (row.occurrences, row.status, row.reason) == (1, "open", "boom")
    row.status = "resolved"
    operations.record_dead_letter(uow, _letter(T0 + timedelta(minutes=5), "again"))
    assert (row.occurrences, row.status, row.reason) == (2, "open", "again")
    assert uow.session.query(DeadLetterRecord).count() == 1


def test_a_reprocessed_mail_is_resolved_by_its_new_outcome_not_by_malformed(
    uow: FakeUnitOfWork,
) -> None:
    row = operations.record_dead_letter(uow, _letter(T0))
    mail_commands.record_outcome(
        uow, Outcome(email_id="e-1", gateway_id="gw", decision=Decision.MALFORMED,
                     rule="parse", reason="blob missing", decided_at=T0),
    )  # fmt: skip
    row.status, row.reprocessed_at = "reprocessing", T0 + timedelta(minutes=1)
    uow.flush()
    old = Outcome(email_id="e-1", gateway_id="gw", decision=Decision.MALFORMED, rule="parse",
                  decided_at=T0)  # fmt: skip
    malformed = old.model_copy(update={"decided_at": T0 + timedelta(minutes=2)})
    assert operations.resolve_from_outcomes(uow, [old, malformed]) == 0
    assert row.status == "reprocessing"
    opened = Outcome(email_id="e-1", gateway_id="gw", decision=Decision.INCOMING, rule="client",
                     decided_at=T0 + timedelta(minutes=3))  # fmt: skip
    assert operations.resolve_from_outcomes(uow, [opened]) == 1
    assert (row.status, row.result) == ("resolved", "incoming")
    assert uow.session.get(MailOutcome, "e-1").decision == "incoming"


def test_health_keeps_the_newest_report_and_forgets_on_a_tombstone(uow: FakeUnitOfWork) -> None:
    report = operations.HealthReport(gateway_id="gw", status="failing", last_error="login failed",
                                     updated_at=T0, consecutive_failures=2)  # fmt: skip
    operations.record_health(uow, report)
    older = report.model_copy(update={"status": "ok", "updated_at": T0 - timedelta(minutes=1)})
    operations.record_health(uow, older)
    row = uow.session.get(GatewayHealthRecord, "gw")
    assert (row.status, row.consecutive_failures) == ("failing", 2)
    operations.forget_health(uow, "gw")
    uow.flush()
    assert uow.session.get(GatewayHealthRecord, "gw") is None


def test_sender_and_subject_from_any_bytes() -> None:
    raw = b"From: =?utf-8?q?J=C3=B6rg?= <Joerg@Example.ORG>\r\nSubject: Hi\r\n there\r\n\r\nbody"
    assert sender_and_subject(raw) == ("joerg@example.org", "Hi there")
    assert sender_and_subject(b"\x00\xff garbage") == ("", "")


def test_a_store_dead_letter_is_applied_again_after_the_fix(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    alice = builders.client(uow)
    settings = Settings()
    topic = settings.topics.ticket_commands
    cmd = AddMessage(
        email_id="e-2", gateway_id="gw", ticket_id="BBBBBBBBBB", client_id=alice.id,
        content=MailContent(from_address="alice@example.org", text="more"),
    )  # fmt: skip

    class Rec:
        partition, offset, key, value = 0, 7, str(alice.id).encode(), codec.dumps(cmd)

    Rec.topic = topic
    report = BatchApplier(settings.topics).apply(uow, [Rec()])
    assert len(report.dead) == 1  # no such ticket yet
    row = uow.session.query(DeadLetterRecord).one()
    assert (row.stage, row.source_topic, row.payload) == (f"store:{topic}", topic, Rec.value)

    first = reprocess(uow, settings, [row.id])  # not fixed yet: refused again, still open
    assert first[0].status == "open" and "failed again" in first[0].message
    mail_commands.open_ticket_from_mail(
        uow, builders.open_command(alice, dep, email_id="e-1", ticket_id="BBBBBBBBBB")
    )  # the fix: the ticket exists now
    done = reprocess(uow, settings, [row.id])
    assert done[0].status == "resolved", done
    assert row.result == "applied" and row.reprocess_count == 2
    again = reprocess(uow, settings, [row.id])  # idempotent
    assert "already resolved" in again[0].message and row.reprocess_count == 2
    assert [a.action for a in uow.audits].count("reprocess dead letter") == 2


def test_letters_that_are_no_mail_are_not_reprocessed(uow: FakeUnitOfWork) -> None:
    letter = DeadLetter(email_id="grant-abc", stage="router.incidents", reason="bad grant")
    row = operations.record_dead_letter(uow, letter)
    uow.flush()
    result = reprocess(uow, Settings(), [row.id, 999])
    assert [r.message for r in result] == [
        "not a mail: nothing to re-publish",
        "not found: dead letter 999",
    ]
    assert row.status == "open" and dead_letters.get(uow, row.id) is row


def test_sender_and_subject_encoded_words_folded_lines_and_the_first_of_each() -> None:
    raw = (
        b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n  aus Berlin\r\n"
        b"From: =?utf-8?q?Doe=2C_J=C3=B6rg?= <JD@X.org>, other@y.org\r\n"
        b"Subject: second\r\n\r\nFrom: body@not.header\r\n"
    )
    assert sender_and_subject(raw) == ("jd@x.org", "Grüße aus Berlin")


def test_a_subject_without_encoded_words_reads_as_the_email_header_module_reads_it() -> None:
    """The shortcut for subjects with no `=?` gives what decode_header/make_header give."""
    from email.header import decode_header, make_header

    for subject in ("request 12", "  Hello \t  world ", "Grüße aus Köln", "日本語", "a =? b", ""):
        raw = f"From: a@b.org\r\nSubject: {subject}\r\n\r\nbody".encode()
        expected = " ".join(str(make_header(decode_header(subject))).split())
        assert sender_and_subject(raw) == ("a@b.org", expected)
