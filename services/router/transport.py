"""faust's Kafka consumer with a short broker-side fetch wait, and room for table writes.

faust 0.15.3 builds its aiokafka consumer with fetch_max_wait_ms=1500, not a
setting. The agents' partitions share one connection, and aiokafka sends no
new fetch to a broker while one is in flight; a fetch sent for partitions with
nothing new (the ledger while the route agent still works) is held by the broker
for up to that long. mail.raw consumed meanwhile waits behind it: in the
pipeline the route agent idled about half the time with mail waiting in Kafka.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as driver

# Longest a held fetch delays the next one; an idle worker asks ten times a second.
FETCH_MAX_WAIT_MS = 100
# Table changelog records waiting for the producer before faust stops delivering
# records to every agent (its default, 100, is less than one settled batch writes).
# They are produced before any offset is committed, as before.
TABLE_WRITES_BUFFERED = 20_000


class ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # noqa: SLF001 - read at start()
        return consumer


class Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


def install(app: Any) -> None:
    """Make `app` build this consumer and buffer more table writes (before the worker starts)."""
    app.transport.Consumer = Consumer
    app.producer.buffer.max_messages = TABLE_WRITES_BUFFERED
