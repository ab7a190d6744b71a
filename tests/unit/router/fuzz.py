"""Fuzzing the router with hypothesis: the parse rule and the whole `Router.handle_raw`.

Mails are built from parts that have broken parsers before (encoded words in
odd charsets, folding, NUL and controls, long repetitions, address lists,
nested multiparts and reports, broken transfer encodings) or are mutated
copies of our bounce corpus. For every input: `parse.read` never raises; the
router gives exactly one outcome, every event serialises and holds no
character PostgreSQL or XML refuse, and one mail costs under `CPU_BUDGET_S`.

`make fuzz` runs ``python -m tests.unit.router.fuzz --minutes N`` (random
seeds, under RLIMIT_AS); a failing input is saved in tests/corpus/fuzz/, where
`test_fuzz.py` replays it in every `make test`, next to a short fixed-seed pass.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import resource
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.events import DepartmentEntry
from services.router.outputs import Out
from services.router.pipeline import Router
from services.router.rules import parse as parse_rule
from tests.unit.router.helpers import KEY, cpu_seconds, directory, raw_event, route_and_settle

ROOT = Path(__file__).parents[3]
CRASHES = ROOT / "tests" / "corpus" / "fuzz"
SEEDS = sorted((ROOT / "tests" / "corpus" / "bounces").glob("*.eml"))
# Measured with thread_time: process_time also counts other threads of the xdist worker
# (clients left by integration tests), which once failed a 14 ms input in CI.
CPU_BUDGET_S = 2.0
PAID = DepartmentEntry(department_id=2, name="paid", per_incident=True)
REFUSED = set("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16")
REFUSED |= set("\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\ufffe\uffff")
CHARSETS = [
    "utf-8",
    "iso-8859-1",
    "koi8-r",
    "iso-2022-jp",
    "gb2312",
    "x-unknown",
    "utf-7",
    "bogus?",
]
HEADER_NAMES = [
    "From", "To", "Subject", "Sender", "Return-Path", "Message-ID", "References",
    "In-Reply-To", "Auto-Submitted", "X-Failed-Recipients", "Precedence", "List-Id",
    "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "X-Loop",
]  # fmt: skip
CONTENT_TYPES = [
    "text/plain", "text/html", "message/rfc822", "message/delivery-status",
    "text/rfc822-headers", "application/octet-stream", "message/disposition-notification",
    "multipart/alternative", "text/plain; charset=x-unknown", "image/png",
]  # fmt: skip

last_failure: bytes | None = None


@st.composite
def encoded_word(draw: st.DrawFn) -> str:
    charset = draw(st.sampled_from(CHARSETS))
    raw = draw(st.binary(max_size=40))
    if draw(st.booleans()):
        return f"=?{charset}?b?{base64.b64encode(raw).decode()}?="
    return f"=?{charset}?q?{''.join(f'={b:02X}' for b in raw)}?="


PIECES = st.one_of(
    st.text(max_size=30),
    encoded_word(),
    st.sampled_from(
        [
            "alice@example.com",
            "<MAILER-DAEMON@mx.example.com>",
            "Alice Example",
            "undisclosed-recipients:;",
            '"quoted, name" <a@b.c>',
            "support@company.net",
            "(comment) <x@y>",
            "\r\n ",
            "\x00",
            "<>",
            "=?",
            "?=",
            ",",
            "Undeliverable: ",
            "\udcff",
        ]
    ),
)


@st.composite
def header_value(draw: st.DrawFn) -> str:
    parts = draw(st.lists(PIECES, max_size=8))
    times = draw(st.sampled_from([1, 1, 1, 2, 50, 400]))
    return " ".join(parts) * times


@st.composite
def headers(draw: st.DrawFn) -> str:
    names = draw(st.lists(st.one_of(st.sampled_from(HEADER_NAMES), st.text(max_size=12))))
    lines = [f"{n}: {draw(header_value())}" for n in names]
    return "\r\n".join(lines)


def _leaf(draw: st.DrawFn) -> str:
    ctype = draw(st.sampled_from(CONTENT_TYPES))
    cte = draw(st.sampled_from(["", "base64", "quoted-printable", "8bit", "x-bogus"]))
    body = draw(st.text(max_size=200))
    if cte == "base64" and draw(st.booleans()):
        body = base64.encodebytes(body.encode("utf-8", "surrogatepass")).decode()
    extra = f"\r\nContent-Transfer-Encoding: {cte}" if cte else ""
    return f"Content-Type: {ctype}{extra}\r\n\r\n{body}"


@st.composite
def mime(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 6 or draw(st.integers(0, 2)) == 0:
        return _leaf(draw)
    kind = draw(st.sampled_from(["mixed", "report; report-type=delivery-status", "alternative"]))
    boundary = f"b{depth}{draw(st.sampled_from(['', 'x', '=_']))}"
    subs = [draw(mime(depth + 1)) for _ in range(draw(st.integers(0, 4)))]
    inner = "".join(f"--{boundary}\r\n{s}\r\n" for s in subs)
    end = draw(st.sampled_from([f"--{boundary}--\r\n", "", f"--{boundary}"]))
    return f'Content-Type: multipart/{kind}; boundary="{boundary}"\r\n\r\n{inner}{end}'


@st.composite
def built_mail(draw: st.DrawFn) -> bytes:
    head = draw(headers())
    text = f"{head}\r\n{draw(mime())}" if draw(st.booleans()) else f"{head}\r\n\r\n{draw(mime())}"
    encoding = draw(st.sampled_from(["utf-8", "latin-1", "cp1251"]))
    return text.encode(encoding, "surrogateescape" if encoding == "utf-8" else "replace")


@st.composite
def mutated_seed(draw: st.DrawFn) -> bytes:
    data = bytearray(SEEDS[draw(st.integers(0, len(SEEDS) - 1))].read_bytes())
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "delete", "repeat", "flip"]))
        if op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=20))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 200))]
        elif op == "repeat":
            data[at:at] = bytes(data[at : at + 40]) * draw(st.integers(2, 300))
        elif data:
            data[min(at, len(data) - 1)] ^= draw(st.integers(1, 255))
    return bytes(data)


MAILS = st.one_of(built_mail(), mutated_seed(), st.binary(max_size=2000))


def _route(data: bytes) -> list[Out]:
    """What one mail finally causes in a paid department with no incidents (where a new
    ticket would cost a notice); the same email id for the same bytes, so a rerun is one."""
    router = Router(directory(departments=[PAID]), KEY)
    name = hashlib.sha256(data).hexdigest()
    raw = raw_event(data, department_id=PAID.department_id, name=name)
    return route_and_settle(router, raw.model_dump_json().encode())


def check_one(data: bytes) -> None:
    """The invariants for one input; raises AssertionError (or anything) on a failure."""
    global last_failure
    try:
        cpu_s, (got, final) = cpu_seconds(
            lambda: (parse_rule.read(data), _route(data)), CPU_BUDGET_S
        )
        assert got is not None
        outcomes = [o.event for o in final if o.topic == "outcomes"]
        assert len(outcomes) == 1
        if any(o.topic == "outbound" for o in final):  # a notice only for a plain new ticket
            assert outcomes[0].decision.value == "insufficient_incidents"
            assert not parse_rule.read(data).msg.get("Auto-Submitted", "").strip()
        if outcomes[0].automatic or outcomes[0].decision.value == "automatic":
            # never a notice, a charge or a new ticket (the directory knows no ticket to add to)
            assert not any(o.topic in ("outbound", "ticket_commands") for o in final)
        for o in final:
            text = json.loads(o.value())
            bad = REFUSED & set(json.dumps(text, ensure_ascii=False))
            assert not bad, (o.topic, sorted(bad))
        assert cpu_s < CPU_BUDGET_S, f"{cpu_s:.2f} CPU s for one mail"
    except BaseException:
        last_failure = data
        raise


def save(data: bytes) -> Path:
    CRASHES.mkdir(parents=True, exist_ok=True)
    path = CRASHES / f"crash-{hashlib.sha256(data).hexdigest()[:16]}.eml"
    path.write_bytes(data)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--memory-mb", type=int, default=2048)
    args = ap.parse_args()
    limit = args.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    stop = time.monotonic() + 60 * args.minutes
    rounds = 0

    @settings(
        max_examples=500,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(MAILS)
    def run(data: bytes) -> None:
        check_one(data)

    while time.monotonic() < stop:
        try:
            run()
        except BaseException as exc:  # noqa: BLE001 - keep the input, report, go on
            if last_failure is None or isinstance(exc, KeyboardInterrupt):
                raise
            print(f"failure {type(exc).__name__}: {str(exc)[:300]} -> {save(last_failure)}")
        rounds += 1
        print(f"round {rounds}: {rounds * 500} examples", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
