"""Puts a delivery's raw emails on `mail.raw` and says whether the broker acknowledged them.

One producer shared by every LMTP session (kafka-python's is thread-safe), made on first
use: a broker that is away at start-up is a 451 to the MTA, not a crash. After a failure
the producer is replaced, so nothing the MTA was told to retry is sent later on its own
(and if it was, the retry has the same email id, which the router and the store drop).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from kafka import KafkaProducer

from kernel.config import Settings
from kernel.kafka import reliable_producer
from schemas import codec
from schemas.events import RawEmail

log = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """The broker did not acknowledge in time; the MTA should keep the mail and retry."""


class RawPublisher:
    def __init__(
        self,
        settings: Settings,
        ack_timeout_s: float,
        make_producer: Callable[[], KafkaProducer] | None = None,
    ) -> None:
        self.settings = settings
        self.ack_timeout_s = ack_timeout_s
        self._make = make_producer or self._default_producer
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def _default_producer(self) -> KafkaProducer:
        timeout_ms = int(self.ack_timeout_s * 1000)
        return reliable_producer(
            self.settings,
            client_id="supportdesk-lmtp",
            linger_ms=0,  # a waiting MTA session, not throughput, sets the pace
            max_request_size=1024 * 1024,  # inline mail is up to ~700 KB of JSON
            # Every wait bounded by the ack timeout, a broker that is away included ...
            bootstrap_timeout_ms=timeout_ms,
            max_block_ms=timeout_ms,
            request_timeout_ms=max(1000, timeout_ms // 2),
            delivery_timeout_ms=timeout_ms,
            # ... and one that is back found within a second, not after a 30 s backoff.
            reconnect_backoff_max_ms=1000,
        )

    def _get(self) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                self._producer = self._make()
            return self._producer

    def _drop(self, producer: KafkaProducer) -> None:
        with self._lock:
            if self._producer is producer:
                self._producer = None
        try:
            producer.close(timeout=0)
        except Exception:
            log.debug("producer close failed", exc_info=True)

    def publish(self, raws: list[RawEmail]) -> None:
        """Blocks until every raw email is acknowledged (acks=all) or raises BrokerUnavailable."""
        if not raws:
            return
        deadline = time.monotonic() + self.ack_timeout_s
        try:
            producer = self._get()
        except Exception as exc:  # NoBrokersAvailable and the like
            raise BrokerUnavailable(f"no producer: {type(exc).__name__}: {exc}") from exc
        try:
            futures = [
                producer.send(
                    self.settings.topics.raw, key=raw.gateway_id.encode(), value=codec.dumps(raw)
                )
                for raw in raws
            ]
            for f in futures:
                f.get(timeout=max(0.1, deadline - time.monotonic()))
        except Exception as exc:
            self._drop(producer)
            raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=5)
            except Exception:
                log.debug("producer close failed", exc_info=True)
