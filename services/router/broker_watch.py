"""The running router's view of the broker, for /health and the log.

The router waits for the broker before the faust worker starts (`kernel.kafka.wait_for_broker`).
Once it runs, aiokafka reconnects by itself when the broker goes away and comes back, but
nothing said so: /health kept saying "running" and the log had a line per failed fetch.
`BrokerWatch` looks at the worker consumer's connections each second (no request of its
own) and, once none has been up for `LOST_AFTER_S`, hands the wait to
`kernel.health.wait_for`: one line when it starts, one when the broker is back, and
"waiting for broker" in /health and the metrics meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from kernel import health

log = logging.getLogger(__name__)

# Reconnects after a broker-side close take well under a second; an outage lasts longer.
LOST_AFTER_S = 2.0
# aiokafka logs every failed connect, fetch and metadata request (about 180 lines a second
# in the router); while the broker is known to be away, the wait's two lines say it instead.
QUIETED = (
    "aiokafka",
    "aiokafka.conn",
    "aiokafka.consumer.consumer",
    "aiokafka.consumer.fetcher",
    "aiokafka.consumer.group_coordinator",
    "aiokafka.producer.sender",
    # kafka-python, under the lag sampler and the topic checks
    "kafka.client",
    "kafka.cluster",
    "kafka.conn",
    "kafka.net.connection",
    "kafka.net.manager",
)


def consumer_connected(app: Any) -> bool | None:
    """Whether the worker's consumer holds a live connection to a broker (None: no consumer yet).

    Read from another thread than the consumer's: a dict changing under us is retried."""
    inner = getattr(getattr(app.consumer, "_thread", None), "_consumer", None)
    client = getattr(inner, "_client", None)
    if client is None:
        return None
    for _ in range(3):
        try:
            return any(conn.connected() for conn in list(client._conns.values()))  # noqa: SLF001
        except RuntimeError:  # changed size during iteration
            continue
    return None


class NotConnected(ConnectionError):
    pass


class BrokerWatch(logging.Filter):
    """Says "waiting for broker" while the running worker cannot reach it (and, as a log
    filter on aiokafka's loggers, keeps their per-attempt errors out of the log meanwhile)."""

    def __init__(self, app: Any, where: str) -> None:
        super().__init__()
        self.app = app
        self.where = where
        self.down_since: float | None = None
        self.waiter: threading.Thread | None = None
        for name in QUIETED:
            logging.getLogger(name).addFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.CRITICAL or (self.down_since is None and not self.waiting)

    @property
    def waiting(self) -> bool:
        return self.waiter is not None and self.waiter.is_alive()

    def check(self, now: float | None = None) -> None:
        """One look (a timer calls it every second)."""
        now = time.monotonic() if now is None else now
        connected = consumer_connected(self.app)
        if connected is None or connected:
            self.down_since = None
            return
        if self.down_since is None:
            self.down_since = now
        if now - self.down_since >= LOST_AFTER_S and not self.waiting:
            self.waiter = threading.Thread(target=self._wait, name="broker-watch", daemon=True)
            self.waiter.start()

    def _probe(self) -> None:
        if not consumer_connected(self.app):
            raise NotConnected("no connection to the broker since it went away")

    def _wait(self) -> None:
        # Backoff capped at 1 s: the probe only reads the consumer's connections.
        health.wait_for("broker", self._probe, where=self.where, first_s=0.5, max_s=1.0)
