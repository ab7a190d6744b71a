"""kernel.directory.GatewayFeed on a real broker: loaded once the topic is read to its end,
then following additions, changes and tombstones (the LMTP gateway's view of gateways)."""

from __future__ import annotations

from kafka import KafkaProducer

from devtools.mail import create_topics, publish_gateways, unique_topics
from devtools.pipeline import wait_until
from kernel.config import Settings
from kernel.directory import GatewayFeed, read_gateways
from schemas.events import GatewayEntry


def _entry(gateway_id: str, address: str, **more: object) -> GatewayEntry:
    return GatewayEntry(
        gateway_id=gateway_id, name=gateway_id, type="local", protocol="lmtp",
        address=address, department_id=1, **more,  # type: ignore[arg-type]
    )  # fmt: skip


def test_the_feed_loads_then_follows_the_directory(kafka_bootstrap: str) -> None:
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topics=unique_topics("feed"))
    create_topics(kafka_bootstrap, settings.topics, partitions=2)
    publish_gateways(settings, _entry("g1", "a@company.net"), _entry("g2", "b@company.net"))
    changes: list[set[str]] = []

    def on_change(gateways: dict[str, GatewayEntry]) -> None:
        changes.append(set(gateways))

    feed = GatewayFeed(kafka_bootstrap, settings.topics.gateways, on_change=on_change).start()
    try:
        assert feed.loaded.wait(30), "the directory was never loaded"
        assert set(feed.snapshot()) == {"g1", "g2"}
        assert changes[0] == {"g1", "g2"}  # the first view is complete, never partial

        publish_gateways(settings, _entry("g1", "new@company.net", enabled=False))
        wait_until(lambda: not feed.snapshot()["g1"].enabled, 15, "g1's change")
        assert feed.snapshot()["g1"].address == "new@company.net"

        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        producer.send(settings.topics.gateways, key=b"g2", value=None)  # a removed gateway
        producer.flush(30)
        producer.close()
        wait_until(lambda: "g2" not in feed.snapshot(), 15, "g2's tombstone")
        assert set(read_gateways(kafka_bootstrap, settings.topics.gateways)) == {"g1"}
    finally:
        feed.stop()
