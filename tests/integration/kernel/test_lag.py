"""Consumer lag read from the broker (kernel.lag), as every service's /metrics shows it."""

from __future__ import annotations

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.structs import OffsetAndMetadata

from kernel.lag import LagReader, sample


def _filled_topic(bootstrap: str, topic: str, records: list[int]) -> KafkaAdminClient:
    """A new topic with ``records[p]`` records in partition p; the admin, to delete it."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=len(records), replication_factor=1)])
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for partition, n in enumerate(records):
        for _ in range(n):
            producer.send(topic, b"x", partition=partition)
    producer.flush()
    producer.close()
    return admin


def test_lag_is_end_offset_minus_committed(kafka_bootstrap: str, kafka_unique_id: str) -> None:
    topic, group = f"test.{kafka_unique_id}.lag", f"test.{kafka_unique_id}.lag-group"
    admin = _filled_topic(kafka_bootstrap, topic, [5, 1])
    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group)
    consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(2, "", -1)})
    consumer.commit({TopicPartition(topic, 1): OffsetAndMetadata(1, "", -1)})
    consumer.close()
    assert sample(kafka_bootstrap, group, {topic}) == {(topic, 0): 3, (topic, 1): 0}
    assert sample(kafka_bootstrap, group, {"another"}) == {}
    assert sample(kafka_bootstrap, f"{group}-never", {topic}) == {}  # nothing committed
    admin.delete_topics([topic])
    admin.close()


def test_a_lag_reader_keeps_its_clients_and_sees_each_new_commit(
    kafka_bootstrap: str, kafka_unique_id: str
) -> None:
    topic, group = f"test.{kafka_unique_id}.lag2", f"test.{kafka_unique_id}.lag2-group"
    admin = _filled_topic(kafka_bootstrap, topic, [4])
    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group)
    tp = TopicPartition(topic, 0)
    reader = LagReader(kafka_bootstrap)
    try:
        consumer.commit({tp: OffsetAndMetadata(1, "", -1)})
        assert reader.sample(group, {topic}) == {(topic, 0): 3}
        clients = reader._clients
        consumer.commit({tp: OffsetAndMetadata(4, "", -1)})
        assert reader.sample(group, {topic}) == {(topic, 0): 0}
        assert reader._clients is clients  # the same two clients, not new ones each round
    finally:
        reader.close()
        consumer.close()
    assert reader._clients is None
    admin.delete_topics([topic])
    admin.close()
