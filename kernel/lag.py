"""Consumer lag per partition, sampled in the background for every service's /metrics.

Lag is what an operator watches first: records on the broker that a group has not yet
committed. It is read from the broker (committed offsets against end offsets), so it
means the same for kafka-python groups and faust's.
"""

from __future__ import annotations

import logging
import threading

from kafka import KafkaAdminClient, KafkaConsumer
from prometheus_client import Gauge

from kernel.kafka import RECONNECT

log = logging.getLogger(__name__)

LAG = Gauge(
    "supportdesk_consumer_lag",
    "Records on the broker not yet committed by the group, per partition",
    ("group", "topic", "partition"),
)


class LagReader:
    """Reads a group's lag with two clients kept between rounds: building a Kafka client
    costs a bootstrap and a version probe, too much to do every few seconds in every
    service. After a failure the clients are built again on the next round."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._clients: tuple[KafkaAdminClient, KafkaConsumer] | None = None

    def sample(self, group: str, topics: set[str]) -> dict[tuple[str, int], int]:
        """{(topic, partition): lag} for the group's committed partitions of `topics`."""
        if self._clients is None:
            admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, **RECONNECT)
            try:
                consumer = KafkaConsumer(
                    bootstrap_servers=self.bootstrap, group_id=None, **RECONNECT
                )
            except Exception:
                admin.close()
                raise
            self._clients = (admin, consumer)
        admin, consumer = self._clients
        try:
            committed = {
                tp: meta.offset
                for tp, meta in admin.list_group_offsets(group).get(group, {}).items()
                if tp.topic in topics and meta.offset >= 0
            }
            ends = consumer.end_offsets(list(committed)) if committed else {}
        except Exception:
            self.close()
            raise
        return {(tp.topic, tp.partition): max(0, ends[tp] - off) for tp, off in committed.items()}

    def close(self) -> None:
        if self._clients is not None:
            admin, consumer = self._clients
            self._clients = None
            consumer.close()
            admin.close()


def sample(bootstrap: str, group: str, topics: set[str]) -> dict[tuple[str, int], int]:
    """One round with clients of its own (for a one-off reading)."""
    reader = LagReader(bootstrap)
    try:
        return reader.sample(group, topics)
    finally:
        reader.close()


def start_sampler(
    bootstrap: str, group: str, topics: set[str], every_s: float = 5.0
) -> threading.Event:
    """Update LAG every `every_s` in a daemon thread; set the returned event to stop."""
    stopping = threading.Event()

    def loop() -> None:
        failing = False
        reader = LagReader(bootstrap)
        while True:
            try:
                for (topic, partition), lag in reader.sample(group, topics).items():
                    LAG.labels(group, topic, str(partition)).set(lag)
                failing = False
            except Exception as exc:  # noqa: BLE001 - metrics never stop the service
                if not failing:
                    log.warning("consumer lag of %s unavailable: %s", group, exc)
                failing = True
            if stopping.wait(every_s):
                reader.close()
                return

    threading.Thread(target=loop, name=f"lag-{group}", daemon=True).start()
    return stopping
