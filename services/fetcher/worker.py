"""The fetcher process: share the gateways with other fetchers, one thread per gateway.

Sharing: every fetcher joins one consumer group on the compacted
`directory.gateways` topic (keyed by gateway id). Kafka assigns partitions;
a fetcher polls exactly the gateways in its partitions. On a rebalance the
revoke callback stops and joins the threads of the revoked partitions before
it returns, so two fetchers never poll one gateway at once; a fetcher killed
with -9 drops out of the group after `session_timeout_ms` and its partitions
(and so its gateways) move to the others. Per-gateway transactional ids fence
any straggler on top of that (see gateway.py).

Each gateway runs in its own thread with its own connection, backoff and
producer, so one slow or failing mailbox never delays another.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from kafka.structs import TopicPartition

from kernel import health
from kernel.blobs import BlobStore
from kernel.config import Settings
from kernel.kafka import group_membership, reliable_producer, wait_for_broker
from kernel.oauth2.records import KafkaTokenStore
from kernel.oauth2.tokens import TokenManager
from schemas import codec
from schemas.events import GatewayEntry
from services.fetcher import metrics
from services.fetcher.directory import read_gateways
from services.fetcher.gateway import GatewayRunner
from services.fetcher.options import FetcherOptions
from services.fetcher.state import HEALTH_PREFIX, GatewayHealth, ensure_state_topic

log = logging.getLogger(__name__)


class GatewayThread:
    """A runner and the thread that runs it."""

    def __init__(self, runner: GatewayRunner) -> None:
        self.runner = runner
        self.thread = threading.Thread(
            target=runner.run, name=f"gateway-{runner.entry.name}", daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def signal_stop(self) -> None:
        self.runner.stop_event.set()

    def join(self, timeout: float) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()


class _Listener(ConsumerRebalanceListener):
    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.fetcher._revoke(set(revoked))

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.fetcher._assign(set(assigned))


class Fetcher:
    def __init__(
        self,
        settings: Settings,
        *,
        ca_file: str | None = None,
        options: FetcherOptions | None = None,
    ) -> None:
        self.settings = settings
        self.options = options or FetcherOptions.from_env()
        self.blobs = BlobStore(settings.blob_dir)
        self.ca_file = ca_file or settings.ca_file
        self.owner = f"{os.uname().nodename}:{os.getpid()}"
        self.stopping = threading.Event()
        self._health_producer: KafkaProducer | None = None
        self._health_lock = threading.Lock()
        self._health_sent: dict[str, tuple[tuple[object, ...], float]] = {}
        # Partition → gateway id → entry, for the partitions this fetcher owns.
        self.entries: dict[TopicPartition, dict[str, GatewayEntry]] = {}
        # Partitions still being read up to the end offset seen at assignment.
        self.loading: dict[TopicPartition, int | None] = {}
        self.threads: dict[str, GatewayThread] = {}
        self._consumer: KafkaConsumer | None = None
        self.ready = threading.Event()  # set once every assigned partition is loaded
        # OAuth2 gateways' tokens: one manager (and one reader of gateway.tokens) per process.
        self.tokens = TokenManager(settings, KafkaTokenStore(settings))

    # ------------------------------------------------------------ health

    def _health_out(self) -> KafkaProducer:
        if self._health_producer is None:
            self._health_producer = reliable_producer(
                self.settings, linger_ms=20, client_id="supportdesk-fetcher-health"
            )
        return self._health_producer

    def publish_health(self, health: GatewayHealth) -> None:
        """Throttled: on any change of substance, else every health_every_s."""
        sig = (
            health.status,
            health.consecutive_failures,
            health.last_error,
            health.mails_taken,
            health.idle,
            health.owner,
        )
        now = time.monotonic()
        with self._health_lock:
            prev = self._health_sent.get(health.gateway_id)
            if prev is not None and prev[0] == sig and now - prev[1] < self.options.health_every_s:
                return
            self._health_sent[health.gateway_id] = (sig, now)
            self._health_out().send(
                self.settings.topics.fetcher_state,
                key=f"{HEALTH_PREFIX}{health.gateway_id}".encode(),
                value=health.model_dump_json().encode(),
            )

    def _health_tombstone(self, gateway_id: str) -> None:
        with self._health_lock:
            self._health_sent.pop(gateway_id, None)
            self._health_out().send(
                self.settings.topics.fetcher_state,
                key=f"{HEALTH_PREFIX}{gateway_id}".encode(),
                value=None,
            )

    # ------------------------------------------------------------ runners

    def make_runner(self, entry: GatewayEntry) -> GatewayRunner:
        return GatewayRunner(
            entry,
            self.settings,
            self.options,
            blobs=self.blobs,
            ca_file=self.ca_file,
            owner=self.owner,
            health_sink=self.publish_health,
            tokens=self.tokens,
        )

    def _start_gateway(self, entry: GatewayEntry) -> None:
        if not entry.polled or entry.gateway_id in self.threads:
            return
        t = GatewayThread(self.make_runner(entry))
        self.threads[entry.gateway_id] = t
        t.start()
        metrics.GATEWAYS_OWNED.set(len(self.threads))
        log.info("gateway %s (%s): now polled here", entry.name, entry.gateway_id)

    def _stop_gateways(self, gateway_ids: list[str]) -> None:
        """Signal all first, then join: stopping N gateways takes one timeout, not N."""
        stopping = [self.threads.pop(g) for g in gateway_ids if g in self.threads]
        for t in stopping:
            t.signal_stop()
        for t in stopping:
            if not t.join(self.options.stop_timeout_s):
                log.error(
                    "gateway %s did not stop in %.0fs; its transactional id fences it",
                    t.runner.entry.name,
                    self.options.stop_timeout_s,
                )
        metrics.GATEWAYS_OWNED.set(len(self.threads))

    # ------------------------------------------------------------ rebalance

    def _revoke(self, revoked: set[TopicPartition]) -> None:
        gids = [g for tp in revoked for g in self.entries.get(tp, {})]
        self._stop_gateways(gids)
        for tp in revoked:
            self.entries.pop(tp, None)
            self.loading.pop(tp, None)
        if gids:
            log.info("revoked %d partition(s), stopped %d gateway(s)", len(revoked), len(gids))

    def _assign(self, assigned: set[TopicPartition]) -> None:
        consumer = self._consumer
        assert consumer is not None
        self.ready.clear()
        for tp in assigned:
            self.entries[tp] = {}
            self.loading[tp] = None
        if assigned:
            consumer.seek_to_beginning(*assigned)  # the topic is compacted: read it all
        log.info("assigned partitions %s", sorted(tp.partition for tp in assigned))

    def _apply(self, tp: TopicPartition, key: str, value: bytes | None) -> None:
        part = self.entries.setdefault(tp, {})
        old = part.get(key)
        if value is None:
            part.pop(key, None)
            entry = None
        else:
            try:
                entry = codec.loads(GatewayEntry, value)
            except ValueError:
                log.warning("unreadable gateway entry %s skipped", key)
                return
            part[key] = entry
        if tp in self.loading:
            return  # workers start when the partition is fully read
        if old == entry:
            return
        self._stop_gateways([key])
        if entry is None or not entry.polled:
            self._health_tombstone(key)
        else:
            self._start_gateway(entry)

    def _finish_loading(self, consumer: KafkaConsumer) -> None:
        if not self.loading:
            return
        pending = [tp for tp, end in self.loading.items() if end is None]
        if pending:
            for tp, end in consumer.end_offsets(pending).items():
                self.loading[tp] = end
        for tp, end in list(self.loading.items()):
            if end is not None and consumer.position(tp) >= end:
                del self.loading[tp]
                for entry in self.entries.get(tp, {}).values():
                    self._start_gateway(entry)
        if not self.loading:
            self.ready.set()

    # ------------------------------------------------------------ main loops

    def run(self, *, once: bool = False) -> None:
        """Share the gateways with the other fetchers until stopped (or poll all once)."""
        if not once:
            health.serve(self.settings.health_port)
        # Started while the broker is down, the fetcher waits (its state says so).
        if not wait_for_broker(self.settings, self.stopping):
            return
        health.set_state("running")
        ensure_state_topic(
            self.settings.kafka_bootstrap,
            self.settings.topics.fetcher_state,
            self.settings.topic_partitions,
        )
        if once:
            self.run_once()
            return
        metrics.serve(self.options.metrics_port)
        consumer = KafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.options.group(self.settings),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self.options.session_timeout_ms,
            heartbeat_interval_ms=self.options.heartbeat_interval_ms,
            max_poll_interval_ms=self.options.max_poll_interval_ms,
            client_id=f"supportdesk-fetcher-{self.owner}",
            **group_membership(self.settings, "fetcher"),
        )
        self._consumer = consumer
        consumer.subscribe([self.settings.topics.gateways], listener=_Listener(self))
        try:
            while not self.stopping.is_set():
                try:
                    batches = consumer.poll(timeout_ms=500)
                except KafkaError as exc:
                    # The broker went away under a running fetcher (the chaos run saw
                    # ECONNREFUSED from the coordinator lookup): wait for it, never exit.
                    log.warning("directory poll failed (%s)", exc)
                    if not wait_for_broker(self.settings, self.stopping):
                        break
                    continue
                for tp, records in batches.items():
                    if tp not in self.entries:
                        continue  # revoked meanwhile
                    for r in records:
                        self._apply(tp, (r.key or b"").decode(), r.value)
                self._finish_loading(consumer)
        finally:
            self._stop_gateways(list(self.threads))
            self.entries.clear()
            consumer.close()  # leaves the group now: the others take over at once
            self._consumer = None

    def run_once(self, gateways: dict[str, GatewayEntry] | None = None) -> dict[str, int]:
        """Poll every enabled gateway once, in parallel; returns mails taken per gateway id.

        For `supportdesk fetcher --once` and cron-style use; not coordinated with a
        running group (per-gateway transactional ids still fence a concurrent owner).
        """
        if gateways is None:
            gateways = read_gateways(self.settings.kafka_bootstrap, self.settings.topics.gateways)
        results: dict[str, int] = {}

        def one(entry: GatewayEntry) -> None:
            runner = self.make_runner(entry)
            try:
                results[entry.gateway_id] = runner.poll_once()
                runner.record_success(results[entry.gateway_id])
            except Exception as exc:
                message = runner.record_failure(exc)
                log.warning("gateway %s: poll failed (%s)", entry.name, message)
            finally:
                runner.close()

        threads = [
            threading.Thread(target=one, args=(e,), name=f"gateway-{e.name}")
            for e in gateways.values()
            if e.polled
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if self._health_producer is not None:
            self._health_producer.flush(timeout=10)
        return results

    def stop(self) -> None:
        self.stopping.set()

    def owned(self) -> dict[str, GatewayEntry]:
        """Gateways this fetcher polls right now (tests and operators)."""
        return {g: t.runner.entry for g, t in list(self.threads.items())}

    def close(self) -> None:
        self.stop()
        self._stop_gateways(list(self.threads))
        if self._health_producer is not None:
            self._health_producer.close(timeout=10)
            self._health_producer = None


def run_in_thread(fetcher: Fetcher) -> Callable[[], None]:
    """Start `fetcher.run()` in a thread; returns a function that stops and joins it."""
    t = threading.Thread(target=fetcher.run, name="fetcher", daemon=True)
    t.start()

    def stop() -> None:
        fetcher.stop()
        t.join(60)
        fetcher.close()

    return stop
