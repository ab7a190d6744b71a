"""Parsing raw bytes into the few facts the rules need, with the stdlib `email` package.

Parsed once per mail; every rule reads the same `ParsedMail`. The MIME tree is
parsed with ``compat32`` (the fast path: no header objects built for headers
nobody reads) within the limits of `kernel.config.MailLimits` (see `bounded`);
the headers that carry meaning for the rules (From, Sender, To, Subject) are
decoded by `bounded`, which handles RFC 2047, folding, groups, comments and
quoted local parts at a cost linear in their length. Every access is guarded:
a broken header becomes "absent", never an exception that would stop the
partition; a mail over a limit is `MalformedMail` naming the limit.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.message import Message

import nh3
import pybase64

from kernel.config import MailLimits
from services.router.bounded import (
    MalformedMail,
    addresses,
    check_part_headers,
    parse_tree,
    raw_headers,
    unfold,
    unstructured,
)
from services.router.text import clean_text, decode_bytes, normalise_address, safe_text
from services.router.tnef import TnefError, is_tnef, unpack

__all__ = ["MalformedMail", "clean_text", "normalise_address", "parse"]

MSGID_RE = re.compile(r"<([^<>\s]+)>")
# [ \t]* and not \s*: with re.M, \s* at each line start would run across blank
# lines and make a body of newlines quadratic.
STATUS_RE = re.compile(r"^[ \t]*Status[ \t]*:[ \t]*([245]\.\d{1,3}\.\d{1,3})", re.I | re.M)
MSGID_LINE_RE = re.compile(r"^[ \t]*Message-ID[ \t]*:[ \t]*(<[^<>\s]+>)", re.I | re.M)
_WS_RE = re.compile(r"\s+")
DEFAULT_LIMITS = MailLimits()
# A mail body beyond this many UTF-8 bytes is cut in the command (the full part
# is kept as an attachment in the blob store) so events stay far below 1 MB.
MAX_BODY_BYTES = 200_000
# How much of an HTML body is reduced to text (to test it for content, to search it).
HTML_SCAN = 1_000_000
# How much of a returned message or report part the automatic rule reads.
REPORT_HEAD = 65536


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
    from_address: str = ""  # a usable address (local@domain), or ''
    from_name: str = ""
    from_problem: str = ""  # why From gave no usable address, '' if it did
    to_addresses: list[str] = field(default_factory=list)
    cc_addresses: list[str] = field(default_factory=list)
    subject: str = ""
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    return_path: str | None = None
    text: str = ""
    html: str = ""
    attachments: list[Part] = field(default_factory=list)
    # Reports (DSN, MDN, ARF) and returned originals, for the automatic rule.
    report_type: str = ""
    has_report: bool = False  # a multipart/report anywhere, of any report-type
    report_statuses: list[str] = field(default_factory=list)
    has_dsn_part: bool = False
    returned_types: list[str] = field(default_factory=list)
    returned_heads: list[str] = field(default_factory=list)  # the start of each, as text
    returned_message_ids: list[str] = field(default_factory=list)
    # What staff should know about how the mail was read (a winmail.dat left packed…).
    notes: list[str] = field(default_factory=list)
    tnef_text: str = ""  # the body of an Outlook winmail.dat, used when the mail has none
    tnef_html: str = ""
    _header_map: dict[str, list[str]] | None = field(default=None, repr=False)

    def header(self, name: str) -> str:
        """A header's first value, unfolded (encoded words left as they are), '' if absent."""
        values = self.headers(name)
        return values[0] if values else ""

    def headers(self, name: str) -> list[str]:
        return [unfold(v) for v in self.header_map.get(name.lower(), ())]

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
    """Visible text of (the first HTML_SCAN characters of) an HTML body."""
    if not html:
        return ""
    # nh3 needs several times its input in memory, and a Rust allocation failure
    # aborts the process: a 50 MB HTML body must not reach it whole.
    stripped = nh3.clean(html[:HTML_SCAN], tags=set(), strip_comments=True)
    return safe_text(html_lib.unescape(stripped))  # &#0; and &#x1; unescape to controls


def is_blank(text: str) -> bool:
    # str.isspace and the regex's \s test the same Unicode whitespace, and isspace
    # stops at the first visible character instead of rewriting the whole text.
    text = text.replace("\u00a0", "").replace("\u200b", "")
    return not text or text.isspace()


def _decode_text(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True) or b""
    except Exception:  # noqa: BLE001 - broken transfer encoding: take it as it is
        payload = str(part.get_payload()).encode("utf-8", "surrogateescape")
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogateescape")
    try:
        charset = part.get_content_charset() or ""
    except Exception:  # noqa: BLE001
        charset = ""
    return safe_text(decode_bytes(payload, charset))


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
        name = (part.get_filename() or "")[:2048]  # stored cut to 255 anyway
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


def _walk(mail: ParsedMail, part: Message, limits: MailLimits, texts: list[str]) -> None:
    """Collect text, HTML, attachments and report parts; message/* parts are not descended.

    The parser already refused trees deeper than the limit, so every level is reached.
    """
    check_part_headers(part, limits)
    ctype = safe_text(part.get_content_type())
    if ctype in ("message/delivery-status", "message/global-delivery-status"):
        mail.has_dsn_part = True
        head = _payload_bytes(part)[:REPORT_HEAD].decode("utf-8", "replace")
        mail.report_statuses.extend(STATUS_RE.findall(head))
        return
    if ctype in ("message/disposition-notification", "message/feedback-report"):
        mail.has_dsn_part = mail.has_dsn_part or ctype.endswith("feedback-report")
        return
    if ctype in RETURNED_TYPES:
        raw = _payload_bytes(part)
        head = safe_text(raw[:REPORT_HEAD].decode("utf-8", "replace"))
        mail.returned_types.append(ctype)
        mail.returned_heads.append(head)
        mail.returned_message_ids.extend(
            normalise_message_id(m) for m in MSGID_LINE_RE.findall(head)
        )
        if not mail.report_type:
            mail.attachments.append(Part(ctype, _filename(part) or "message.eml", raw))
        return
    if part.is_multipart():
        if ctype == "multipart/report":
            mail.has_report = True
            mail.report_type = mail.report_type or (part.get_param("report-type") or "").lower()
        subs = part.get_payload()
        for sub in subs if isinstance(subs, list) else ():
            if isinstance(sub, Message):
                _walk(mail, sub, limits, texts)
        return
    disposition = (part.get_content_disposition() or "").lower()
    filename = _filename(part)
    is_text = ctype.startswith("text/")
    if disposition == "attachment" or (filename and disposition != "inline") or not is_text:
        payload = _payload_bytes(part)
        if is_tnef(ctype, filename, payload):
            _add_tnef(mail, ctype, filename or "winmail.dat", payload, limits)
        else:
            mail.attachments.append(Part(ctype, filename or "attachment", payload))
        return
    if ctype == "text/html":
        if not mail.html:
            mail.html = _decode_text(part)
    else:
        texts.append(_decode_text(part))  # joined once at the end: += would be quadratic


def _add_tnef(
    mail: ParsedMail, ctype: str, filename: str, payload: bytes, limits: MailLimits
) -> None:
    """An Outlook winmail.dat as the files it holds; kept as it was, with a note, when it
    is broken, over a limit or empty (see `services.router.tnef`)."""
    what = f"{filename} (Outlook TNEF)"
    try:
        got = unpack(payload, limits, limits.parts_per_mail - len(mail.attachments))
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - TnefError, or tnefparse failing on odd data
        reason = str(exc) if isinstance(exc, TnefError) else f"{type(exc).__name__}: {exc}"
        mail.attachments.append(Part(ctype, filename, payload))
        mail.notes.append(f"{what} could not be unpacked ({reason[:300]}); attached as it was")
        return
    if not got.files and not got.text.strip() and not got.html.strip():
        mail.attachments.append(Part(ctype, filename, payload))
        mail.notes.append(f"{what} holds no file and no text; attached as it was")
        return
    mail.attachments.extend(Part(t, n, d) for t, n, d in got.files)
    mail.notes.extend(f"{what}: {note}" for note in got.notes)
    mail.tnef_text = mail.tnef_text or got.text
    mail.tnef_html = mail.tnef_html or got.html


def _finish_body(mail: ParsedMail) -> None:
    """A winmail.dat's body when the mail has no text of its own; notes after the text."""
    if (mail.tnef_text or mail.tnef_html) and is_blank(mail.text) and is_blank(mail.html):
        mail.text, mail.html = mail.tnef_text, mail.tnef_html
    if mail.notes:
        notes = "\n".join(f"[Supportdesk: {note}]" for note in mail.notes)
        mail.text = f"{mail.text.rstrip()}\n\n{notes}" if mail.text.strip() else notes


def _sender(mail: ParsedMail, limits: MailLimits) -> None:
    """From's first usable address; Sender's only when there is no From at all."""
    froms = addresses(mail.msg, "From", limits)
    if not froms and not raw_headers(mail.msg, "From"):
        froms = addresses(mail.msg, "Sender", limits)
    usable = [(n, a) for n, a in froms if _usable(a)]
    if usable:
        mail.from_name, mail.from_address = usable[0]
        return
    mail.from_name = froms[0][0] if froms else ""
    raw = unfold(mail.header("From"))[:200]
    mail.from_problem = f"From has no usable address ({raw!r})" if raw else "no From header"


def _usable(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and domain) and " " not in address


def parse(data: bytes, limits: MailLimits = DEFAULT_LIMITS) -> ParsedMail:
    """Any bytes in: a ParsedMail, or MalformedMail when there is no mail to speak of
    (or one over a limit; the message names it)."""
    if not data or not data.strip():
        raise MalformedMail("empty message")
    msg = parse_tree(data, limits)
    if not msg.keys():
        raise MalformedMail("no header fields")
    mail = ParsedMail(msg=msg)
    _sender(mail, limits)
    mail.to_addresses = [a for _, a in addresses(msg, "To", limits) if "@" in a]
    mail.cc_addresses = [a for _, a in addresses(msg, "Cc", limits) if "@" in a]
    mail.subject = _WS_RE.sub(" ", unstructured(msg, "Subject", limits)).strip()
    mail.message_id = safe_text(normalise_message_id(mail.header("Message-ID")))
    mail.in_reply_to = [normalise_message_id(m) for m in message_ids(mail.header("In-Reply-To"))]
    mail.references = [
        normalise_message_id(m) for m in message_ids(" ".join(mail.headers("References")))
    ]
    if mail.has_header("Return-Path"):
        rp = mail.header("Return-Path").strip()
        mail.return_path = normalise_address(rp) if rp.strip("<> ") else ""
    texts: list[str] = []
    try:
        _walk(mail, msg, limits, texts)
        broken = False
    except MalformedMail:
        raise
    except Exception:  # noqa: BLE001 - a broken MIME tree: keep what we have, fall back to raw text
        broken = True
    mail.text = "\n".join(texts)
    if broken and not mail.text and not mail.html and not mail.attachments:
        mail.text = safe_text(_payload_bytes(msg).decode("utf-8", "replace"))
    _finish_body(mail)
    return mail
