"""The producer every service writes with: what "nothing lost, nothing doubled" asks of it.

acks=all (every in-sync replica has the record before the send counts as done) and the
idempotent producer (a retried send is not a second record) are the architecture's
delivery rule; they are set here once, and a caller adds only what is its own (linger,
client id, a transactional id, batch sizes).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
from kafka.errors import KafkaError

from kernel.config import Settings

# kafka-python waits up to 30 s between reconnects to a broker that went away, so a
# client could sit idle for 30 s after the broker's return (issue 12 asks for 15 s);
# a reconnect attempt is one refused connect, so try at least every second.
RECONNECT = {"reconnect_backoff_max_ms": 1_000}


def reliable_producer(settings: Settings, **options: Any) -> KafkaProducer:
    """A KafkaProducer on the settings' broker with acks=all and idempotence on."""
    return KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        **(RECONNECT | options),
    )


def group_membership(settings: Settings, role: str) -> dict[str, Any]:
    """How a kafka-python consumer joins its group, the same for every service.

    The cooperative sticky assignor moves only the partitions that change owner, so the
    other members keep working through a rebalance. With `instance_name` set, the member
    is static (KIP-345): a restarted instance takes back its partitions within the
    session timeout without a rebalance of the whole group. The name must be unique
    per running instance of a role; unset, membership is dynamic.
    """
    options: dict[str, Any] = {
        "partition_assignment_strategy": (CooperativeStickyAssignor,),
        # A member that joined before its topics' metadata reached it is assigned nothing
        # for them; it rejoins once fresh metadata shows them, so refresh it every 5 s
        # instead of kafka-python's 5 min (seen once: a store idle for minutes at start).
        "metadata_max_age_ms": 5_000,
        **RECONNECT,
    }
    if settings.instance_name:
        options["group_instance_id"] = f"{settings.instance_name}-{role}"
    return options


def broker_probe(bootstrap: str, timeout_ms: int = 5_000) -> Callable[[], None]:
    """A check that the broker answers a metadata request (for `kernel.health.wait_for`)."""

    def probe() -> None:
        # kafka-python logs every refused connection as an error: while waiting, the one
        # line from kernel.health.wait_for says it instead.
        quiet = logging.getLogger("kafka")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap, bootstrap_timeout_ms=timeout_ms,
                request_timeout_ms=timeout_ms,
            )  # fmt: skip
            try:
                admin.list_topics()
            finally:
                admin.close()
        finally:
            quiet.setLevel(level)

    return probe


def wait_for_broker(settings: Settings, stopping: threading.Event | None = None) -> bool:
    """Block until the broker answers (one log line per change); False if stopped first."""
    from kernel.health import wait_for

    return wait_for(
        "broker", broker_probe(settings.kafka_bootstrap), where=settings.kafka_bootstrap,
        stopping=stopping,
    )  # fmt: skip


def poll_or_wait(consumer: KafkaConsumer, stopping: threading.Event) -> Any:
    """One poll of at most 500 ms. While the broker is away kafka-python 3 can raise out of
    `poll` (seen: a mailer exiting with KafkaConnectionError in a broker SIGKILL test), so
    that is waited out, never a reason to exit: {} (no records) after a second."""
    try:
        return consumer.poll(timeout_ms=500)
    except KafkaError as exc:
        logging.getLogger(__name__).warning("poll failed (%s); again in 1 s", exc)
        stopping.wait(1.0)
        return {}
