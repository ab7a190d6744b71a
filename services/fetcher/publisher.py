"""One gateway's transactional producer, and the batching and backoff its loop uses.

The transactional id is per gateway, so a new owner fences an old one that is
still alive (network partition, slow revoke): it can neither publish nor mark.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from typing import TypeVar

import pybase64
from kafka.errors import ProducerFencedError
from kafka.partitioner.default import murmur2

from kernel.config import Settings
from kernel.kafka import reliable_producer
from schemas import codec
from schemas.events import RawEmail
from services.fetcher.options import FetcherOptions
from services.fetcher.state import GatewayState, quick_metadata

log = logging.getLogger(__name__)

T = TypeVar("T")


class Fenced(Exception):
    """Another fetcher owns this gateway now; this one must stop touching it."""


def backoff_delay(failures: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter in [0.5, 1] of the step, so retries spread out."""
    step = min(cap, base * 2 ** max(0, failures - 1))
    return step * random.uniform(0.5, 1.0)


def chunks(
    items: list[T],
    size_of: Callable[[T], int],
    max_n: int,
    max_bytes: int,
    first_n: int | None = None,
) -> Iterator[list[T]]:
    """Batches bounded by count and (roughly) bytes; a single huge item is its own batch.

    The first batch holds at most ``first_n`` items when given: it reaches the broker
    (and the services behind it) sooner than a full one would.
    """
    batch: list[T] = []
    total = 0
    limit = min(max_n, first_n) if first_n else max_n
    for item in items:
        size = size_of(item)
        if batch and (len(batch) >= limit or total + size > max_bytes):
            yield batch
            batch, total = [], 0
            limit = max_n
        batch.append(item)
        total += size
    if batch:
        yield batch


def raw_json(raw: RawEmail) -> bytes:
    """``codec.dumps(raw)`` in a third of the CPU (the same JSON object, raw_b64 last).

    pydantic looks at each of the inline body's characters for JSON escapes (most of
    the cost of a 12 KB record); strict base64 has none, so it is spliced in as it is.
    """
    b64 = raw.raw_b64
    if b64 is None:
        return codec.dumps(raw)
    try:
        pybase64.b64decode(b64, validate=True)  # 1 µs: only the base64 alphabet
    except ValueError:
        return codec.dumps(raw)
    head = raw.model_dump_json(exclude={"raw_b64"}).encode()
    return b"".join((head[:-1], b',"raw_b64":"', b64.encode(), b'"}'))


class Publisher:
    """A transactional producer owned by one gateway (transactional id per gateway)."""

    def __init__(self, settings: Settings, options: FetcherOptions, gateway_id: str) -> None:
        self.settings = settings
        self.gateway_id = gateway_id
        self._key_hash = murmur2(gateway_id.encode()) & 0x7FFFFFFF
        self.producer = reliable_producer(
            settings,
            transactional_id=options.transactional_id(settings, gateway_id),
            linger_ms=5,
            # Inline mail is up to ~700 KB of JSON: the 16 KB default would send one
            # record per request and make throughput a matter of round trips.
            batch_size=1024 * 1024,
            max_request_size=1024 * 1024,
            request_timeout_ms=30_000,
            # 100 ms by default: init_transactions() sleeps it twice (the coordinator lookup,
            # then InitProducerId as a "retry"); a quarter of a gateway's start.
            retry_backoff_ms=20,
            client_id=f"supportdesk-fetcher-{gateway_id}",
        )
        quick_metadata(self.producer)
        try:
            self.producer.init_transactions()  # fences any previous owner, aborts its open txn
        except BaseException:
            self.close()
            raise

    def publish(self, raws: list[RawEmail], state: GatewayState) -> None:
        """Commit the mails and the state atomically; raises if the broker did not ack."""
        p = self.producer
        key = self.gateway_id.encode()
        topic = self.settings.topics.raw
        try:
            p.begin_transaction()
            part = self._partition(topic)
            futures = [p.send(topic, key=key, value=raw_json(raw), partition=part) for raw in raws]
            futures.append(
                p.send(
                    self.settings.topics.fetcher_state,
                    key=key,
                    value=state.model_dump_json().encode(),
                )
            )
            p.flush(timeout=60)
            for f in futures:
                f.get(timeout=60)
            p.commit_transaction()
        except ProducerFencedError as exc:
            raise Fenced(str(exc)) from exc
        except BaseException:
            try:
                p.abort_transaction()
            except Exception:  # the producer may be unusable; the caller replaces it
                log.debug("abort_transaction failed", exc_info=True)
            raise

    def _partition(self, topic: str) -> int:
        """The default partitioner's choice for this gateway's key, once per batch.

        kafka-python's murmur2 is pure Python (a tenth of a send's CPU), and every record
        of a gateway has the same key: the partition is the one the key always gets.
        """
        parts = sorted(self.producer.partitions_for(topic))
        return parts[self._key_hash % len(parts)]

    def close(self) -> None:
        try:
            self.producer.close(timeout=5)
        except Exception:
            log.debug("producer close failed", exc_info=True)
