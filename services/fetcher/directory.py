"""The gateways a fetcher knows about, read from the compacted directory topic."""

from __future__ import annotations

import logging

from kafka import KafkaConsumer
from kafka.structs import TopicPartition

from schemas import codec
from schemas.events import GatewayEntry

log = logging.getLogger(__name__)


def read_gateways(bootstrap: str, topic: str, timeout_s: float = 10.0) -> dict[str, GatewayEntry]:
    """Read the whole topic up to its end; the latest entry per gateway wins."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        gateways: dict[str, GatewayEntry] = {}
        remaining = {tp for tp in tps if end[tp] > 0}
        while remaining:
            batches = consumer.poll(timeout_ms=int(timeout_s * 1000))
            if not batches:
                break
            for tp, records in batches.items():
                for r in records:
                    key = (r.key or b"").decode()
                    if r.value is None:
                        gateways.pop(key, None)
                        continue
                    try:
                        gateways[key] = codec.loads(GatewayEntry, r.value)
                    except ValueError:
                        log.warning("unreadable gateway entry at %s@%s skipped", tp, r.offset)
                if consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
        return gateways
    finally:
        consumer.close()
