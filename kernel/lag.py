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


def sample(bootstrap: str, group: str, topics: set[str]) -> dict[tuple[str, int], int]:
    """{(topic, partition): lag} for the group's committed partitions of `topics`."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **RECONNECT)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, **RECONNECT)
    try:
        committed = {
            tp: meta.offset
            for tp, meta in admin.list_group_offsets(group).get(group, {}).items()
            if tp.topic in topics and meta.offset >= 0
        }
        ends = consumer.end_offsets(list(committed)) if committed else {}
        return {(tp.topic, tp.partition): max(0, ends[tp] - off) for tp, off in committed.items()}
    finally:
        consumer.close()
        admin.close()


def start_sampler(
    bootstrap: str, group: str, topics: set[str], every_s: float = 5.0
) -> threading.Event:
    """Update LAG every `every_s` in a daemon thread; set the returned event to stop."""
    stopping = threading.Event()

    def loop() -> None:
        failing = False
        while True:
            try:
                for (topic, partition), lag in sample(bootstrap, group, topics).items():
                    LAG.labels(group, topic, str(partition)).set(lag)
                failing = False
            except Exception as exc:  # noqa: BLE001 - metrics never stop the service
                if not failing:
                    log.warning("consumer lag of %s unavailable: %s", group, exc)
                failing = True
            if stopping.wait(every_s):
                return

    threading.Thread(target=loop, name=f"lag-{group}", daemon=True).start()
    return stopping
