"""Create the pipeline's topics with the right partitions, retention and compaction.

Why: the broker runs with auto.create.topics.enable=false, so every process
(or `make run`, or the test fixture) calls ensure_topics() first. It is
idempotent: topics that exist are left untouched, a concurrent creator is fine.

Retention follows docs ARCHITECTURE.md's "kept" column:
- directory.* and fetcher.state are compacted (latest value per key is the state);
- mail.raw, mail.outcomes, tickets.events: long (90 days, audit and replay);
- mail.dead and billing.incidents: never deleted (operators' queue; incident ledger);
- mail.sent (the mailer's ledger) is compacted and expires a day after mail.outbound;
- everything else: 7 days.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping

from kafka import KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError, for_code

from kernel.config import Settings

log = logging.getLogger(__name__)

DAY_MS = 24 * 60 * 60 * 1000
LONG_RETENTION_MS = 90 * DAY_MS
SHORT_RETENTION_MS = 7 * DAY_MS
FOREVER = -1

#: Per Topics field name (not topic name, so renames in Settings keep their policy).
COMPACTED_FIELDS = frozenset(
    {"clients", "gateways", "departments", "fetcher_state", "gateway_tokens"}
)
LONG_FIELDS = frozenset({"raw", "outcomes", "ticket_events"})
FOREVER_FIELDS = frozenset({"dead", "incidents"})
#: Compacted, and an id expires once its outbound record can no longer be redelivered.
EXPIRING_COMPACTED_FIELDS = frozenset({"sent"})

_COMPACT = {
    "cleanup.policy": "compact",
    # Roll daily so low-traffic directory topics get compacted at all (the
    # active segment never is); keep tombstones a day so readers see deletes.
    "segment.ms": str(DAY_MS),
    "delete.retention.ms": str(DAY_MS),
}


def topic_config_for(field: str) -> dict[str, str]:
    """Topic-level configs for a Topics field; unknown (new) fields get 7 days."""
    if field in COMPACTED_FIELDS:
        return dict(_COMPACT)
    if field in EXPIRING_COMPACTED_FIELDS:
        retention = str(SHORT_RETENTION_MS + DAY_MS)
        return {**_COMPACT, "cleanup.policy": "compact,delete", "retention.ms": retention}
    if field in FOREVER_FIELDS:
        return {"cleanup.policy": "delete", "retention.ms": str(FOREVER)}
    if field in LONG_FIELDS:
        return {"cleanup.policy": "delete", "retention.ms": str(LONG_RETENTION_MS)}
    return {"cleanup.policy": "delete", "retention.ms": str(SHORT_RETENTION_MS)}


def topic_specs(settings: Settings | None = None) -> dict[str, dict[str, str]]:
    """Topic name -> configs for every topic in Settings().topics."""
    settings = settings or Settings()
    return {name: topic_config_for(field) for field, name in settings.topics.model_dump().items()}


@contextlib.contextmanager
def _admin(bootstrap: str, timeout_s: float) -> Iterator[KafkaAdminClient]:
    ms = int(timeout_s * 1000)
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="supportdesk-topics",
        bootstrap_timeout_ms=ms,
        request_timeout_ms=ms,
    )
    try:
        yield admin
    finally:
        admin.close()


def ensure_topics(
    bootstrap: str,
    settings: Settings | None = None,
    partitions: int | None = None,
    *,
    replication_factor: int | None = None,
    extra: Mapping[str, Mapping[str, str]] | None = None,
    timeout_s: float = 30.0,
) -> list[str]:
    """Create missing topics; return the names created by this call.

    ``partitions`` defaults to ``settings.topic_partitions``. ``extra`` adds more
    topics (name -> configs), e.g. for tests. Existing topics are not altered:
    changing partitions or configs of a live topic is an operator's decision.
    """
    settings = settings or Settings()
    specs = topic_specs(settings)
    for name, configs in (extra or {}).items():
        specs[name] = dict(configs)
    return create_missing(
        bootstrap,
        specs,
        partitions if partitions is not None else settings.topic_partitions,
        replication_factor=replication_factor or settings.topic_replication_factor,
        min_insync_replicas=settings.topic_min_insync_replicas,
        timeout_s=timeout_s,
    )


def create_missing(
    bootstrap: str,
    specs: Mapping[str, Mapping[str, str]],
    partitions: int,
    *,
    replication_factor: int | None = None,
    min_insync_replicas: int | None = None,
    timeout_s: float = 30.0,
) -> list[str]:
    """Create whichever of `specs` (name -> configs) is missing, wait until every partition
    has a leader, and return the names created; losing a creation race is not an error.

    The replication factor and `min.insync.replicas` come from the settings
    (`SUPPORTDESK_TOPIC_REPLICATION_FACTOR`, `…_MIN_INSYNC_REPLICAS`) unless given.
    """
    settings = Settings()
    replication_factor = replication_factor or settings.topic_replication_factor
    min_insync_replicas = min_insync_replicas or settings.topic_min_insync_replicas
    insync = {"min.insync.replicas": str(min(min_insync_replicas, replication_factor))}
    specs = {name: {**insync, **cfg} for name, cfg in specs.items()}
    with _admin(bootstrap, timeout_s) as admin:
        existing = set(admin.list_topics())
        missing = {name: cfg for name, cfg in specs.items() if name not in existing}
        if not missing:
            return []
        request = {
            name: {
                "num_partitions": partitions,
                "replication_factor": replication_factor,
                "configs": dict(cfg),
            }
            for name, cfg in missing.items()
        }
        result = admin.create_topics(request, timeout_ms=int(timeout_s * 1000), raise_errors=False)
        created: list[str] = []
        failures: list[str] = []
        for topic in result.get("topics", []):
            error = for_code(topic["error_code"])
            if topic["error_code"] == 0:
                created.append(topic["name"])
            elif error is not TopicAlreadyExistsError:  # someone else won the race: fine
                failures.append(f"{topic['name']}: {error.__name__} {topic.get('error_message')}")
        if failures:
            raise RuntimeError("could not create topics: " + "; ".join(failures))
        # Created is not usable yet: wait until every partition has a leader.
        admin.wait_for_topics(list(missing), timeout_ms=int(timeout_s * 1000))
        if created:
            log.info("created topics %s", ", ".join(sorted(created)))
        return sorted(created)


def kafka_version(bootstrap: str, timeout_s: float = 10.0) -> str:
    """Broker version as kafka-python infers it from ApiVersions (e.g. "3.9").

    Only major.minor: the protocol does not carry the patch version. The local
    launcher (supportdesk.broker.LocalBroker.version) knows the exact jar version.
    """
    with _admin(bootstrap, timeout_s) as admin:
        brokers = admin.describe_cluster().get("brokers") or []
        if not brokers:
            raise RuntimeError(f"no brokers in metadata from {bootstrap}")
        data = admin.get_broker_version_data(brokers[0]["broker_id"])
        return str(data.broker_version_str)


def retention_ms(bootstrap: str, topic: str, timeout_s: float = 10.0) -> int | None:
    """The topic's retention.ms as the broker has it (-1: forever), None if it has no such
    topic. What the blob collector keeps raw mail's blobs for (kernel.blobs.gc)."""
    from kafka.admin import ConfigResource, ConfigResourceType

    with _admin(bootstrap, timeout_s) as admin:
        if topic not in set(admin.list_topics()):
            return None
        got = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all"
        )
    configs = next(iter(got.values()), {}).get(topic, {}) if isinstance(got, dict) else {}
    entry = configs.get("retention.ms")
    value = entry.get("value") if isinstance(entry, dict) else entry
    if value is None:
        raise RuntimeError(f"no retention.ms in the broker's answer for {topic}: {got!r}"[:500])
    return int(value)
