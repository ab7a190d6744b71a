"""Parsing raw bytes into the few facts the rules need, with the stdlib `email` package.

Parsed once per mail; every rule reads the same `ParsedMail`. The MIME tree is
parsed with ``compat32`` (the fast path: no header objects built for headers
nobody reads); the headers that carry meaning for the rules (From, Sender, To,
Subject) go through ``policy.default``'s header registry, which handles
RFC 2047, folding, groups, comments and quoted local parts. Every access is
guarded: a broken header becomes "absent", never an exception that would stop
the partition.
"""

from __future__ import annotations

import contextlib
import functools
import html as html_lib
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses

import nh3
import pybase64

_PARSER = BytesParser(policy=policy.compat32)
_DECODED = policy.default  # header registry for the headers the rules interpret
_FOLD_RE = re.compile(r"\r?\n(?=[ \t])")
MSGID_RE = re.compile(r"<([^<>\s]+)>")
STATUS_RE = re.compile(r"^\s*Status\s*:\s*([245]\.\d{1,3}\.\d{1,3})", re.I | re.M)
MSGID_LINE_RE = re.compile(r"^\s*Message-ID\s*:\s*(<[^<>\s]+>)", re.I | re.M)
_WS_RE = re.compile(r"\s+")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_SIMPLE_ADDRESSES_RE = re.compile(
    r"^[A-Za-z0-9 \t\r\n._+\-]*<?[A-Za-z0-9._+\-]+@[A-Za-z0-9.\-]+>?$"
)
# The commonest header shape exactly: one ``Word Word <local@domain>`` or a bare
# address, single spaces, dot-atoms only; getaddresses gives (display, address).
_PLAIN_ADDRESS_RE = re.compile(
    r"(?:([A-Za-z0-9_+\-]+(?: [A-Za-z0-9_+\-]+)*) )?<([A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*"
    r"@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*)>|([A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*"
    r"@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*)"
)
# A mail body beyond this many UTF-8 bytes is cut in the command (the full part
# is kept as an attachment in the blob store) so events stay far below 1 MB.
MAX_BODY_BYTES = 200_000


class MalformedMail(ValueError):
    """The bytes are not an email we can reason about."""


@functools.lru_cache(maxsize=65536)
def normalise_address(addr: str) -> str:
    """Whole-address form used for every comparison: lower case, IDN domain as ASCII.

    A pure function of its argument, called several times per mail with the
    same few addresses (gateway, From, To): cached.
    """
    addr = (addr or "").strip().strip("<>").strip()
    addr = clean_text(addr)  # raw UTF-8 bytes in a header arrive as surrogate escapes
    if "@" not in addr:
        return addr.lower()
    local, _, domain = addr.rpartition("@")
    domain = domain.strip().rstrip(".").lower()
    with contextlib.suppress(UnicodeError, ValueError):
        domain = domain.encode("idna").decode("ascii")
    return f"{local.strip().lower()}@{domain}"


def clean_text(text: str) -> str:
    """Undo surrogate escapes (raw 8-bit bytes in headers) so the text is valid UTF-8."""
    if text.isascii():
        return text
    if _SURROGATE_RE.search(text):
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if _SURROGATE_RE.search(text):  # lone surrogates that were not escaped bytes
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def normalise_message_id(mid: str) -> str:
    """Message-IDs are compared without brackets or surrounding spaces."""
    mid = (mid or "").strip()
    m = MSGID_RE.search(mid)
    return m.group(1) if m else mid.strip("<>").strip()


def message_ids(value: str) -> list[str]:
    return [m for m in MSGID_RE.findall(value or "")]


@dataclass
class Part:
    content_type: str
    filename: str
    payload: bytes


@dataclass
class ParsedMail:
    """What the rules read; built by `parse`."""

    msg: Message
    from_address: str = ""
    from_name: str = ""
    to_addresses: list[str] = field(default_factory=list)
    subject: str = ""
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    return_path: str | None = None
    text: str = ""
    html: str = ""
    attachments: list[Part] = field(default_factory=list)
    # Reports (DSN, MDN) and returned originals, for the automatic rule.
    report_type: str = ""
    report_statuses: list[str] = field(default_factory=list)
    has_dsn_part: bool = False
    returned_message_ids: list[str] = field(default_factory=list)
    _header_map: dict[str, list[str]] | None = field(default=None, repr=False)

    def header(self, name: str) -> str:
        """A header's first value, unfolded (encoded words left as they are), '' if absent."""
        values = self.headers(name)
        return values[0] if values else ""

    def headers(self, name: str) -> list[str]:
        return [_unfold(v) for v in self.header_map.get(name.lower(), ())]

    @property
    def header_map(self) -> dict[str, list[str]]:
        """Lower-cased name -> raw values, built once: rules look up many headers."""
        if self._header_map is None:
            hm: dict[str, list[str]] = {}
            for k, v in self.msg._headers:  # noqa: SLF001
                hm.setdefault(k.lower(), []).append(str(v))
            self._header_map = hm
        return self._header_map

    def has_header(self, name: str) -> bool:
        return name.lower() in self.header_map

    def body_text(self) -> str:
        """Visible text of the mail: plain parts, else HTML reduced to text."""
        if self.text.strip():
            return self.text
        return html_to_text(self.html)


def html_to_text(html: str) -> str:
    if not html:
        return ""
    stripped = nh3.clean(html, tags=set(), strip_comments=True)
    return html_lib.unescape(stripped)


def is_blank(text: str) -> bool:
    # str.isspace and the regex's \s test the same Unicode whitespace, and isspace
    # stops at the first visible character instead of rewriting the whole text.
    text = text.replace("\u00a0", "").replace("\u200b", "")
    return not text or text.isspace()


def _unfold(value: str) -> str:
    return clean_text(_FOLD_RE.sub("", value)).strip()


def _raw_headers(msg: Message, name: str) -> list[str]:
    """Every raw value of a header, without any decoding that could raise."""
    lname = name.lower()
    return [str(v) for k, v in msg._headers if k.lower() == lname]  # noqa: SLF001


def decoded_header(msg: Message, name: str) -> str:
    """A header decoded by the registry (RFC 2047 words, folding); raw text if that fails."""
    raws = _raw_headers(msg, name)
    if not raws:
        return ""
    if "=?" not in raws[0] and raws[0].isascii():
        return _unfold(raws[0])  # nothing to decode: skip the registry
    try:
        return clean_text(str(_DECODED.header_fetch_parse(name, raws[0])))
    except Exception:  # noqa: BLE001 - keep the raw text rather than lose the header
        return _unfold(raws[0])


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """(display name, normalised address) pairs from every header called ``name``."""
    out: list[tuple[str, str]] = []
    raws = _raw_headers(msg, name)
    if len(raws) == 1 and (m := _PLAIN_ADDRESS_RE.fullmatch(raws[0])):
        # Fastest path, same answer as getaddresses for this exact shape.
        display, bracketed, bare = m.groups()
        return [(display or "", normalise_address(bracketed or bare))]
    if all(_SIMPLE_ADDRESSES_RE.match(r) for r in raws):
        # Fast path, same answer: plain words and <addr> need no RFC 5322 machinery.
        return [(d, normalise_address(a)) for d, a in getaddresses(raws) if a]
    try:
        for raw in raws:
            value = _DECODED.header_fetch_parse(name, raw)
            for addr in getattr(value, "addresses", ()):
                if not addr.username:
                    continue
                full = f"{addr.username}@{addr.domain}" if addr.domain else addr.username
                out.append((clean_text(addr.display_name or ""), normalise_address(full)))
        return out
    except Exception:  # noqa: BLE001 - fall back to the tolerant legacy parser
        out = []
        for display, addr in getaddresses(raws):
            if addr:
                out.append((clean_text(display), normalise_address(addr)))
        return out


def _decode_text(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True) or b""
    except Exception:  # noqa: BLE001 - broken transfer encoding: take it as it is
        payload = str(part.get_payload()).encode("utf-8", "surrogateescape")
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogateescape")
    try:
        charset = part.get_content_charset() or "us-ascii"
    except Exception:  # noqa: BLE001
        charset = "us-ascii"
    if charset in ("us-ascii", "ascii", "unknown-8bit", "x-unknown"):
        charset = "utf-8"  # 8-bit text labelled ASCII is, in practice, UTF-8 more often than not
    try:
        text = payload.decode(charset, errors="replace")
    except (LookupError, ValueError):
        text = payload.decode("utf-8", errors="replace")
    return clean_text(text)


def _strict_base64(part: Message) -> bytes | None:
    """A base64 body that is exactly valid, decoded with SIMD; None for anything else.

    Only strictly valid input takes this path, where the stdlib's lenient decoder
    (`get_payload(decode=True)`) would give the same bytes, only several times slower.
    """
    payload = part._payload  # noqa: SLF001 - the raw str, without get_payload's copies
    if not isinstance(payload, str) or len(payload) < 4096:
        return None
    if str(part.get("content-transfer-encoding", "")).lower() != "base64":  # as the stdlib
        return None
    try:
        return pybase64.b64decode(payload.replace("\r", "").replace("\n", ""), validate=True)
    except ValueError:
        return None


def _payload_bytes(part: Message) -> bytes:
    try:
        if part.is_multipart():
            return part.as_bytes(policy=policy.SMTP)
        if (fast := _strict_base64(part)) is not None:
            return fast
        data = part.get_payload(decode=True)
        if data is None:
            inner = part.get_payload()
            if isinstance(inner, list):
                return b"".join(m.as_bytes(policy=policy.SMTP) for m in inner)
            return str(inner or "").encode("utf-8", "replace")
        return data
    except Exception:  # noqa: BLE001
        return b""


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
        if "=?" in name:  # RFC 2047 in a parameter: not standard, but what Outlook sends
            name = str(make_header(decode_header(name)))
        return clean_text(name)
    except Exception:  # noqa: BLE001
        return ""


RETURNED_TYPES = (
    "message/rfc822",
    "text/rfc822-headers",
    "message/rfc822-headers",
    "message/global",
    "message/global-headers",
)


def _walk(mail: ParsedMail, part: Message, depth: int = 0) -> None:
    """Collect text, HTML, attachments and report parts; message/* parts are not descended."""
    if depth > 30:
        return
    ctype = part.get_content_type()
    if ctype in ("message/delivery-status", "message/global-delivery-status"):
        mail.has_dsn_part = True
        mail.report_statuses.extend(
            STATUS_RE.findall(_payload_bytes(part).decode("utf-8", "replace"))
        )
        return
    if ctype == "message/disposition-notification":
        return
    if ctype in RETURNED_TYPES:
        raw = _payload_bytes(part)
        head = raw[:65536].decode("utf-8", "replace")
        mail.returned_message_ids.extend(
            normalise_message_id(m) for m in MSGID_LINE_RE.findall(head)
        )
        if not mail.report_type:
            mail.attachments.append(Part(ctype, _filename(part) or "message.eml", raw))
        return
    if part.is_multipart():
        if ctype == "multipart/report":
            mail.report_type = (part.get_param("report-type") or "").lower()
        subs = part.get_payload()
        for sub in subs if isinstance(subs, list) else ():
            if isinstance(sub, Message):
                _walk(mail, sub, depth + 1)
        return
    disposition = (part.get_content_disposition() or "").lower()
    filename = _filename(part)
    is_text = ctype.startswith("text/")
    if disposition == "attachment" or (filename and disposition != "inline") or not is_text:
        mail.attachments.append(Part(ctype, filename or "attachment", _payload_bytes(part)))
        return
    if ctype == "text/html":
        if not mail.html:
            mail.html = _decode_text(part)
    else:
        text = _decode_text(part)
        mail.text = f"{mail.text}\n{text}" if mail.text else text


def parse(data: bytes) -> ParsedMail:
    """Any bytes in: a ParsedMail, or MalformedMail when there is no mail to speak of."""
    if not data or not data.strip():
        raise MalformedMail("empty message")
    msg = _PARSER.parsebytes(data)
    if not msg.keys():
        raise MalformedMail("no header fields")
    mail = ParsedMail(msg=msg)
    froms = _addresses(msg, "From") or _addresses(msg, "Sender")
    if froms:
        mail.from_name, mail.from_address = froms[0]
    mail.to_addresses = [a for _, a in _addresses(msg, "To")]
    mail.subject = _WS_RE.sub(" ", decoded_header(msg, "Subject")).strip()
    mail.message_id = normalise_message_id(mail.header("Message-ID"))
    mail.in_reply_to = [normalise_message_id(m) for m in message_ids(mail.header("In-Reply-To"))]
    mail.references = [
        normalise_message_id(m) for m in message_ids(" ".join(mail.headers("References")))
    ]
    if mail.has_header("Return-Path"):
        rp = mail.header("Return-Path").strip()
        mail.return_path = normalise_address(rp) if rp.strip("<> ") else ""
    try:
        _walk(mail, msg)
    except Exception:  # noqa: BLE001 - a broken MIME tree: keep what we have, fall back to raw text
        if not mail.text and not mail.html and not mail.attachments:
            mail.text = _payload_bytes(msg).decode("utf-8", "replace")
    return mail
