"""The router's own topics (the ledger and the tables' changelogs), made before the worker starts.

faust 0.15.3 creates them itself, but on a busy broker its consumer can subscribe
before their metadata arrives: it logs "Ignoring missing topic" for the ledger and
never reads it, so no ticket ever opens. Made here first, they exist when it subscribes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError, for_code

log = logging.getLogger(__name__)

COMPACT = {"cleanup.policy": "compact"}


def ensure_internal_topics(
    bootstrap: str,
    ledger: str,
    changelogs: Iterable[str],
    partitions: int,
    timeout_s: float = 30.0,
) -> list[str]:
    """Create whichever of the ledger and changelog topics is missing; return those created."""
    wanted = {ledger: {}} | {name: COMPACT for name in changelogs}
    ms = int(timeout_s * 1000)
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="supportdesk-router-topics",
        bootstrap_timeout_ms=ms, request_timeout_ms=ms,
    )  # fmt: skip
    try:
        missing = sorted(set(wanted) - set(admin.list_topics()))
        if not missing:
            return []
        result = admin.create_topics(
            [NewTopic(n, partitions, 1, topic_configs=dict(wanted[n])) for n in missing],
            timeout_ms=ms,
            raise_errors=False,
        )
        created, failures = [], []
        for topic in result.get("topics", []):
            error = for_code(topic["error_code"])
            if topic["error_code"] == 0:
                created.append(topic["name"])
            elif error is not TopicAlreadyExistsError:  # another instance won the race: fine
                failures.append(f"{topic['name']}: {error.__name__} {topic.get('error_message')}")
        if failures:
            raise RuntimeError("could not create the router's topics: " + "; ".join(failures))
        admin.wait_for_topics(missing, timeout_ms=ms)  # every partition has a leader
        log.info("created the router's topics %s", ", ".join(sorted(created)))
        return sorted(created)
    finally:
        admin.close()
