"""The hostile mails of issue 10 and a child process that routes one within a budget.

`python -m tests.unit.router.hostile <value-file> <cpu-s> <extra-mb>` reads one
`mail.raw` record value, sets RLIMIT_CPU and RLIMIT_AS to what is already used
plus the budget, runs `Router.handle_raw` on it (and the ledger stage on what it
forwards) and prints the CPU seconds, the peak extra memory and the outcome as
JSON. Over the budget the kernel stops it (SIGXCPU, MemoryError): it fails.
"""

from __future__ import annotations

import base64
import json
import math
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

MB = 1024 * 1024
HEAD = (
    "From: Alice <alice@example.com>\r\nTo: support@company.net\r\nMessage-ID: <h@example.com>\r\n"
)


def _word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def encoded_subject(size: int = MB) -> bytes:
    word = _word("ünïcödé wörds ")
    subject = " ".join([word] * (size // (len(word) + 1)))
    return f"{HEAD}Subject: {subject}\r\n\r\nHello\r\n".encode()


def encoded_from_name(size: int = 220 * 1024) -> bytes:
    word = _word("Ålice Ëxample ")
    name = "\r\n ".join([word] * (size // (len(word) + 3)))
    return (
        f"From: {name} <alice@example.com>\r\nTo: support@company.net\r\nSubject: x\r\n\r\nHi\r\n"
    ).encode()


def many_to(n: int = 10_000) -> bytes:
    to = ",\r\n ".join(f"{_word(f'Bénédicte {i}')} <user{i}@example.com>" for i in range(n))
    return (
        f"From: alice@example.com\r\nTo: support@company.net,\r\n {to}\r\nSubject: x\r\n\r\nHi\r\n"
    ).encode()


def many_headers(size: int = 10 * MB) -> bytes:
    line = "X-Filler: " + "x" * 60 + "\r\n"
    return (HEAD + "Subject: x\r\n" + line * (size // len(line)) + "\r\nHello\r\n").encode()


def many_parts(n: int = 100_000) -> bytes:
    body = "".join("--b\r\nContent-Type: text/plain\r\n\r\npart\r\n" for _ in range(n))
    return (
        f"{HEAD}Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n{body}--b--\r\n"
    ).encode()


def nested(levels: int = 1000, text: str = "deep text") -> bytes:
    """``levels`` multiparts inside each other, the text at the bottom."""
    out = [f"{HEAD}Subject: nested\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"]
    for i in range(1, levels):
        out.append(f"--b{i - 1}\r\nContent-Type: multipart/mixed; boundary=b{i}\r\n\r\n")
    out.append(f"--b{levels - 1}\r\nContent-Type: text/plain\r\n\r\n{text}\r\n")
    out.extend(f"--b{i}--\r\n" for i in reversed(range(levels)))
    return "".join(out).encode()


def big_body(size: int = 50 * MB) -> bytes:
    line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n"
    return (f"{HEAD}Subject: big\r\n\r\n" + line * (size // len(line))).encode()


def big_attachment(size: int = 50 * MB) -> bytes:
    data = base64.encodebytes(b"\x00\x01binary" * (size * 3 // 4 // 8)).decode()
    return (
        f"{HEAD}Subject: big\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        '--b\r\nContent-Type: application/octet-stream; name="a.bin"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{data}--b--\r\n"
    ).encode()


def bad_utf8_body(size: int = 50 * MB) -> bytes:
    """Declared UTF-8, written in Latin-1: every accented letter is an invalid byte."""
    line = "Dépêche-toi, tendrás que esperar, ça coûte très cher à l'hôpital.\r\n"
    head = f"{HEAD}Subject: big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    return head.encode() + (line * (size // len(line))).encode("latin-1")


def html_body(size: int = 50 * MB) -> bytes:
    line = "<p>Hello <b>there</b>, &nbsp; <a href='https://example.com/x'>link</a></p>\r\n"
    head = f"{HEAD}Subject: big\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    return (head + line * (size // len(line))).encode()


def one_line(size: int = 50 * MB) -> bytes:
    return f"{HEAD}Subject: big\r\n\r\n".encode() + b"x" * size + b"\r\n"


def many_attachments(n: int = 1990, size: int = 18 * 1024) -> bytes:
    data = base64.encodebytes(b"\x89PNG" * (size // 4)).decode()
    parts = "".join(
        f'--b\r\nContent-Type: image/png; name="p{i}.png"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{data}"
        for i in range(n)
    )
    return (
        f"{HEAD}Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n{parts}--b--\r\n"
    ).encode()


def _with_tnef(tnef: bytes) -> bytes:
    from tests.unit.router.tnef_files import mail_with_tnef

    return mail_with_tnef(tnef, text="Please see attached")


def tnef_files(n: int = 9, size: int = 2 * MB) -> bytes:
    """An Outlook winmail.dat of 18 MB in nine files (a 25 MB mail): unpacked in full."""
    from tests.unit.router.tnef_files import winmail

    return _with_tnef(winmail([(f"scan{i}.pdf", bytes([i]) * size) for i in range(n)]))


def tnef_attribute_bomb(size: int = 18 * MB) -> bytes:
    """18 MB of 13-byte attributes: tnefparse would copy the stream once per attribute."""
    from tests.unit.router.tnef_files import MSG, attribute, stream

    return _with_tnef(stream(attribute(MSG, (0x8020, 0x0003), b"") * (size // 13)))


def tnef_nested_bomb(levels: int = 2000) -> bytes:
    """Outlook items inside Outlook items, 2,000 deep: tnefparse decodes each level."""
    from tests.unit.router.tnef_files import message_attachment, stream, winmail

    inner = winmail([("deep.txt", b"deep")])
    for level in range(levels):
        inner = stream(message_attachment(f"l{level}", inner))
    return _with_tnef(inner)


def tnef_count_bomb(n: int = 2000) -> bytes:
    """MAPI blocks claiming 2**32 properties and values: decode_mapi loops on the claim."""
    import struct

    from tests.unit.router.tnef_files import ATTACHMENT, MSG, MSG_PROPS, attribute, stream

    claim = struct.pack("<I", 1) + struct.pack("<HHI", 0x1002, 0x6001, 0xFFFFFFF0) + b"\0" * 8
    return _with_tnef(
        stream(
            attribute(MSG, MSG_PROPS, struct.pack("<I", 0xFFFFFFFF)),
            *[attribute(2, ATTACHMENT, claim) for _ in range(n)],
        )
    )


# Limits raised far beyond the defaults: the same mails then reach the header decoders
# and the tree walk, which must stay linear on their own.
RAISED = {
    "header_block_bytes": 64 * MB,
    "header_decoded_chars": 16 * MB,
    "addresses_per_header": 100_000,
    "multipart_depth": 1000,
    "parts_per_mail": 200_000,
}

# name -> (builder, extra: only under make fuzz, ROUTER_HOSTILE_ALL=1; the set is not)
CASES: dict[str, tuple[Callable[[], bytes], bool]] = {
    "subject_1mb_encoded_words": (encoded_subject, False),
    "from_name_220kb_encoded": (encoded_from_name, False),
    "to_10000_encoded_names": (many_to, False),
    "headers_10mb": (many_headers, False),
    "parts_100000": (many_parts, False),
    "nesting_1000": (nested, False),
    "body_50mb_text": (big_body, False),
    "attachment_50mb_base64": (big_attachment, False),
    "body_50mb_latin1_declared_utf8": (bad_utf8_body, True),
    "html_50mb": (html_body, True),
    "line_50mb_no_newline": (one_line, True),
    "attachments_1990_of_18kb": (many_attachments, True),
    "tnef_18mb_in_9_files": (tnef_files, False),
    "tnef_attribute_bomb_18mb": (tnef_attribute_bomb, False),
    "tnef_nested_2000": (tnef_nested_bomb, False),
    "tnef_mapi_count_bomb": (tnef_count_bomb, False),
}


def budget_for(size: int) -> tuple[float, int]:
    """(CPU seconds, extra MB) a mail of this many bytes may cost."""
    return (2.0, 256) if size <= 25 * MB else (4.0, 512)


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    """Restart VmHWM at the current RSS (ru_maxrss would carry the parent's peak over exec)."""
    Path("/proc/self/clear_refs").write_text("5")


def _vm_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def child(value_file: str, cpu_s: float, extra_mb: int, limits_json: str = "{}") -> dict:
    from kernel.blobs import BlobStore
    from kernel.config import MailLimits
    from services.router.pipeline import Router
    from tests.unit.router.helpers import KEY, directory, raw_event, route_and_settle, simple

    limits = MailLimits.model_validate_json(limits_json)
    with tempfile.TemporaryDirectory() as tmp:
        router = Router(directory(), KEY, BlobStore(Path(tmp)), limits=limits)
        for warm in (simple(), many_parts(3), encoded_subject(2000)):  # a running router is warm
            router.handle_raw(b"gw1", raw_event(warm).model_dump_json().encode())
        value = Path(value_file).read_bytes()
        _reset_peak()
        rss0 = _status_kb("VmRSS")
        used = _cpu()
        cpu_limit = math.ceil(used + cpu_s) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_limit, resource.RLIM_INFINITY))
        as_limit = _vm_bytes() + (extra_mb + 64) * MB  # + 64: allocator slack, not RSS
        resource.setrlimit(resource.RLIMIT_AS, (as_limit, resource.RLIM_INFINITY))
        start, wall = _cpu(), time.monotonic()
        final = route_and_settle(router, value)
        cpu = _cpu() - start
        wall = time.monotonic() - wall
        peak_kb = _status_kb("VmHWM")
    outcome = [o.event for o in final if o.topic == "outcomes"]
    if any("MemoryError" in e.reason for e in outcome):  # the router caught the limit's error
        raise SystemExit(f"over the memory budget: {outcome[0].reason[:200]}")
    return {
        "cpu_s": round(cpu, 3),
        "wall_s": round(wall, 3),
        "extra_mb": round(max(0, peak_kb - rss0) / 1024, 1),
        "outcomes": [(e.decision.value, e.reason[:200]) for e in outcome],
        "topics": sorted(o.topic for o in final),
        # The end of the opened ticket's text (where a winmail.dat left packed is noted)
        # and its attachments' names.
        "ticket": [
            (c["content"]["text"][-300:], [a["filename"] for a in c["content"]["attachments"]])
            for c in (json.loads(o.value()) for o in final if o.topic == "ticket_commands")
        ],
    }


if __name__ == "__main__":
    print(json.dumps(child(*sys.argv[1:2], float(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:5])))
