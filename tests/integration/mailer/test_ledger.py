"""The shared sent ledger on the real broker: what one mailer writes for a partition, the
next owner of that partition reads back (sent, refused, queued with its schedule)."""

from __future__ import annotations

from kernel.config import Settings
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
