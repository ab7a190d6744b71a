"""The gateway directory (`directory.gateways`, compacted): read once, or followed live.

The fetcher reads it once per `--once` run; the LMTP gateway follows it, so a gateway
added while it runs takes mail without a restart. One decoding of the records for both.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kafka import KafkaConsumer
from kafka.structs import TopicPartition

from schemas import codec
from schemas.events import GatewayEntry

log = logging.getLogger(__name__)


def apply_record(
    gateways: dict[str, GatewayEntry], key: bytes | None, value: bytes | None, where: str = ""
) -> None:
    """One record of the topic: the latest entry per gateway wins, a tombstone removes it."""
    gateway_id = (key or b"").decode()
    if value is None:
        gateways.pop(gateway_id, None)
        return
    try:
        gateways[gateway_id] = codec.loads(GatewayEntry, value)
    except ValueError:
        log.warning("unreadable gateway entry %s%s skipped", gateway_id, where)


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
                    apply_record(gateways, r.key, r.value, f" at {tp}@{r.offset}")
                if consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
        return gateways
    finally:
        consumer.close()


class GatewayFeed:
    """Follows the topic in a thread. `loaded` is set once everything published before the
    start has been read (until then an answer "no such gateway" would be a guess). A broker
    that cannot be reached is waited for with backoff, never a reason to stop."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        *,
        on_change: Callable[[dict[str, GatewayEntry]], None] | None = None,
        retry_s: float = 2.0,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.on_change = on_change
        self.retry_s = retry_s
        self.loaded = threading.Event()
        self._stop = threading.Event()
        self._gateways: dict[str, GatewayEntry] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="gateway-feed", daemon=True)

    def start(self) -> GatewayFeed:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def snapshot(self) -> dict[str, GatewayEntry]:
        with self._lock:
            return dict(self._gateways)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._follow()
            except Exception as exc:  # broker away, topic missing: wait and start over
                log.warning("gateway directory %s unreadable (%s); retrying", self.topic, exc)
                self._stop.wait(self.retry_s)

    def _follow(self) -> None:
        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            group_id=None,
            client_id="supportdesk-gateway-feed",
            reconnect_backoff_max_ms=1000,  # a broker back is seen within a second
        )
        try:
            partitions = consumer.partitions_for_topic(self.topic)
            if not partitions:
                raise RuntimeError("topic has no partitions (not created yet?)")
            tps = [TopicPartition(self.topic, p) for p in partitions]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            end = consumer.end_offsets(tps)
            # Read again from the start after a reconnect too, but keep answering from the
            # last complete view until the new one has caught up.
            gateways: dict[str, GatewayEntry] = {}
            loading = True
            while not self._stop.is_set():
                batches = consumer.poll(timeout_ms=500)
                for tp, records in batches.items():
                    for r in records:
                        apply_record(gateways, r.key, r.value, f" at {tp}@{r.offset}")
                if loading:
                    if all(consumer.position(tp) >= end[tp] for tp in tps):
                        loading = False
                        self._publish(gateways)
                elif batches:
                    self._publish(gateways)
        finally:
            consumer.close()

    def _publish(self, gateways: dict[str, GatewayEntry]) -> None:
        with self._lock:
            self._gateways = dict(gateways)
        self.loaded.set()
        if self.on_change is not None:
            self.on_change(dict(gateways))
