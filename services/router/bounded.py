"""Bounded cost per mail: the limits of `kernel.config.MailLimits`, checked before the cost.

The header block is measured on the raw bytes before any parsing; parts and
nesting are counted while the stdlib's feed parser builds the tree (its message
factory is our hook), so 100,000 parts or 1,000 levels stop at the limit instead
of being built first. The header registry (policy.default) is exact but its cost
grows quadratically with a header's length, so it only sees address headers up
to `REGISTRY_MAX` characters; longer ones take a linear path (our encoded-word
decoder and `email.utils.getaddresses`), as does the Subject always. Over a
limit -> `OverLimit`, which the parse rule turns into a `malformed` outcome and
a dead letter naming the limit.
"""

from __future__ import annotations

import re
from email import policy
from email.feedparser import FeedParser
from email.message import Message
from email.utils import getaddresses

from kernel.config import MailLimits
from services.router.text import clean_text, decode_words, normalise_address

REGISTRY_MAX = 4096
FEED_CHUNK = 64 * 1024
_DECODED = policy.default  # header registry for the headers the rules interpret
_FOLD_RE = re.compile(r"\r?\n(?=[ \t])")
# The first line the feed parser would not take as a header ends the header block.
_HEADER_END_RE = re.compile(rb"^(?!From |[\x21-\x39\x3b-\x7e]*:|[ \t])", re.M)
# The regex fast paths below are only safe (no backtracking blow-up) on short input.
_FAST_MAX = 998
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


class MalformedMail(ValueError):
    """The bytes are not an email we can reason about."""


class OverLimit(MalformedMail):
    """A mail over one of the limits; the message names the limit and its setting."""

    def __init__(self, what: str, setting: str, limit: int) -> None:
        super().__init__(f"{what} over the limit of {limit} ({setting})")


def check_header_block(data: bytes, limits: MailLimits) -> None:
    limit = limits.header_block_bytes
    end = _HEADER_END_RE.search(data, 0, limit + 1024)
    if (end is None or end.start() > limit) and len(data) > limit:
        raise OverLimit("header block", "header_block_bytes", limit)


def header_bytes(msg: Message) -> int:
    return sum(len(k) + len(v) + 4 for k, v in msg._headers)  # noqa: SLF001


class _Factory:
    """Counts the messages the feed parser creates and checks its stack depth."""

    def __init__(self, limits: MailLimits) -> None:
        self.limits = limits
        self.count = -1  # FeedParser calls the factory once to probe its signature
        self.parser: FeedParser | None = None

    def __call__(self, policy: object = policy.compat32) -> Message:
        self.count += 1
        if self.count > self.limits.parts_per_mail:
            raise OverLimit("parts", "parts_per_mail", self.limits.parts_per_mail)
        depth = len(self.parser._msgstack) if self.parser is not None else 0  # noqa: SLF001
        if depth > self.limits.multipart_depth:
            raise OverLimit("multipart depth", "multipart_depth", self.limits.multipart_depth)
        return Message(policy=policy)  # type: ignore[arg-type]


def parse_tree(data: bytes, limits: MailLimits) -> Message:
    """What ``BytesParser(policy=compat32).parsebytes`` gives, within the limits."""
    check_header_block(data, limits)
    factory = _Factory(limits)
    parser = FeedParser(_factory=factory, policy=policy.compat32)
    factory.parser = parser
    # Decoded chunk by chunk (one byte is one character here): no whole-mail copy as
    # text, which for 8-bit mail (surrogate escapes) would be twice the mail's size.
    for start in range(0, len(data), FEED_CHUNK):
        parser.feed(data[start : start + FEED_CHUNK].decode("ascii", "surrogateescape"))
    msg = parser.close()
    if header_bytes(msg) > limits.header_block_bytes:
        raise OverLimit("header block", "header_block_bytes", limits.header_block_bytes)
    return msg


def check_part_headers(part: Message, limits: MailLimits) -> None:
    if header_bytes(part) > limits.header_block_bytes:
        raise OverLimit("part header block", "header_block_bytes", limits.header_block_bytes)


def raw_headers(msg: Message, name: str) -> list[str]:
    """Every raw value of a header, without any decoding that could raise."""
    lname = name.lower()
    return [str(v) for k, v in msg._headers if k.lower() == lname]  # noqa: SLF001


def unfold(value: str) -> str:
    return clean_text(_FOLD_RE.sub("", value)).strip()


def _check_size(name: str, text: str, limits: MailLimits) -> str:
    if len(text) > limits.header_decoded_chars:
        raise OverLimit(f"{name} header", "header_decoded_chars", limits.header_decoded_chars)
    return text


def unstructured(msg: Message, name: str, limits: MailLimits) -> str:
    """A header's first value decoded (RFC 2047 words, folding); raw text if that fails."""
    raws = raw_headers(msg, name)
    if not raws:
        return ""
    raw = raws[0]
    if "=?" not in raw:  # nothing to decode (raw 8-bit text is decoded by clean_text)
        return _check_size(name, unfold(raw), limits)
    # Our decoder, not the registry's: linear, and unknown or mislabelled charsets in
    # encoded words get the same fallbacks as bodies instead of U+FFFD.
    return _check_size(name, decode_words(raw).strip(), limits)


def _count_addresses(name: str, raws: list[str], limits: MailLimits) -> None:
    limit = limits.addresses_per_header
    if sum(r.count("@") for r in raws) > limit and len(getaddresses(raws)) > limit:
        raise OverLimit(f"addresses in {name}", "addresses_per_header", limit)


def addresses(msg: Message, name: str, limits: MailLimits) -> list[tuple[str, str]]:
    """(display name, normalised address) from every header called ``name``.

    The address is '' when there is none, and a bare word (no '@') when the header
    holds a local part or a display name only: callers decide what is usable.
    """
    raws = raw_headers(msg, name)
    if not raws:
        return []
    _count_addresses(name, raws, limits)
    total = sum(len(r) for r in raws)
    if total > limits.header_decoded_chars and (
        sum(len(d) + len(a) for d, a in getaddresses(raws)) > limits.header_decoded_chars
    ):
        raise OverLimit(f"{name} header", "header_decoded_chars", limits.header_decoded_chars)
    if total <= _FAST_MAX:
        if len(raws) == 1 and (m := _PLAIN_ADDRESS_RE.fullmatch(raws[0])):
            # Fastest path, same answer as getaddresses for this exact shape.
            display, bracketed, bare = m.groups()
            return [(display or "", normalise_address(bracketed or bare))]
        if all(_SIMPLE_ADDRESSES_RE.match(r) for r in raws):
            # Fast path, same answer: plain words and <addr> need no RFC 5322 machinery.
            return [(d, normalise_address(a)) for d, a in getaddresses(raws) if a]
    if total <= REGISTRY_MAX:
        try:
            found = _registry_addresses(name, raws)
            if not any("\ufffd" in d for d, _ in found):  # else: a charset it could not read
                return found
        except Exception:  # noqa: BLE001 - fall back to the tolerant legacy parser
            pass
    return [
        (_check_size(name, decode_words(d), limits), normalise_address(decode_words(a)))
        for d, a in getaddresses(raws)
        if d or a
    ]


def _registry_addresses(name: str, raws: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for raw in raws:
        value = _DECODED.header_fetch_parse(name, raw)
        for addr in getattr(value, "addresses", ()):
            display = clean_text(addr.display_name or "")
            if not addr.domain:  # a local part alone, or a display name with no address
                local = clean_text(addr.username or "")
                out.append((display or local, normalise_address(local)))
                continue
            out.append((display, normalise_address(f"{addr.username}@{addr.domain}")))
    return out
