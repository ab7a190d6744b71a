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

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from kafka.errors import KafkaError

from kernel.blobs import BlobStore
from kernel.config import Settings
from kernel.crypto import decrypt
from kernel.oauth2.records import KafkaTokenStore
from kernel.oauth2.tokens import TokenManager
from schemas.events import GatewayEntry, GatewaySnapshot, MailSource, RawEmail
from schemas.raw import make_raw_email
from services.fetcher import metrics, polls
from services.fetcher.errors import describe
from services.fetcher.imap import ImapMailbox
from services.fetcher.options import FetcherOptions
from services.fetcher.publisher import Fenced, Publisher, backoff_delay
from services.fetcher.state import GatewayHealth, GatewayState, load_state

log = logging.getLogger(__name__)


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
        tokens: TokenManager | None = None,
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
        self.tokens = tokens  # OAuth2 gateways: shared by every runner of the process
        self._force_refresh = False  # the server refused a token that had not expired
        self._commits = 0
        self._snap: tuple[GatewayEntry, GatewaySnapshot] | None = None

    # ------------------------------------------------------------ helpers

    @property
    def password(self) -> str:
        """The password, or for OAuth2 gateways a current access token (asked for at
        every login: refreshed before expiry, and a rotated refresh token saved first)."""
        if self.entry.auth == "oauth2":
            if self.tokens is None:
                self.tokens = TokenManager(self.settings, KafkaTokenStore(self.settings))
            force, self._force_refresh = self._force_refresh, False
            _user, self._password = self.tokens.access_token(self.entry.gateway_id, force=force)
            return self._password
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
        """Built once per entry (a frozen model), not per mail: a tenth of a RawEmail's CPU."""
        entry = self.entry
        if self._snap is None or self._snap[0] is not entry:
            snap = GatewaySnapshot(
                address=entry.address,
                department_id=entry.department_id,
                extra_addresses=entry.extra_addresses,
            )
            self._snap = (entry, snap)
        return self._snap[1]

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

    def _start_and_login(self) -> None:
        """start(), with an IMAP gateway's login meanwhile in a thread (a tenth of the
        time to the first mail out). The login reads no mail and marks none: the poll
        looks for candidates only once the state is read, after the fence."""
        if self.publisher is not None or self.imap is not None or self.entry.protocol != "imap":
            self.start()
            return
        with ThreadPoolExecutor(1, thread_name_prefix=f"login-{self.entry.name}") as pool:
            login = pool.submit(polls.connect_imap, self, False)  # SELECT after the fence
            try:
                self.start()
            except BaseException:
                with contextlib.suppress(Exception):  # the start's failure is the one to report
                    self.imap = login.result()
                raise
            self.imap = login.result()

    def poll_once(self) -> int:
        """One poll; returns how many mails were published (and marked)."""
        self._start_and_login()
        started = time.monotonic()
        with metrics.POLL_SECONDS.labels(**self.labels).time():
            if self.entry.protocol == "imap":
                n = polls.poll_imap(self)
            elif self.entry.protocol == "pop3":
                n = polls.poll_pop3(self)
            else:
                n = polls.poll_maildir(self)
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
        if kind == "auth" and self.entry.auth == "oauth2":
            self._force_refresh = True  # revoked before expiry? the next login tries a refresh
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
