"""A single-node Apache Kafka broker (KRaft) run from Maven Central jars.

Why: `make run` and the integration tests need a real broker on machines that
have Java 17 and Maven but no Docker engine and no Kafka tarball. Maven fetches
``kafka_2.13`` and its runtime dependencies once into ``deploy/kafka/libs``
(`jars`); `helpers` renders ``server.properties`` for one combined
broker+controller listening on 127.0.0.1 only; `process.LocalBroker` formats a
data directory, starts ``java kafka.Kafka`` and waits until a real metadata
request succeeds.

Only the standard library and kafka-python are used, so it works before
anything else in the project is configured. Part of the composition root:
the CLI and the tests' fixtures import it, no service does.

CLI::

    python -m supportdesk.broker run --data-dir var/kafka --port 9092
    python -m supportdesk.broker fetch
"""

from supportdesk.broker.helpers import (
    free_port,
    java_executable,
    new_cluster_id,
    parse_properties,
    port_in_use,
    render_server_properties,
)
from supportdesk.broker.jars import (
    ensure_jars,
    installed_kafka_version,
    jars_ready,
    kafka_home,
    libs_dir,
    pom_kafka_version,
)
from supportdesk.broker.process import LocalBroker
from supportdesk.broker.settings import HOST, KAFKA_HOME_ENV, MARKER_NAME, BrokerError

__all__ = [
    "HOST",
    "KAFKA_HOME_ENV",
    "MARKER_NAME",
    "BrokerError",
    "LocalBroker",
    "ensure_jars",
    "free_port",
    "installed_kafka_version",
    "jars_ready",
    "java_executable",
    "kafka_home",
    "libs_dir",
    "new_cluster_id",
    "parse_properties",
    "pom_kafka_version",
    "port_in_use",
    "render_server_properties",
]
