"""The router as a faust-streaming app: `mail.raw` in, decisions out.

Topology (at-least-once; every effect idempotent on the email id):

    mail.raw --route--> outcomes / tickets.commands(AddMessage) / mail.incoming / mail.dead
             \\--(new ticket, known client)--> <app id>-ledger (key: client id)
    billing.incidents --grants--> <app id>-ledger
    <app id>-ledger --settle--> tickets.commands(OpenTicket) / mail.outbound / outcomes

faust flushes the producer (outputs and table changelogs) before it commits
offsets, so a crash can only cause redelivery, which the ledger's per-email
decision table turns into identical re-emission.
"""

from __future__ import annotations

import asyncio
import logging
import time

import faust

from services.router.directory import DirectoryFeed, InMemoryDirectory
from services.router.ledger import Ledger
from services.router.pipeline import LEDGER, Out, Router
from supportdesk.blobs import BlobStore
from supportdesk.config import get_settings

log = logging.getLogger(__name__)
settings = get_settings()
topics = settings.topics
PARTITIONS = settings.topic_partitions
# Mails larger than this are parsed in a thread so the event loop keeps heartbeating.
THREAD_PARSE_BYTES = 1024 * 1024

app = faust.App(
    settings.router_app_id,
    broker=f"kafka://{settings.kafka_bootstrap}",
    store="memory://",
    web_enabled=False,
    topic_partitions=PARTITIONS,
    topic_replication_factor=1,
    broker_session_timeout=20.0,
    broker_heartbeat_interval=2.0,
    broker_rebalance_timeout=30.0,
    broker_commit_interval=1.0,
    consumer_auto_offset_reset="earliest",
    producer_acks=-1,
    producer_max_request_size=4 * 1024 * 1024,
    table_cleanup_interval=60.0,
    stream_wait_empty=False,
)


def _topic(name: str, **kw):
    return app.topic(name, key_serializer="raw", value_serializer="raw", **kw)


raw_topic = _topic(topics.raw)
grants_topic = _topic(topics.incidents)
ledger_topic = _topic(f"{settings.router_app_id}-ledger", partitions=PARTITIONS, internal=True)
out_topics = {
    name: _topic(getattr(topics, name))
    for name in ("outcomes", "ticket_commands", "incoming", "outbound", "dead")
}
out_topics[LEDGER] = ledger_topic

# The ledger tables: all written from the ledger agent, so they share its partitioning.
_table_kw = dict(partitions=PARTITIONS, key_type=str, value_type=None)
balances = app.Table("balances", default=None, **_table_kw)
grants = app.Table("grants", default=None, **_table_kw)
decisions = app.Table("decisions", default=None, **_table_kw)
notices = app.Table("notices", default=None, **_table_kw)
message_tickets = app.Table("message-tickets", default=None, **_table_kw)
ledger = Ledger(balances, grants, decisions, notices, message_tickets)

directory = InMemoryDirectory()
feed = DirectoryFeed(
    directory, settings.kafka_bootstrap, topics.clients, topics.departments, topics.ticket_events
)
router = Router(
    directory,
    settings.ticket_key.get_secret_value().encode(),
    BlobStore(settings.blob_dir),
    notice_window_s=settings.notice_window_s,
)


async def emit(outs: list[Out]) -> None:
    for out in outs:
        await out_topics[out.topic].send(key=out.key.encode(), value=out.value())


@app.task
async def run_directory_feed() -> None:
    """Keep the directory view current for the life of the worker."""
    while True:
        try:
            await feed.run()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - reconnect rather than die
            log.exception("directory feed failed; restarting in 1s")
            await asyncio.sleep(1.0)


@app.agent(raw_topic)
async def route(stream) -> None:
    """Rules 1-6 for each raw email."""
    async for event in stream.events():
        value = event.value
        fetched = _fetched_at(value)
        await feed.wait_synced(min(fetched, time.time()))
        if value is not None and len(value) > THREAD_PARSE_BYTES:
            outs = await asyncio.get_running_loop().run_in_executor(
                None, router.handle_raw, event.key, value
            )
        else:
            outs = router.handle_raw(event.key, value)
        await emit(outs)


@app.agent(grants_topic)
async def forward_grants(stream) -> None:
    """Repartition grants into the ledger topic next to the client's charges."""
    async for event in stream.events():
        await emit(router.handle_grant(event.key, event.value))


@app.agent(ledger_topic)
async def settle(stream) -> None:
    """Rule 7 (incidents), one client's grants and charges in order."""
    async for value in stream:
        await emit(router.handle_ledger(value, ledger, time.time()))


def _fetched_at(value: bytes | None) -> float:
    """The raw email's fetch time, cheaply, without a full parse (0 if unknown)."""
    if not value:
        return 0.0
    i = value.find(b'"fetched_at":"')
    if i < 0:
        return 0.0
    from datetime import datetime

    try:
        end = value.index(b'"', i + 14)
        return datetime.fromisoformat(value[i + 14 : end].decode()).timestamp()
    except ValueError:
        return 0.0


def main() -> None:
    """Run the router worker in this process (the `supportdesk router` command)."""
    logging.basicConfig(level=logging.INFO)
    worker = faust.Worker(app, loglevel="info")
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
