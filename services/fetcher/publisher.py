"""One gateway's transactional producer, and the batching and backoff its loop uses.

The transactional id is per gateway, so a new owner fences an old one that is
still alive (network partition, slow revoke): it can neither publish nor mark.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from typing import TypeVar

from kafka.errors import ProducerFencedError

from kernel.config import Settings
from kernel.kafka import reliable_producer
from schemas import codec
from schemas.events import RawEmail
from services.fetcher.options import FetcherOptions
from services.fetcher.state import GatewayState

log = logging.getLogger(__name__)

T = TypeVar("T")


class Fenced(Exception):
    """Another fetcher owns this gateway now; this one must stop touching it."""


def backoff_delay(failures: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter in [0.5, 1] of the step, so retries spread out."""
    step = min(cap, base * 2 ** max(0, failures - 1))
    return step * random.uniform(0.5, 1.0)


def chunks(
    items: list[T], size_of: Callable[[T], int], max_n: int, max_bytes: int
) -> Iterator[list[T]]:
    """Batches bounded by count and (roughly) bytes; a single huge item is its own batch."""
    batch: list[T] = []
    total = 0
    for item in items:
        size = size_of(item)
        if batch and (len(batch) >= max_n or total + size > max_bytes):
            yield batch
            batch, total = [], 0
        batch.append(item)
        total += size
    if batch:
        yield batch


class Publisher:
    """A transactional producer owned by one gateway (transactional id per gateway)."""

    def __init__(self, settings: Settings, options: FetcherOptions, gateway_id: str) -> None:
        self.settings = settings
        self.gateway_id = gateway_id
        self.producer = reliable_producer(
            settings,
            transactional_id=options.transactional_id(settings, gateway_id),
            linger_ms=5,
            # Inline mail is up to ~700 KB of JSON: the 16 KB default would send one
            # record per request and make throughput a matter of round trips.
            batch_size=1024 * 1024,
            max_request_size=1024 * 1024,
            request_timeout_ms=30_000,
            client_id=f"supportdesk-fetcher-{gateway_id}",
        )
        try:
            self.producer.init_transactions()  # fences any previous owner, aborts its open txn
        except BaseException:
            self.close()
            raise

    def publish(self, raws: list[RawEmail], state: GatewayState) -> None:
        """Commit the mails and the state atomically; raises if the broker did not ack."""
        p = self.producer
        key = self.gateway_id.encode()
        try:
            p.begin_transaction()
            futures = [
                p.send(self.settings.topics.raw, key=key, value=codec.dumps(raw)) for raw in raws
            ]
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

    def close(self) -> None:
        try:
            self.producer.close(timeout=5)
        except Exception:
            log.debug("producer close failed", exc_info=True)
