"""One gateway's poll loop: fetch, publish in a Kafka transaction with the state, then mark.

Order of a batch, and why:
1. read mail without changing it (BODY.PEEK[], RETR without QUIT, new/);
2. one Kafka transaction: the RawEmails to mail.raw plus this gateway's new
   state (what is now published) to fetcher.state; commit = broker ack (acks=all);
3. only then mark read / delete.
A crash before 3 leaves the mail unmarked but remembered as published: the
next owner only marks it. A crash before 2 commits aborts the transaction:
read_committed consumers never see those records and the mail is taken again.
The transactional id is per gateway, so a new owner fences an old one that is
still alive (network partition, slow revoke): it can neither publish nor mark.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TypeVar

from kafka import KafkaProducer
from kafka.errors import KafkaError, ProducerFencedError

from kernel.blobs import BlobStore
from kernel.config import Settings
from kernel.crypto import decrypt
from schemas import codec
from schemas.events import GatewayEntry, GatewaySnapshot, MailSource, RawEmail
from schemas.raw import make_raw_email
from services.fetcher import metrics
from services.fetcher.errors import describe
from services.fetcher.imap import ImapMailbox
from services.fetcher.maildir import LocalMaildir
from services.fetcher.options import FetcherOptions
from services.fetcher.pop3 import Pop3Mailbox
from services.fetcher.state import GatewayHealth, GatewayState, load_state

log = logging.getLogger(__name__)

T = TypeVar("T")


class Fenced(Exception):
    """Another fetcher owns this gateway now; this one must stop touching it."""


def backoff_delay(failures: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter in [0.5, 1] of the step, so retries spread out."""
    step = min(cap, base * 2 ** max(0, failures - 1))
    return step * random.uniform(0.5, 1.0)


def chunks(
    items: list[T], size_of: Callable[[T], int], max_n: int, max_bytes: int
) -> Iterator[list[T]]:
    """Batches bounded by count and (roughly) bytes; a single huge item is its own batch."""
    batch: list[T] = []
    total = 0
    for item in items:
        size = size_of(item)
        if batch and (len(batch) >= max_n or total + size > max_bytes):
            yield batch
            batch, total = [], 0
        batch.append(item)
        total += size
    if batch:
        yield batch


class Publisher:
    """A transactional producer owned by one gateway (transactional id per gateway)."""

    def __init__(self, settings: Settings, options: FetcherOptions, gateway_id: str) -> None:
        self.settings = settings
        self.gateway_id = gateway_id
        self.producer = KafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap,
            acks="all",
            enable_idempotence=True,
            transactional_id=options.transactional_id(settings, gateway_id),
            linger_ms=5,
            # Inline mail is up to ~700 KB of JSON: the 16 KB default would send one
            # record per request and make throughput a matter of round trips.
            batch_size=1024 * 1024,
            max_request_size=1024 * 1024,
            request_timeout_ms=30_000,
            client_id=f"supportdesk-fetcher-{gateway_id}",
        )
        try:
            self.producer.init_transactions()  # fences any previous owner, aborts its open txn
        except BaseException:
            self.close()
            raise

    def publish(self, raws: list[RawEmail], state: GatewayState) -> None:
        """Commit the mails and the state atomically; raises if the broker did not ack."""
        p = self.producer
        key = self.gateway_id.encode()
        try:
            p.begin_transaction()
            futures = [
                p.send(self.settings.topics.raw, key=key, value=codec.dumps(raw)) for raw in raws
            ]
            futures.append(
                p.send(
                    self.settings.topics.fetcher_state,
                    key=key,
                    value=state.model_dump_json().encode(),
                )
            )
            p.flush(timeout=60)
            for f in futures:
                f.get(timeout=60)
            p.commit_transaction()
        except ProducerFencedError as exc:
            raise Fenced(str(exc)) from exc
        except BaseException:
            try:
                p.abort_transaction()
            except Exception:  # the producer may be unusable; the caller replaces it
                log.debug("abort_transaction failed", exc_info=True)
            raise

    def close(self) -> None:
        try:
            self.producer.close(timeout=5)
        except Exception:
            log.debug("producer close failed", exc_info=True)


class GatewayRunner:
    """Polls one gateway. Exactly one runner per gateway across all fetchers."""

    def __init__(
        self,
        entry: GatewayEntry,
        settings: Settings,
        options: FetcherOptions,
        *,
        blobs: BlobStore,
        ca_file: str | None = None,
        owner: str = "",
        health_sink: Callable[[GatewayHealth], None] | None = None,
    ) -> None:
        self.entry = entry
        self.settings = settings
        self.options = options
        self.blobs = blobs
        self.ca_file = ca_file
        self.owner = owner or f"{os.uname().nodename}:{os.getpid()}"
        self.health_sink = health_sink
        self.stop_event = threading.Event()
        self.publisher: Publisher | None = None
        self.state: GatewayState | None = None
        self.imap: ImapMailbox | None = None
        self.health = GatewayHealth(gateway_id=entry.gateway_id, name=entry.name, owner=self.owner)
        self.labels = {"gateway_id": entry.gateway_id, "gateway": entry.name}
        self._password: str | None = None
        self._commits = 0

    # ------------------------------------------------------------ helpers

    @property
    def password(self) -> str:
        if self._password is None:
            self._password = decrypt(self.settings, self.entry.password_encrypted)
        return self._password

    def _hook(self, event: str) -> None:
        if event == "committed":
            self._commits += 1
            kind, _, n = self.options.fault.partition(":")
            if kind == "kill-after-commit" and self._commits >= int(n or 1):
                os.kill(os.getpid(), signal.SIGKILL)  # test-only: die between publish and mark
        if self.options.hook is not None:
            self.options.hook(event, self.entry.gateway_id)

    def _snapshot(self) -> GatewaySnapshot:
        return GatewaySnapshot(
            address=self.entry.address,
            department_id=self.entry.department_id,
            extra_addresses=self.entry.extra_addresses,
        )

    def _raw(self, source: MailSource, data: bytes) -> RawEmail:
        return make_raw_email(
            gateway_id=self.entry.gateway_id,
            gateway=self._snapshot(),
            source=source,
            data=data,
            blobs=self.blobs,
            inline_limit=self.settings.inline_limit_bytes,
        )

    def _commit(self, raws: list[RawEmail], state: GatewayState) -> None:
        assert self.publisher is not None
        metrics.MAILS_FETCHED.labels(**self.labels).inc(len(raws))
        state = state.model_copy(
            update={
                "mails_taken": state.mails_taken + len(raws),
                "owner": self.owner,
                "updated_at": datetime.now(UTC),
            }
        )
        try:
            self.publisher.publish(raws, state)
        except Fenced:
            raise
        except BaseException:
            # The commit's outcome is unknown: drop the producer and re-read the state.
            self._drop_publisher()
            raise
        self.state = state
        metrics.MAILS_PUBLISHED.labels(**self.labels).inc(len(raws))
        metrics.BYTES_PUBLISHED.labels(**self.labels).inc(sum(r.size for r in raws))
        self._hook("committed")

    def _stopping(self) -> bool:
        return self.stop_event.is_set()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Fence any previous owner, then read the committed state (in that order)."""
        if self.publisher is None:
            self.publisher = Publisher(self.settings, self.options, self.entry.gateway_id)
            self.state = load_state(
                self.settings.kafka_bootstrap,
                self.settings.topics.fetcher_state,
                self.entry.gateway_id,
            )
            if self.state is not None:
                self.health.mails_taken = self.state.mails_taken

    def _drop_publisher(self) -> None:
        if self.publisher is not None:
            self.publisher.close()
        self.publisher = None
        self.state = None

    def _drop_imap(self) -> None:
        if self.imap is not None:
            self.imap.close()
        self.imap = None

    def close(self) -> None:
        self._drop_imap()
        self._drop_publisher()

    # ------------------------------------------------------------ polls

    def poll_once(self) -> int:
        """One poll; returns how many mails were published (and marked)."""
        self.start()
        started = time.monotonic()
        with metrics.POLL_SECONDS.labels(**self.labels).time():
            if self.entry.protocol == "imap":
                n = self._poll_imap()
            elif self.entry.protocol == "pop3":
                n = self._poll_pop3()
            else:
                n = self._poll_maildir()
        log.debug("gateway %s: poll took %d", self.entry.name, n)
        if n:
            log.info(
                "gateway %s: %d mail(s) published in %.2fs",
                self.entry.name,
                n,
                time.monotonic() - started,
            )
        return n

    def _base_state(self, protocol: str) -> GatewayState:
        prev = self.state
        if prev is not None and prev.protocol == protocol:
            return prev
        taken = prev.mails_taken if prev is not None else 0
        return GatewayState(gateway_id=self.entry.gateway_id, protocol=protocol, mails_taken=taken)  # type: ignore[arg-type]

    def _poll_imap(self) -> int:
        entry = self.entry
        if self.imap is None:
            self.imap = ImapMailbox(
                entry, self.password, ca_file=self.ca_file, timeout=self.options.timeout_s
            )
        else:
            self.imap.select()  # refreshes UIDVALIDITY/UIDNEXT after IDLE
        mb = self.imap
        st = self._base_state("imap")
        if st.uidvalidity != mb.uidvalidity or st.folder != entry.folder:
            if st.uidvalidity is not None:
                log.warning(
                    "gateway %s: UIDVALIDITY or folder changed (%s/%s → %s/%s); "
                    "taking unseen mail only",
                    entry.name,
                    st.folder,
                    st.uidvalidity,
                    entry.folder,
                    mb.uidvalidity,
                )
            high = mb.uidnext - 1 if mb.uidnext else max(mb.client.search("ALL") or [0])
            st = st.model_copy(
                update={
                    "folder": entry.folder,
                    "uidvalidity": mb.uidvalidity,
                    "high_uid": high,
                    "uids": [],
                }
            )
        high_uid = st.high_uid if st.high_uid is not None else -1
        cands = mb.candidates(high_uid)
        present = set(cands)
        published = set(st.uids) & present
        if published:  # published earlier, never marked (crash or failed mark): mark only
            mb.mark_done(sorted(published), entry.after_fetch)
        todo = [u for u in cands if u not in published]
        if not todo:
            self.state = st
            return 0
        sizes = mb.sizes(todo)
        taken = 0
        for batch in chunks(
            todo, lambda u: sizes.get(u, 0), self.options.batch_mails, self.options.batch_bytes
        ):
            if self._stopping():
                break
            mails = mb.fetch(batch)
            raws = [
                self._raw(
                    MailSource(
                        protocol="imap",
                        mailbox=entry.folder,
                        uidvalidity=mb.uidvalidity,
                        uid=m.uid,
                    ),
                    m.data,
                )
                for m in mails
            ]
            published |= {m.uid for m in mails}
            st = st.model_copy(
                update={
                    "uids": sorted(published & present),
                    "high_uid": max(st.high_uid or 0, max(batch)),
                }
            )
            self._commit(raws, st)
            st = self.state or st
            mb.mark_done([m.uid for m in mails], entry.after_fetch)
            self._hook("marked")
            taken += len(mails)
        return taken

    def _poll_pop3(self) -> int:
        entry = self.entry
        mb = Pop3Mailbox(entry, self.password, ca_file=self.ca_file, timeout=self.options.timeout_s)
        try:
            items = mb.listing()
            st = self._base_state("pop3")
            present = {i.uidl for i in items}
            published = set(st.uidls) & present
            delete = entry.after_fetch == "delete"
            if delete:  # published earlier but the DELE never reached a QUIT
                for i in items:
                    if i.uidl in published:
                        mb.delete(i.number)
            seen: set[str] = set()
            todo = []
            for i in items:
                if i.uidl not in published and i.uidl not in seen:
                    seen.add(i.uidl)
                    todo.append(i)
            taken = 0
            batch: list[tuple[int, str, bytes]] = []
            size = 0

            def flush() -> None:
                nonlocal st, taken, batch, size
                if not batch:
                    return
                raws = [self._raw(MailSource(protocol="pop3", uidl=u), d) for _, u, d in batch]
                published.update(u for _, u, _ in batch)
                st = st.model_copy(update={"uidls": sorted(published & present)})
                self._commit(raws, st)
                st = self.state or st
                if delete:
                    for n, _, _ in batch:
                        mb.delete(n)
                self._hook("marked")
                taken += len(batch)
                batch, size = [], 0

            for item in todo:
                if self._stopping():
                    break
                data = item.data if item.data is not None else mb.retr(item.number)
                batch.append((item.number, item.uidl, data))
                size += len(data)
                if len(batch) >= self.options.batch_mails or size >= self.options.batch_bytes:
                    flush()
            flush()
            self.state = st
            mb.quit()  # applies DELE; servers with flag updates set \Seen now
            return taken
        except BaseException:
            mb.abort()
            raise

    def _poll_maildir(self) -> int:
        entry = self.entry
        md = LocalMaildir(entry.maildir_path)
        names = md.names()
        st = self._base_state("maildir")
        present = set(names)
        published = set(st.names) & present
        if published:
            md.mark_done(sorted(published), entry.after_fetch)
        todo = [n for n in names if n not in published]
        taken = 0
        for batch in chunks(
            todo,
            lambda n: 0,
            self.options.batch_mails,
            self.options.batch_bytes,
        ):
            if self._stopping():
                break
            mails = [(n, d) for n in batch if (d := md.read(n)) is not None]
            raws = [self._raw(MailSource(protocol="maildir", filename=n), d) for n, d in mails]
            published.update(n for n, _ in mails)
            st = st.model_copy(update={"names": sorted(published & present)})
            self._commit(raws, st)
            st = self.state or st
            md.mark_done([n for n, _ in mails], entry.after_fetch)
            self._hook("marked")
            taken += len(mails)
        self.state = st
        return taken

    # ------------------------------------------------------------ health

    def _report(self) -> None:
        self.health.updated_at = datetime.now(UTC)
        if self.health_sink is not None:
            try:
                self.health_sink(self.health.model_copy())
            except Exception:
                log.debug("health publish failed", exc_info=True)

    def record_success(self, taken: int) -> None:
        h = self.health
        h.status = "ok"
        h.last_success = datetime.now(UTC)
        h.consecutive_failures = 0
        h.mails_taken = self.state.mails_taken if self.state else h.mails_taken + taken
        metrics.CONSECUTIVE_FAILURES.labels(**self.labels).set(0)
        metrics.LAST_SUCCESS.labels(**self.labels).set(time.time())
        self._report()

    def record_failure(self, exc: BaseException) -> str:
        kind, message = describe(exc, (self._password or "",))
        h = self.health
        h.status = "failing"
        h.consecutive_failures += 1
        h.last_error = message
        h.last_error_at = datetime.now(UTC)
        metrics.ERRORS.labels(**self.labels, kind=kind).inc()
        metrics.CONSECUTIVE_FAILURES.labels(**self.labels).set(h.consecutive_failures)
        self._report()
        return message

    # ------------------------------------------------------------ the loop

    def run(self) -> None:
        """Poll until stopped; never raises (one failing gateway never stops the process)."""
        try:
            self._loop()
        except Exception:  # a bug, not a mailbox failure: report it and stop this gateway only
            log.exception("gateway %s: runner crashed", self.entry.name)
        finally:
            self.close()

    def _loop(self) -> None:
        while not self._stopping():
            try:
                taken = self.poll_once()
            except Fenced as exc:
                # Another producer took this gateway's transactional id (e.g. a
                # `fetcher --once` run). Back off a full interval, then take it back.
                self.record_failure(exc)
                self._drop_imap()
                self._drop_publisher()
                self.stop_event.wait(float(self.entry.poll_interval_s))
                continue
            except Exception as exc:
                message = self.record_failure(exc)
                self._drop_imap()
                if isinstance(exc, KafkaError):
                    self._drop_publisher()
                delay = backoff_delay(
                    self.health.consecutive_failures,
                    self.options.backoff_base_s,
                    min(self.options.backoff_cap_s, float(self.entry.poll_interval_s)),
                )
                log.warning(
                    "gateway %s: poll failed (%s); retry in %.1fs", self.entry.name, message, delay
                )
                self.stop_event.wait(delay)
                continue
            self.record_success(taken)
            if taken and not self._stopping():
                continue  # stopped mid-backlog by a batch limit? go again at once
            self._wait_for_mail()

    def _wait_for_mail(self) -> None:
        deadline = time.monotonic() + self.entry.poll_interval_s
        if self.imap is not None and self.options.idle and self.imap.supports_idle():
            self.health.idle = True
            try:
                # Mail that arrived during the poll was announced (and swallowed) then;
                # IDLE would not announce it again. A fresh SELECT shows it in UIDNEXT.
                self.imap.select()
                high = self.state.high_uid if self.state and self.state.high_uid else 0
                if self.imap.uidnext - 1 > high:
                    return
                self.imap.wait_idle(deadline, self._stopping, self.options.idle_renew_s)
            except Exception as exc:  # a dropped IDLE: reconnect at the next poll
                log.info("gateway %s: IDLE ended (%s)", self.entry.name, describe(exc)[1])
                self._drop_imap()
            return
        self._drop_imap()
        self.stop_event.wait(max(0.0, deadline - time.monotonic()))
