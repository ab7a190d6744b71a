"""Pure logic of the fetcher: UIDL fallback, batching, backoff, options, error texts."""

from __future__ import annotations

import poplib
import ssl

from imapclient.exceptions import LoginError

from schemas.events import GatewayEntry
from services.fetcher.errors import describe
from services.fetcher.options import FetcherOptions
from services.fetcher.pop3 import Pop3Mailbox, content_uidl
from services.fetcher.publisher import backoff_delay, chunks
from services.fetcher.state import partition_for

ENTRY = GatewayEntry(
    gateway_id="g1",
    name="g",
    type="external",
    protocol="pop3",
    host="h",
    address="support@company.net",
    department_id=1,
)


class NoUidlServer:
    """A POP3 connection whose server does not implement UIDL."""

    def __init__(self, messages: list[bytes]) -> None:
        self.messages = messages

    def uidl(self):
        raise poplib.error_proto(b"-ERR Unknown command: UIDL")

    def stat(self):
        return len(self.messages), sum(map(len, self.messages))

    def retr(self, n: int):
        lines = self.messages[n - 1].rstrip(b"\n").split(b"\n")
        return b"+OK", lines, 0

    def close(self) -> None:
        pass


def test_server_without_uidl_falls_back_to_a_content_hash() -> None:
    msgs = [b"Subject: a\n\nhello\n", b"Subject: b\n\nworld\n"]
    box = Pop3Mailbox(ENTRY, "", conn=NoUidlServer(msgs))  # type: ignore[arg-type]
    items = box.listing()
    assert [i.number for i in items] == [1, 2]
    assert items[0].uidl == content_uidl(items[0].data or b"")
    assert items[0].uidl.startswith("sha256-") and items[0].uidl != items[1].uidl
    # Stable across sessions: the same bytes give the same UIDL, hence the same email id.
    again = Pop3Mailbox(ENTRY, "", conn=NoUidlServer(msgs)).listing()  # type: ignore[arg-type]
    assert [i.uidl for i in again] == [i.uidl for i in items]


def test_chunks_bound_count_and_bytes_and_keep_a_huge_item_alone() -> None:
    sizes = {1: 10, 2: 10, 3: 100, 4: 10, 5: 10, 6: 10}
    got = list(chunks(list(sizes), sizes.__getitem__, max_n=2, max_bytes=50))
    assert got == [[1, 2], [3], [4, 5], [6]]


def test_backoff_grows_is_capped_and_jittered() -> None:
    delays = [backoff_delay(n, 1.0, 30.0) for n in range(1, 12)]
    assert 0.5 <= delays[0] <= 1.0
    assert 4.0 <= delays[3] <= 8.0
    assert all(d <= 30.0 for d in delays) and delays[-1] >= 15.0
    assert len({round(backoff_delay(5, 1.0, 30.0), 6) for _ in range(20)}) > 1


def test_options_from_env() -> None:
    opts = FetcherOptions.from_env(
        {
            "SUPPORTDESK_FETCHER_METRICS_PORT": "9310",
            "SUPPORTDESK_FETCHER_IDLE": "no",
            "SUPPORTDESK_FETCHER_BACKOFF_BASE_S": "0.5",
            "SUPPORTDESK_FETCHER_GROUP_ID": "g",
        }
    )
    assert (opts.metrics_port, opts.idle, opts.backoff_base_s, opts.group_id) == (
        9310,
        False,
        0.5,
        "g",
    )
    assert FetcherOptions.from_env({}).session_timeout_ms <= 30_000


def test_error_texts_are_exact_and_never_carry_the_password() -> None:
    kind, msg = describe(LoginError("[AUTHENTICATIONFAILED] bad password hunter2"), ("hunter2",))
    assert kind == "auth" and "hunter2" not in msg and msg.startswith("login failed")
    assert describe(ConnectionRefusedError(111, "Connection refused")) == (
        "connect",
        "connection refused",
    )
    err = ssl.SSLCertVerificationError(1, "x")
    err.verify_message = "unable to get local issuer certificate"
    assert describe(err)[1] == (
        "TLS certificate verification failed: unable to get local issuer certificate"
    )
    assert describe(poplib.error_proto(b"-ERR [AUTH] Authentication failed."))[0] == "auth"
    assert describe(TimeoutError())[0] == "timeout"


def test_partition_for_matches_the_java_default_partitioner() -> None:
    # Values computed by Kafka's Utils.murmur2 (the Java client) for these keys.
    assert partition_for(b"", 4) == (275646681 & 0x7FFFFFFF) % 4
    assert all(0 <= partition_for(k.encode(), 7) < 7 for k in ("a", "gateway", "x" * 40))
