"""The router's view of directory.clients, directory.departments and tickets.events.

Every router instance needs the whole directory, because `mail.raw` is keyed by
gateway, not by sender: a consumer-group agent would see only its share. So
each instance reads every partition of these compacted topics from the start
with its own group-less consumer (what a faust GlobalTable does, with explicit
control over readiness), applies tombstones, and exposes a read barrier:
`wait_synced(t)` returns once the view includes everything published before
time t, so a mail fetched after a client was added never sees a stale "unknown".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable

from schemas.codec import loads_ticket_event
from schemas.events import ClientEntry, DepartmentEntry, MessageAdded, TicketOpened
from services.router.gateways import GatewayIndex, read_entry
from services.router.mail import normalise_address, normalise_message_id

log = logging.getLogger(__name__)


class InMemoryDirectory:
    """Lookups the rules use, fed record by record from the topics."""

    def __init__(self) -> None:
        self.clients: dict[str, ClientEntry] = {}
        self.departments: dict[int, DepartmentEntry] = {}
        self.ticket_clients: dict[str, int] = {}
        self.message_tickets: dict[str, str] = {}
        # Raw emails that became a ticket or a message (by mail, or converted by staff):
        # a replay never decides them again.
        self.email_tickets: dict[str, str] = {}
        self.email_messages: set[str] = set()  # those of email_tickets added as a message
        self.ticket_ccs: dict[str, frozenset[str]] = {}
        # directory.gateways: which gateway a mail sent to several belongs to (gateways.py).
        self.gateways = GatewayIndex()
        self.apply_gateway = self.gateways.apply

    # lookups
    def client_for(self, address: str) -> ClientEntry | None:
        return self.clients.get(normalise_address(address))

    def department(self, department_id: int) -> DepartmentEntry | None:
        return self.departments.get(department_id)

    def ticket_client(self, ticket_id: str) -> int | None:
        return self.ticket_clients.get(ticket_id)

    def ticket_for_message(self, message_id: str) -> str | None:
        return self.message_tickets.get(normalise_message_id(message_id)) if message_id else None

    def ticket_for_email(self, email_id: str) -> str | None:
        return self.email_tickets.get(email_id)

    def ticket_cc(self, ticket_id: str) -> frozenset[str]:
        """Addresses Cc'd on the ticket so far (normalised)."""
        return self.ticket_ccs.get(ticket_id, frozenset())

    # feeding
    def apply_client(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        email = normalise_address(key.decode("utf-8", "replace"))
        if value is None:
            self.clients.pop(email, None)
            return
        entry = read_entry(ClientEntry, value, f"directory.clients record for {email}")
        if entry is None:
            return
        self.clients[email] = entry

    def apply_department(self, key: bytes | None, value: bytes | None) -> None:
        if value is None:
            if key is not None and key.strip().isdigit():
                self.departments.pop(int(key), None)
            return
        entry = read_entry(DepartmentEntry, value, f"directory.departments record {key!r}")
        if entry is None:
            return
        self.departments[entry.department_id] = entry

    def apply_ticket_event(self, key: bytes | None, value: bytes | None) -> None:
        if value is None:
            return
        try:
            event = loads_ticket_event(value)
        except Exception:  # noqa: BLE001 - events we do not know are not ours to judge
            return
        if isinstance(event, MessageAdded) and event.cc_addresses:
            cc = {normalise_address(a) for a in event.cc_addresses}
            self.ticket_ccs[event.ticket_id] = self.ticket_cc(event.ticket_id) | cc
        if isinstance(event, TicketOpened):
            self.ticket_clients[event.ticket_id] = event.client_id
            if event.source_email_id:
                self.email_tickets[event.source_email_id] = event.ticket_id
            return
        if isinstance(event, MessageAdded) and event.direction == "in" and event.source_email_id:
            if event.source_email_id not in self.email_tickets:  # not a ticket's first message
                self.email_tickets[event.source_email_id] = event.ticket_id
                self.email_messages.add(event.source_email_id)
        elif (
            isinstance(event, MessageAdded) and event.direction == "out" and event.email_message_id
        ):
            self.message_tickets[normalise_message_id(event.email_message_id)] = event.ticket_id
            if event.client_id is not None:
                self.ticket_clients.setdefault(event.ticket_id, event.client_id)


class DirectoryFeed:
    """Keeps an InMemoryDirectory up to date from the broker (no consumer group)."""

    def __init__(
        self,
        directory: InMemoryDirectory,
        bootstrap: str,
        clients_topic: str,
        departments_topic: str,
        ticket_events_topic: str,
        refresh_s: float = 2.0,
        gateways_topic: str = "",
    ) -> None:
        self.directory = directory
        self.bootstrap = bootstrap
        self.handlers = {
            clients_topic: directory.apply_client,
            departments_topic: directory.apply_department,
            ticket_events_topic: directory.apply_ticket_event,
        }
        if gateways_topic:
            self.handlers[gateways_topic] = directory.apply_gateway
        self.refresh_s = refresh_s
        # Once every topic above has partitions, new ones (partitions added by an operator)
        # are looked for this often: the metadata of every topic on the broker, each time.
        self.settled_refresh_s = max(refresh_s, 30.0)
        self.synced_at = 0.0  # wall-clock time up to which the view is complete
        self.records = 0
        self.idle_round_s = 0.5
        self._wanted = asyncio.Event()  # a mail waits for the view: sync now

    async def wait_synced(self, at: float, timeout: float = 10.0) -> bool:
        """Wait until the view holds everything published before `at` (or timeout).

        A plain polling loop on purpose: asyncio.Condition with wait_for can
        deadlock on cancellation in CPython 3.11 (gh-112202).
        """
        deadline = time.monotonic() + timeout
        if self.synced_at < at:
            self._wanted.set()
        while self.synced_at < at:
            if time.monotonic() >= deadline:
                log.warning("directory not synced to %.3f after %.1fs; going on", at, timeout)
                return False
            await asyncio.sleep(0.005)
        return True

    async def run(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition
        from aiokafka.errors import KafkaError

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            group_id=None,
            auto_offset_reset="earliest",
            metadata_max_age_ms=5000,
        )
        # End offsets come from a client of their own: on the fetching consumer's
        # connection a ListOffsets request queues behind the fetch the broker holds
        # (up to fetch_max_wait_ms, 500 ms) when there is nothing new, which made
        # every sync round last ~0.5 s and a mail wait up to ~1 s for the view.
        offsets = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        try:
            await offsets.start()
        except BaseException:
            await consumer.stop()
            raise
        try:
            assigned: set[TopicPartition] = set()
            last_meta = 0.0
            settled = False  # every topic found with partitions
            while True:
                now = time.time()
                if now - last_meta > (self.settled_refresh_s if settled else self.refresh_s):
                    wanted = await self._partitions(consumer, self.handlers)
                    settled = {tp.topic for tp in wanted} >= set(self.handlers)
                    if wanted - assigned:
                        new = wanted - assigned
                        consumer.assign(list(wanted))
                        await consumer.seek_to_beginning(*new)
                        assigned = wanted
                    last_meta = now
                self._wanted.clear()  # a mail asking from now on gets the next round
                t0 = time.time()
                if assigned:
                    try:
                        ends = await asyncio.wait_for(offsets.end_offsets(list(assigned)), 10)
                    except (TimeoutError, KafkaError) as exc:
                        log.warning("directory end offsets unavailable (%s); retrying", exc)
                        await asyncio.sleep(0.5)
                        continue
                    await self._read_to(consumer, ends)
                self.synced_at = t0
                # The next round when a mail waits for the view, else after idle_round_s:
                # records arriving meanwhile are fetched in the background all the same.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wanted.wait(), self.idle_round_s)
        finally:
            await offsets.stop()
            await consumer.stop()

    async def _read_to(self, consumer, ends: dict) -> int:
        """Apply records until every partition's position reaches `ends`; how many."""
        got = 0
        while True:
            positions = {tp: await consumer.position(tp) for tp in ends}
            if all(positions[tp] >= end for tp, end in ends.items()):
                return got
            batch = await consumer.getmany(timeout_ms=50, max_records=5000)
            for tp, records in batch.items():
                handler = self.handlers[tp.topic]
                for r in records:
                    handler(r.key, r.value)
                got += len(records)
                self.records += len(records)

    @staticmethod
    async def _partitions(consumer, topics: Iterable[str]) -> set:
        from aiokafka import TopicPartition

        out: set[TopicPartition] = set()
        try:
            # Fresh metadata for every topic, so partitions created later are picked up.
            cluster = await consumer._client.fetch_all_metadata()  # noqa: SLF001
        except Exception as exc:  # noqa: BLE001 - keep the old assignment, retry later
            log.warning("directory metadata refresh failed: %s", exc)
            return out
        for topic in topics:
            for p in cluster.partitions_for_topic(topic) or ():
                out.add(TopicPartition(topic, p))
        return out
