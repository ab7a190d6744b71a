"""The store's consumer: router output in, database rows out (`supportdesk store`).

`loop` polls Kafka and commits offsets after the database; `batch` applies one
poll's records in one transaction, a savepoint per record when it must.
"""

from services.ticket_store.consumer.batch import BatchApplier, BatchReport, Permanent
from services.ticket_store.consumer.loop import ConsumerOptions, StoreConsumer, run_store
from services.ticket_store.db import TRANSIENT, is_transient

__all__ = [
    "TRANSIENT",
    "BatchApplier",
    "BatchReport",
    "ConsumerOptions",
    "Permanent",
    "StoreConsumer",
    "is_transient",
    "run_store",
]
