"""Fencing: a mailer proves to the group coordinator that it still owns an outbound
partition right before it does what only the owner may do (send a mail of that
partition, write a ``queued`` state to the partition's sent ledger).

Why: the consumer group gives each partition one owner per generation, but a member
learns that it lost a partition only when it next talks to the coordinator (a
heartbeat, a poll that rejoins). Until then it still fetches and would still send: an
instance frozen past the session timeout, or one cut off while the broker restarted,
sent the same notices as the partition's new owner (the chaos run, 2 Dec). The sent
ledger alone cannot stop that: both read it before either wrote.

How: the proof is a synchronous offset commit of the partition's *current* position
(the record about to be handled, not the one after it; for the retry queue, the next
unhandled record). The broker takes a commit only from a member of the current
generation (else ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID or
REBALANCE_IN_PROGRESS), and kafka-python sends one only while its member is stable,
with the generation whose assignment its poll() applied. In any generation a
partition has one owner, so at most one instance passes the check for a partition at
a time. A refused (or unanswered) check means: send nothing of that partition, leave
its records uncommitted past the one in hand, and let the owner send them (its fetch
starts at the committed offset, which is that record).

The check runs again right before the "sent" record that precedes the SMTP dot
(services.mailer.smtp). What is left: an instance that passes that check and then
freezes for longer than the session timeout before its ledger write may still send
once after the new owner did (SMTP cannot take part in the group's fencing); the
window is one ledger write, not an SMTP transaction or the records of a whole poll.
"""

from __future__ import annotations

import logging

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import FencedInstanceIdError, KafkaError, KafkaTimeoutError
from kafka.structs import OffsetAndMetadata

log = logging.getLogger(__name__)


class Fenced(Exception):  # noqa: N818 - a state, not a failure of the caller
    """This instance could not show that it owns the partition: its mail is the owner's."""

    def __init__(self, partition: int, reason: str) -> None:
        super().__init__(f"partition {partition}: {reason}")
        self.partition = partition


class NoFence:
    """A mailer outside a consumer group (tests, one-off sends): it owns every partition."""

    def at(self, partition: int, offset: int) -> None:
        return None

    def check(self, partition: int) -> None:
        return None


class PartitionFence:
    """The ownership check of a consumer-group mailer, one synchronous commit per check."""

    def __init__(self, consumer: KafkaConsumer, topic: str, timeout_ms: int = 5_000) -> None:
        self.consumer = consumer
        self.topic = topic
        self.timeout_ms = timeout_ms
        self._offsets: dict[int, int] = {}  # partition -> the next record to handle

    def at(self, partition: int, offset: int) -> None:
        """The record at ``offset`` is the next of this partition to be handled."""
        self._offsets[partition] = offset

    def forget(self, partition: int) -> None:
        self._offsets.pop(partition, None)

    def check(self, partition: int) -> None:
        """Raises Fenced unless the coordinator takes a commit from this member now."""
        tp = TopicPartition(self.topic, partition)
        if tp not in self.consumer.assignment():
            self.forget(partition)
            log.info("partition %d: no longer assigned here; leaving its mail to the owner",
                     partition)  # fmt: skip
            raise Fenced(partition, "not assigned to this instance")
        try:
            offset = self._offsets.get(partition)
            if offset is None:  # nothing handled yet since it came: where the fetch starts
                offset = self.consumer.position(tp, timeout_ms=self.timeout_ms)
                if offset is None:
                    raise Fenced(partition, "no position yet")
            self.consumer.commit({tp: OffsetAndMetadata(offset, "", -1)},
                                 timeout_ms=self.timeout_ms)  # fmt: skip
        except FencedInstanceIdError as exc:
            # Another process runs with this instance name: a second copy of one instance.
            log.error("partition %d: fenced by another process with this instance name", partition)
            raise Fenced(partition, "another process has this group instance id") from exc
        except KafkaTimeoutError as exc:
            log.warning("partition %d: ownership not confirmed (%s); not sending", partition, exc)
            raise Fenced(partition, "the coordinator did not answer") from exc
        except KafkaError as exc:
            log.warning("partition %d: no longer the owner (%s); leaving its mail to the owner",
                        partition, exc)  # fmt: skip
            raise Fenced(partition, f"not the owner: {type(exc).__name__}") from exc
