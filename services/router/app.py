"""The router as a faust-streaming app: `mail.raw` in, decisions out.

Topology (at-least-once; every effect idempotent on the email id):

    mail.raw --route--> outcomes / tickets.commands(AddMessage) / mail.incoming / mail.dead
             \\--(new ticket, known client)--> <app id>-ledger (key: client id)
    billing.incidents --grants--> <app id>-ledger
    tickets.requests --requests--> <app id>-ledger (web/API tickets: one ledger, every channel)
    <app id>-ledger --settle--> tickets.commands(OpenTicket, TicketDecided) / mail.outbound /
                                outcomes

faust flushes the producer (outputs and table changelogs) before it commits
offsets, so a crash can only cause redelivery, which the ledger's per-email
decision table turns into identical re-emission.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
import weakref
from concurrent.futures import ThreadPoolExecutor

import faust
from faust.streams import _current_event

from kernel import health
from kernel.blobs import BlobStore, private_dirs
from kernel.config import get_settings
from kernel.kafka import wait_for_broker
from kernel.lag import start_sampler
from kernel.priority import set_niceness
from kernel.topics import create_missing, topic_config_for
from schemas.events import RawEmail
from services.router import faust_getmany, faust_recovery, metrics, supervise, web_requests
from services.router.broker_watch import BrokerWatch
from services.router.directory import DirectoryFeed, InMemoryDirectory
from services.router.dump import dump_tasks
from services.router.internal_topics import ensure_internal_topics
from services.router.ledger import Ledger
from services.router.monitor import Stats, Watch, skipped_records
from services.router.outputs import LEDGER, Out, group_ledger
from services.router.pipeline import Router
from services.router.replay.commands import Replayer
from services.router.transport import install as install_consumer

log = logging.getLogger(__name__)
settings = get_settings()
topics = settings.topics
PARTITIONS = settings.topic_partitions
# Mails larger than this are parsed in a thread so the event loop keeps heartbeating.
THREAD_PARSE_BYTES = 1024 * 1024
# Records are handled in batches of up to BATCH_MAX (what faust's take_events gives
# within BATCH_WAIT_S): one directory wait, one blob fsync round and one emit per batch.
BATCH_MAX = 200
BATCH_WAIT_S = 0.05
# take_events wakes each agent every `within` seconds, mail or not (~0.2 ms of CPU each
# time): an applied replay can wait longer for its batch than a mail.
REPLAY_WAIT_S = 0.5
# How long the route agent may hold the GIL while faust's consumer thread waits for it.
# At the 5 ms default each socket read of a mail.raw fetch waited that long behind the
# parsing agent, which then ran short of mail with plenty in Kafka (about a third fewer
# short batches at 0.5 ms when fed live).
GIL_SWITCH_S = 0.0005
# Logged when the route agent takes its first mail: wall clock and process CPU then.
FIRST_TAKE = "first mails taken at %.3f, process cpu %.3fs: %s"

app = faust.App(
    settings.router_app_id,
    broker=f"kafka://{settings.kafka_bootstrap}",
    store="memory://",
    # Under the var directory with every other file the system writes (not the cwd).
    datadir=str(settings.var_dir / f"{settings.router_app_id}-data"),
    web_enabled=False,
    topic_partitions=PARTITIONS,
    topic_replication_factor=settings.topic_replication_factor,
    broker_session_timeout=20.0,
    broker_heartbeat_interval=2.0,
    broker_rebalance_timeout=30.0,
    # Static membership (see kernel.kafka.group_membership): a restarted router takes back
    # its partitions and tables without rebalancing the other routers.
    consumer_group_instance_id=(
        f"{settings.instance_name}-router" if settings.instance_name else None
    ),
    consumer_auto_offset_reset="earliest",
    producer_acks=-1,
    producer_max_request_size=4 * 1024 * 1024,
    table_cleanup_interval=60.0,
    stream_wait_empty=False,
    # Raw mail averages tens of KB: fetch many per round trip (per partition).
    consumer_max_fetch_size=16 * 1024 * 1024,
    broker_max_poll_records=2000,
    # Batches of many records per partition: the default (16 KB) sends one
    # mail-sized record per request and partition, which caps throughput at RTTs.
    producer_max_batch_size=1024 * 1024,
    # Fewer, fuller produce requests (less CPU per record); faust flushes before
    # every offset commit, and 20 ms is nothing next to mail polling intervals.
    producer_linger_ms=20,
)


install_consumer(app)
faust_getmany.install()  # faust 0.15.3 drops fetched records otherwise
faust_recovery.install()  # and empties queues holding stream records after recovery


def _topic(name: str, **kw):
    return app.topic(name, key_serializer="raw", value_serializer="raw", **kw)


raw_topic = _topic(topics.raw)
replay_topic = _topic(topics.replay)
grants_topic = _topic(topics.incidents)
requests_topic = _topic(topics.ticket_requests)
ledger_topic = _topic(f"{settings.router_app_id}-ledger", partitions=PARTITIONS, internal=True)
out_topics = {
    name: _topic(getattr(topics, name))
    for name in ("outcomes", "ticket_commands", "incoming", "outbound", "dead")
}
out_topics[LEDGER] = ledger_topic
out_names = {name: t.get_topic_name() for name, t in out_topics.items()}

# The ledger tables: all written from the ledger agent, so they share its partitioning.
_table_kw = dict(partitions=PARTITIONS, key_type=str, value_type=None)
balances = app.Table("balances", default=None, **_table_kw)
grants = app.Table("grants", default=None, **_table_kw)
charges = app.Table("charges", default=None, **_table_kw)
notices = app.Table("notices", default=None, **_table_kw)
ledger = Ledger(balances, grants, charges, notices)

directory = InMemoryDirectory()
feed = DirectoryFeed(
    directory,
    settings.kafka_bootstrap,
    topics.clients,
    topics.departments,
    topics.ticket_events,
    gateways_topic=topics.gateways,
)
# Attachment blobs are fsynced in threads while routing goes on (BlobStore.wait_synced).
blobs = BlobStore(settings.blob_dir, sync_executor=ThreadPoolExecutor(8, "blob-fsync"))
router = Router(
    directory,
    settings.ticket_key.get_secret_value().encode(),
    blobs,
    notice_window_s=settings.notice_window_s,
    limits=settings.mail_limits,
)


replayer = Replayer(router, directory)
stats = Stats()
watch = Watch()
broker_watch = BrokerWatch(app, settings.kafka_bootstrap)


@app.timer(5.0)
async def log_stats() -> None:
    log.info("%s; process cpu %.2fs", stats.line(), time.process_time())


async def emit(outs: list[Out]) -> None:
    """Produce straight through faust's producer (it is flushed before every offset
    commit); faust's Topic.send costs ~0.5 ms of CPU per record, more than routing."""
    c0 = time.thread_time()
    producer = app.producer
    for out in outs:
        await producer.send(out_names[out.topic], out.key.encode(), out.value(), None, None, None)
    metrics.count_decisions(outs)
    stats.cpu["emit"] += time.thread_time() - c0


@app.task
async def install_task_dump() -> None:
    import signal

    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR2, _dump_tasks)


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
    """Rules 1-6, a batch of raw emails at a time (acked after its outputs are produced)."""
    stats.state = "waiting for mail"
    watch.idle_since["route"] = time.monotonic()
    idle_from = time.monotonic()
    async for events in stream.take_events(BATCH_MAX, within=BATCH_WAIT_S):
        stats.waits["mail"] += time.monotonic() - idle_from
        stats.took("route", events)
        watch.begin("route")
        first = events[0].message
        stats.state = f"routing {len(events)} from {first.tp.partition}@{first.offset}"
        if stats.counts["route"] == 0:  # bench/router_bench.py starts its clock here
            log.info(FIRST_TAKE, time.time(), time.process_time(), stats.state)
        elif stats.counts["route"] < 3:
            log.info("first mails: %s", stats.state)
        c0 = time.thread_time()
        decoded = [router.decode_raw(event.key, event.value) for event in events]
        stats.cpu["route"] += time.thread_time() - c0
        # One wait covers the batch: the view must include what was published
        # before the newest mail was fetched.
        fetched = [raw.fetched_at.timestamp() for raw in decoded if not isinstance(raw, list)]
        if fetched:
            t0 = time.monotonic()
            await feed.wait_synced(min(max(fetched), time.time()))
            stats.waits["directory"] += time.monotonic() - t0
        outs: list[Out] = []
        batch_start = time.monotonic()
        for event, raw in zip(events, decoded, strict=True):
            c0 = time.thread_time()
            if isinstance(raw, list):
                outs.extend(raw)  # not a RawEmail: dead letter and outcome
                spent = time.thread_time() - c0
            elif event.value is not None and len(event.value) > THREAD_PARSE_BYTES:
                loop = asyncio.get_running_loop()
                routed, spent = await loop.run_in_executor(None, _route_timed, raw)
                outs.extend(routed)
            else:
                outs.extend(router.route(raw))
                spent = time.thread_time() - c0
            stats.cpu["route"] += spent
            metrics.MAIL_SECONDS.observe(spent)
            stats.counts["route"] += 1
        stats.state = "syncing blobs"
        t0 = time.monotonic()
        await blobs.wait_synced()
        t1 = time.monotonic()
        stats.state = "emitting"
        await emit(group_ledger(outs))
        metrics.BATCH_SECONDS.observe(time.monotonic() - batch_start)
        stats.waits["blob fsync"] += t1 - t0
        stats.waits["emit"] += time.monotonic() - t1
        stats.batches += 1
        stats.state = "waiting for mail"
        idle_from = time.monotonic()
        for event in events:
            watch.finish("route", event)


def _route_timed(raw: RawEmail) -> tuple[list[Out], float]:
    """Route a large mail in an executor thread: its outputs and that thread's CPU."""
    c0 = time.thread_time()
    outs = router.route(raw)
    return outs, time.thread_time() - c0


@app.agent(grants_topic)
async def forward_grants(stream) -> None:
    """Repartition grants into the ledger topic next to the client's charges."""
    watch.idle_since["grants"] = time.monotonic()
    async for event in stream.events():
        watch.begin("grants")
        await emit(router.handle_grant(event.key, event.value))
        watch.finish("grants", event)


@app.agent(requests_topic)
async def forward_requests(stream) -> None:
    """Repartition web/API ticket requests into the ledger topic: one ledger for every
    channel (`web_requests`)."""
    watch.idle_since["requests"] = time.monotonic()
    async for event in stream.events():
        watch.begin("requests")
        await emit(web_requests.forward(event.value))
        watch.finish("requests", event)


@app.agent(replay_topic)
async def replay(stream) -> None:
    """Applied replays (`supportdesk replay --apply`): raw emails decided again, for real,
    a batch at a time (acked after its outputs are produced, as `route`)."""
    async for events in stream.take_events(BATCH_MAX, within=REPLAY_WAIT_S):
        cmds = [replayer.decode(event.value) for event in events]
        # The view must include what was published before the replay was asked for.
        asked = max(event.message.timestamp for event in events)
        await feed.wait_synced(min(asked, time.time()))
        outs: list[Out] = []
        for event, cmd in zip(events, cmds, strict=True):
            if cmd is None:
                log.warning("not a replay command at offset %s: skipped", event.message.offset)
                continue
            outs.extend(replayer.handle(cmd))
        await blobs.wait_synced()
        await emit(group_ledger(outs))


@app.agent(ledger_topic)
async def settle(stream) -> None:
    """Rule 7 (incidents): a batch of ledger records at a time, each client's in order.

    A batch is acked after its outputs and table writes are handed to the producer.
    Tables write their changelog into the partition of faust's current event, which
    is set here for each record in turn (faust sets it only for per-event iteration).
    """
    watch.idle_since["settle"] = time.monotonic()
    async for events in stream.take_events(BATCH_MAX, within=BATCH_WAIT_S):
        watch.begin("settle")
        stats.took("settle", events)
        c0 = time.thread_time()
        outs: list[Out] = []
        for event in events:
            _current_event.set(weakref.ref(event))
            outs.extend(router.handle_ledger(event.value, ledger, time.time()))
        stats.cpu["settle"] += time.thread_time() - c0
        stats.counts["settle"] += sum(e.value.count(b"\n") // 2 + 1 for e in events if e.value)
        await emit(outs)
        for event in events:
            watch.finish("settle", event)


WATCHED = {
    topics.raw: "route",
    topics.incidents: "grants",
    topics.ticket_requests: "requests",
    ledger_topic.get_topic_name(): "settle",
}


@app.timer(2.0)
async def skipped_records_watchdog() -> None:
    """Seek back an idle agent's partition fetched past a record it never handled.

    Its probe opens a consumer of its own, which raises while the broker is away; an
    exception out of a faust timer crashes the whole worker (docs/chaos.md: routers
    exited with "Unable to bootstrap"), so a failed round waits for the next one."""
    try:
        await skipped_records(app, settings.kafka_bootstrap, WATCHED, watch)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - the watchdog must never take the worker down
        if not broker_watch.waiting:
            log.warning("skipped-records check failed (%s); next round", type(exc).__name__)


@app.timer(1.0)
async def watch_broker() -> None:
    """Say "waiting for broker" in /health while the running worker cannot reach it."""
    broker_watch.check()


def _dump_tasks(*_: object) -> None:
    """SIGUSR2: where a stuck worker waits (`services.router.dump`)."""
    dump_tasks(app, topics.raw)


def main() -> None:
    """Run the router worker in this process (the `supportdesk router` command)."""
    import signal

    logging.basicConfig(level=logging.INFO)
    set_niceness("router", settings.router_nice)  # before its threads start; they inherit it
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)  # until the worker's loop handles it
    private_dirs(settings.var_dir)  # faust makes its data dir there, but not the parents
    health.serve(settings.health_port)
    supervise.run(_start_worker)  # a crashed worker starts again in place


def _start_worker() -> None:
    supervise.restart_on_crash(app)
    sys.setswitchinterval(GIL_SWITCH_S)
    wait_for_broker(settings)  # started while the broker is down: wait, don't exit
    health.set_state("running")
    start_sampler(settings.kafka_bootstrap, settings.router_app_id, {topics.raw})
    ensure_internal_topics(
        settings.kafka_bootstrap,
        ledger_topic.get_topic_name(),
        [t.changelog_topic.get_topic_name() for t in (balances, grants, charges, notices)],
        PARTITIONS,
    )
    # The replay and ticket request topics are the pipeline's (7 days), made here too for
    # deployments older than them.
    create_missing(settings.kafka_bootstrap, {
        topics.replay: topic_config_for("replay"),
        topics.ticket_requests: topic_config_for("ticket_requests"),
    }, PARTITIONS)  # fmt: skip
    worker = faust.Worker(app, loglevel="info")
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
