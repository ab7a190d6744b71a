"""The ownership check's decisions, with a stand-in consumer: what it commits, and that
every refusal or silence of the coordinator means "not the owner" (the real refusals
are tested on the broker in tests/integration/mailer/test_stale_owner.py)."""

from __future__ import annotations

from typing import Any

import pytest
from kafka import TopicPartition
from kafka.errors import (
    CommitFailedError,
    FencedInstanceIdError,
    IllegalStateError,
    KafkaTimeoutError,
    RebalanceInProgressError,
)

from services.mailer.fence import Fenced, NoFence, PartitionFence

TOPIC = "mail.outbound"


class Consumer:
    def __init__(self, assigned: set[int], error: Exception | None = None) -> None:
        self.assigned = {TopicPartition(TOPIC, p) for p in assigned}
        self.error = error
        self.commits: list[tuple[TopicPartition, int]] = []
        self.positions = 0

    def assignment(self) -> set[TopicPartition]:
        return self.assigned

    def position(self, tp: TopicPartition, timeout_ms: int | None = None) -> int:
        self.positions += 1
        return 40

    def commit(self, offsets: dict[TopicPartition, Any], timeout_ms: int | None = None) -> None:
        if self.error is not None:
            raise self.error
        self.commits += [(tp, meta.offset) for tp, meta in offsets.items()]


def test_the_check_commits_the_record_in_hand_not_the_one_after() -> None:
    consumer = Consumer({0, 1})
    fence = PartitionFence(consumer, TOPIC)  # type: ignore[arg-type]
    fence.at(1, 17)
    fence.check(1)
    assert consumer.commits == [(TopicPartition(TOPIC, 1), 17)]


def test_without_a_record_in_hand_it_commits_where_the_fetch_stands() -> None:
    consumer = Consumer({0})
    fence = PartitionFence(consumer, TOPIC)  # type: ignore[arg-type]
    fence.check(0)
    assert consumer.commits == [(TopicPartition(TOPIC, 0), 40)] and consumer.positions == 1
    fence.at(0, 41)
    fence.forget(0)  # moved away and back: where the fetch stands again, never a stale one
    fence.check(0)
    assert consumer.commits[-1] == (TopicPartition(TOPIC, 0), 40)


def test_a_partition_no_longer_assigned_is_refused_without_asking() -> None:
    consumer = Consumer({0})
    fence = PartitionFence(consumer, TOPIC)  # type: ignore[arg-type]
    fence.at(1, 5)
    with pytest.raises(Fenced) as caught:
        fence.check(1)
    assert caught.value.partition == 1 and consumer.commits == []


@pytest.mark.parametrize(
    "error",
    [
        CommitFailedError("UnknownMemberIdError"),  # what kafka-python makes of the broker's
        CommitFailedError("IllegalGenerationError"),  # UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION
        RebalanceInProgressError(),  # rejoining: the generation is not settled yet
        FencedInstanceIdError(),  # another process with this instance name
        KafkaTimeoutError(),  # the coordinator did not answer: not proven, so not sent
        IllegalStateError("Partition is not assigned"),
    ],
)
def test_every_refusal_or_silence_means_not_the_owner(error: Exception) -> None:
    fence = PartitionFence(Consumer({0}, error), TOPIC)  # type: ignore[arg-type]
    fence.at(0, 3)
    with pytest.raises(Fenced):
        fence.check(0)


def test_outside_a_group_every_partition_is_owned() -> None:
    NoFence().check(7)
