"""The broker a benchmark talks to: an existing one, or a throwaway one of its own."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supportdesk.broker import LocalBroker


def bench_broker(work: Path) -> tuple[str, LocalBroker | None]:
    """SUPPORTDESK_KAFKA_BOOTSTRAP's broker, else a new one in ``work/kafka``.

    Returns the bootstrap address and the broker the caller must stop (None when
    it was given one).
    """
    bootstrap = os.environ.get("SUPPORTDESK_KAFKA_BOOTSTRAP", "")
    if bootstrap:
        return bootstrap, None
    from devtools.net import free_port
    from supportdesk.broker import LocalBroker

    broker = LocalBroker(work / "kafka", port=free_port(), controller_port=free_port())
    try:
        broker.start()
        broker.wait_ready(120)
    except BaseException:
        broker.stop()
        raise
    return broker.bootstrap, broker
