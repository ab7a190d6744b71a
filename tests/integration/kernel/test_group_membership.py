"""Static membership and the cooperative assignor on the real broker (issue 12, item 1).

The services' kafka-python consumers join through `kernel.kafka.group_membership`: a
restarted static member takes back its own partitions without a group rebalance, and a
member joining mid-stream takes partitions away without stopping the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener

from kernel.config import Settings
from kernel.kafka import group_membership

# One thread polls every member in turn, and a join can wait on the other member's poll:
# the 30 s bound on settling holds alone on the machine (make test's serial pass), not
# beside other workers on a loaded 2-core machine.
pytestmark = pytest.mark.serial


class Recorder(ConsumerRebalanceListener):
    def __init__(self) -> None:
        self.revoked: list[set[int]] = []
        self.assigned: list[set[int]] = []

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        if revoked:
            self.revoked.append({tp.partition for tp in revoked})

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.assigned.append({tp.partition for tp in assigned})


@pytest.fixture
def topic(kafka_bootstrap: str, kafka_unique_id: str) -> Iterator[str]:
    name = f"test.{kafka_unique_id}.membership"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(name, num_partitions=4, replication_factor=1)])
    yield name
    admin.delete_topics([name])
    admin.close()


def _member(
    bootstrap: str, topic: str, group: str, instance: str, listener: Recorder
) -> KafkaConsumer:
    settings = Settings(kafka_bootstrap=bootstrap, instance_name=instance)
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
        **group_membership(settings, "store"),
    )
    consumer.subscribe([topic], listener=listener)
    return consumer


def _owned(consumer: KafkaConsumer) -> set[int]:
    return {tp.partition for tp in consumer.assignment()}


def _poll_until(
    members: list[KafkaConsumer], done: Callable[[], bool], timeout_s: float = 30.0
) -> float:
    start = time.monotonic()
    while not done():
        assert time.monotonic() - start < timeout_s, "the group did not settle in time"
        for m in members:
            m.poll(timeout_ms=100)
    return time.monotonic() - start


def _settled(members: list[KafkaConsumer], partitions: int = 4) -> Callable[[], bool]:
    def done() -> bool:
        owned = [_owned(m) for m in members]
        return sum(map(len, owned)) == partitions and set().union(*owned) == set(range(partitions))

    return done


def _stable(members: list[KafkaConsumer], rounds: int = 20) -> Callable[[], bool]:
    """True once the assignment held for `rounds` polls (about 2 s) in a row."""
    seen: list[list[set[int]]] = []

    def done() -> bool:
        seen.append([_owned(m) for m in members])
        return len(seen) >= rounds and all(s == seen[-1] for s in seen[-rounds:])

    return done


def test_membership_is_cooperative_and_static_when_named() -> None:
    options = group_membership(Settings(instance_name=""), "store")
    assert "group_instance_id" not in options
    named = group_membership(Settings(instance_name="host-2"), "mailer")
    assert named["group_instance_id"] == "host-2-mailer"
    assert [a.name for a in named["partition_assignment_strategy"]] == ["cooperative-sticky"]


def test_restarted_static_member_takes_back_its_partitions_without_rebalance(
    kafka_bootstrap: str, topic: str, kafka_unique_id: str
) -> None:
    group = f"test.{kafka_unique_id}.static"
    rec_a, rec_b = Recorder(), Recorder()
    a = _member(kafka_bootstrap, topic, group, "a", rec_a)
    b = _member(kafka_bootstrap, topic, group, "b", rec_b)
    _poll_until([a, b], lambda: bool(_owned(a)) and _settled([a, b])())
    _poll_until([a, b], _stable([a, b]))  # no rebalance still under way
    a_owned, b_owned = _owned(a), _owned(b)
    b_revocations = len(rec_b.revoked)

    a.close()  # a static member sends no LeaveGroup: as if the process died
    rec_a2 = Recorder()
    a2 = _member(kafka_bootstrap, topic, group, "a", rec_a2)
    took = _poll_until([a2, b], lambda: _owned(a2) == a_owned, timeout_s=40)
    for _ in range(10):  # give a rebalance, were one started, the time to reach b
        b.poll(timeout_ms=100)
        a2.poll(timeout_ms=100)

    assert _owned(a2) == a_owned
    assert _owned(b) == b_owned
    assert len(rec_b.revoked) == b_revocations, "b's partitions moved: the group rebalanced"
    print(f"static member back on partitions {sorted(a_owned)} in {took:.2f}s")
    a2.close()
    b.close()


def test_joining_member_does_not_stop_the_others(
    kafka_bootstrap: str, topic: str, kafka_unique_id: str
) -> None:
    group = f"test.{kafka_unique_id}.cooperative"
    rec_a, rec_b = Recorder(), Recorder()
    a = _member(kafka_bootstrap, topic, group, "", rec_a)
    _poll_until([a], _settled([a]))
    assert _owned(a) == {0, 1, 2, 3}

    b = _member(kafka_bootstrap, topic, group, "", rec_b)
    _poll_until([a, b], lambda: len(_owned(b)) == 2 and _settled([a, b])())

    # Eager assignment would revoke all four from a first; cooperative revokes only
    # the two that move, and a keeps the other two throughout.
    assert rec_a.revoked and all(len(r) < 4 for r in rec_a.revoked)
    moved = set().union(*rec_a.revoked)
    assert moved == _owned(b)
    assert _owned(a) == {0, 1, 2, 3} - moved
    a.close()
    b.close()
