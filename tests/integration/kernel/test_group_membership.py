"""Static membership and the cooperative assignor on the real broker (issue 12, item 1).

The services' kafka-python consumers join through `kernel.kafka.group_membership`: a
restarted static member takes back its own partitions without a group rebalance, and a
member joining mid-stream takes partitions away without stopping the others.

Each member polls in a thread of its own, as each service does: a join waits for every
member's next poll, so one thread polling two members in turn can stall the group.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener

from kernel.config import Settings
from kernel.kafka import group_membership

# Bounds on settling (seconds): kept alone on the machine, in make test's serial pass.
pytestmark = pytest.mark.serial


class Member(ConsumerRebalanceListener):
    """One group member polling in its own thread; records what it was given and lost."""

    def __init__(self, bootstrap: str, topic: str, group: str, instance: str) -> None:
        self.revoked: list[set[int]] = []
        self._owned: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        settings = Settings(kafka_bootstrap=bootstrap, instance_name=instance)
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group,
            enable_auto_commit=False,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
            **group_membership(settings, "store"),
        )
        self.consumer.subscribe([topic], listener=self)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.consumer.poll(timeout_ms=100)
        self.consumer.close()  # a static member sends no LeaveGroup: as if it died

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        if revoked:
            with self._lock:
                self.revoked.append({tp.partition for tp in revoked})
                self._owned -= {tp.partition for tp in revoked}

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        with self._lock:
            self._owned |= {tp.partition for tp in assigned}

    @property
    def owned(self) -> set[int]:
        with self._lock:
            return set(self._owned)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


@pytest.fixture
def topic(kafka_bootstrap: str, kafka_unique_id: str) -> Iterator[str]:
    name = f"test.{kafka_unique_id}.membership"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(name, num_partitions=4, replication_factor=1)])
    yield name
    admin.delete_topics([name])
    admin.close()


def _wait(done: Callable[[], bool], timeout_s: float, what: str) -> float:
    start = time.monotonic()
    while not done():
        assert time.monotonic() - start < timeout_s, f"timed out waiting for {what}"
        time.sleep(0.05)
    return time.monotonic() - start


def _split(members: list[Member], partitions: int = 4) -> Callable[[], bool]:
    """All partitions owned, each by one member, and every member owning some."""

    def done() -> bool:
        owned = [m.owned for m in members]
        return (
            all(owned)
            and sum(map(len, owned)) == partitions
            and set().union(*owned) == set(range(partitions))
        )

    return done


def _steady(members: list[Member], for_s: float = 2.0) -> None:
    """Wait until the assignment held for `for_s` seconds (no rebalance under way)."""
    seen, since = [m.owned for m in members], time.monotonic()
    deadline = since + 30
    while time.monotonic() - since < for_s:
        assert time.monotonic() < deadline, "the group kept rebalancing"
        time.sleep(0.1)
        now = [m.owned for m in members]
        if now != seen:
            seen, since = now, time.monotonic()


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
    a = Member(kafka_bootstrap, topic, group, "a")
    b = Member(kafka_bootstrap, topic, group, "b")
    try:
        _wait(_split([a, b]), 60, "the group to settle")
        _steady([a, b])
        a_owned, b_owned = a.owned, b.owned
        b_revocations = len(b.revoked)

        a.stop()  # closed without leaving: the broker keeps a's place for the session
        a2 = Member(kafka_bootstrap, topic, group, "a")
        took = _wait(lambda: a2.owned == a_owned, 40, "the restarted member's partitions")
        time.sleep(2)  # a rebalance, were one started, would reach b by now

        assert a2.owned == a_owned
        assert b.owned == b_owned
        assert len(b.revoked) == b_revocations, "b's partitions moved: the group rebalanced"
        print(f"static member back on partitions {sorted(a_owned)} in {took:.2f}s")
        a2.stop()
    finally:
        b.stop()


def test_joining_member_does_not_stop_the_others(
    kafka_bootstrap: str, topic: str, kafka_unique_id: str
) -> None:
    group = f"test.{kafka_unique_id}.cooperative"
    a = Member(kafka_bootstrap, topic, group, "")
    try:
        _wait(lambda: a.owned == {0, 1, 2, 3}, 60, "the first member to own everything")
        b = Member(kafka_bootstrap, topic, group, "")
        try:
            _wait(lambda: len(b.owned) == 2 and _split([a, b])(), 60, "the two to share")
            # Eager assignment would revoke all four from a first; cooperative revokes
            # only the two that move, and a keeps the other two throughout.
            assert a.revoked and all(len(r) < 4 for r in a.revoked)
            moved = set().union(*a.revoked)
            assert moved == b.owned
            assert a.owned == {0, 1, 2, 3} - moved
        finally:
            b.stop()
    finally:
        a.stop()
