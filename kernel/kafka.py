"""The producer every service writes with: what "nothing lost, nothing doubled" asks of it.

acks=all (every in-sync replica has the record before the send counts as done) and the
idempotent producer (a retried send is not a second record) are the architecture's
delivery rule; they are set here once, and a caller adds only what is its own (linger,
client id, a transactional id, batch sizes).
"""

from __future__ import annotations

from typing import Any

from kafka import KafkaProducer

from kernel.config import Settings


def reliable_producer(settings: Settings, **options: Any) -> KafkaProducer:
    """A KafkaProducer on the settings' broker with acks=all and idempotence on."""
    return KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        **options,
    )
