"""The shared sent ledger on the real broker: what one mailer writes for a partition, the
next owner of that partition reads back (sent, refused, queued with its schedule)."""

from __future__ import annotations

import pytest

from kernel.config import Settings
from services.mailer.fence import Fenced
from services.mailer.ledger import Queued, SentLedger
from tests.integration.mailer.conftest import ledger_settings


def test_the_next_owner_of_a_partition_sees_every_state(
    kafka_bootstrap: str, kafka_topic_prefix: str
) -> None:
    settings: Settings = ledger_settings(kafka_bootstrap, kafka_topic_prefix)
    settings = settings.model_copy(update={"topic_partitions": 2})
    first, second = SentLedger(settings), SentLedger(settings)
    try:
        first.take([0, 1])
        first.record("sent-1", 0)
        first.enqueue("later-1", 0, b"{}", 100.0, 160.0, "451 busy")
        first.reschedule("later-1", 2, 220.0, "451 still busy")
        first.enqueue("refused-1", 0, b"{}", 100.0, 160.0, "451")
        first.drop("refused-1", 0)
        first.enqueue("later-2", 1, b'{"x": 1}', 100.0, 130.0, "421")
        assert first.queue_length() == 2 and first.partitions == {0, 1}

        second.take([0])  # partition 1 stays with the first
        assert second.seen("sent-1", 0) and second.seen("refused-1", 0)
        assert not second.seen("later-1", 0) and second.queued("later-1")
        assert not second.queued("later-2") and second.queue_length() == 1
        assert second.due(219.0) == []
        assert second.due(220.0) == [Queued("later-1", 0, b"{}", 2, 100.0, 220.0, "451 still busy")]

        first.release([0])  # gone to the second: its queue no longer retried here
        assert first.partitions == {1} and [q.outbound_id for q in first.due(1e9)] == ["later-2"]
        second.record("later-1", 0)
        third = SentLedger(settings)
        try:
            third.take([0])
            assert third.seen("later-1", 0) and third.queue_length() == 0
        finally:
            third.close()
    finally:
        first.close()
        second.close()


def test_a_stale_owner_catches_up_before_a_send_and_cannot_queue_once_fenced(
    kafka_bootstrap: str, kafka_topic_prefix: str
) -> None:
    """Two instances that both loaded partition 0 (one of them no longer its owner):
    `claim` reads what the other wrote since; with the ownership check refusing, a
    ``queued`` state is never written (it could bury the owner's ``sent``)."""
    settings = ledger_settings(kafka_bootstrap, kafka_topic_prefix)
    stale, owner, later = SentLedger(settings), SentLedger(settings), SentLedger(settings)
    try:
        stale.take([0])
        stale.record("mine", 0)
        owner.take([0])
        owner.record("sent-by-owner", 0)
        owner.enqueue("queued-by-owner", 0, b"{}", 100.0, 160.0, "451")
        assert not stale.seen("sent-by-owner", 0) and not stale.queued("queued-by-owner")

        stale.claim(0)
        assert stale.seen("sent-by-owner", 0) and stale.queued("queued-by-owner")
        assert stale.seen("mine", 0) and stale.queue_length() == 1

        def refuse(partition: int) -> None:
            raise Fenced(partition, "not the owner")

        stale.fence = refuse
        with pytest.raises(Fenced):
            stale.claim(0)
        with pytest.raises(Fenced):
            stale.enqueue("queued-by-stale", 0, b"{}", 100.0, 160.0, "451")
        with pytest.raises(Fenced):
            stale.reschedule("queued-by-owner", 2, 999.0, "451 again")
        stale.record("sent-anyway", 0)  # a fact: written without the check

        later.take([0])
        assert not later.queued("queued-by-stale") and later.seen("sent-anyway", 0)
        assert later.entry("queued-by-owner") == Queued(
            "queued-by-owner", 0, b"{}", 1, 100.0, 160.0, "451"
        )
    finally:
        stale.close()
        owner.close()
        later.close()
