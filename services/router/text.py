"""Text that survives the trip to PostgreSQL, XML and a reader's screen.

Every string the router puts in an event passes `safe_text` (PostgreSQL refuses
NUL; XML 1.0 refuses the other C0 controls, lone surrogates and U+FFFE/U+FFFF).
Bytes become text by `decode_bytes`: the declared charset, else what
charset-normalizer detects, else cp1252, else latin-1, so a mislabelled
"tendrás" stays readable instead of turning into "tendr�s". Encoded words
(RFC 2047) are decoded by `decode_words` in one linear pass: the stdlib's
header registry grows quadratically on long encoded-word headers.
"""

from __future__ import annotations

import binascii
import codecs
import contextlib
import functools
import re
from typing import Any

from pydantic import BaseModel

_BAD_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_EW_RE = re.compile(r"=\?([^?\s]{1,80})\?([bBqQ])\?([^?\s]*)\?=")
_SPACE_RE = re.compile(r"[ \t\r\n]*")
_FOLD_RE = re.compile(r"\r?\n(?=[ \t])")
# Labels that, in practice, sit on 8-bit text in some other charset (mostly UTF-8).
_VAGUE = {"us-ascii", "ascii", "unknown-8bit", "x-unknown", "unknown", "default", "8bit"}
# Charsets the detector may choose from: what mail in Europe, Russia and East Asia uses.
# A wider list lets it pick exotic code pages for short texts (Thai for KOI8-R, cp1006 for Latin-1).
DETECTABLE = [
    "utf_8", "cp1252", "iso8859_15", "cp1250", "iso8859_2", "cp1251", "koi8_r", "iso8859_5",
    "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "gb18030", "big5", "shift_jis",
    "euc_jp", "iso2022_jp",
]  # fmt: skip
DETECT_SAMPLE = 16 * 1024


def safe_text(text: str) -> str:
    """Drop the characters PostgreSQL or XML 1.0 refuse; everything else is kept."""
    return _BAD_RE.sub("", text) if _BAD_RE.search(text) else text


def clean_text(text: str) -> str:
    """Header text as valid, storable Unicode: raw 8-bit bytes (surrogate escapes) decoded."""
    if _SURROGATE_RE.search(text):
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # lone surrogates that were never bytes
            raw = text.encode("utf-8", "replace")
        text = decode_bytes(raw)
    return safe_text(text)


@functools.lru_cache(maxsize=65536)
def normalise_address(addr: str) -> str:
    """Whole-address form used for every comparison: lower case, IDN domain as ASCII.

    A pure function of its argument, called several times per mail with the
    same few addresses (gateway, From, To): cached.
    """
    addr = clean_text((addr or "").strip().strip("<>").strip())
    if "@" not in addr:
        return addr.lower()
    local, _, domain = addr.rpartition("@")
    domain = domain.strip().rstrip(".").lower()
    with contextlib.suppress(UnicodeError, ValueError):
        domain = domain.encode("idna").decode("ascii")
    return f"{local.strip().lower()}@{domain}"


def _codec(label: str) -> str | None:
    try:
        return codecs.lookup(label.strip().strip('"').lower()).name
    except (LookupError, ValueError, TypeError):
        return None


def _utf8_damaged(data: bytes) -> str | None:
    """UTF-8 with a few broken sequences (a cut multi-byte character): keep it as UTF-8.

    Judged on a sample, so a large mislabelled body is not decoded twice in full.
    """
    sample = data[:DETECT_SAMPLE].decode("utf-8", "replace")
    bad = sample.count("\ufffd")
    good = len(sample) - len(sample.encode("ascii", "ignore")) - bad  # non-ASCII, at C speed
    return data.decode("utf-8", "replace") if good > 4 * bad else None


def detect(data: bytes) -> str | None:
    """The charset charset-normalizer finds in a sample, among `DETECTABLE`; None if unsure."""
    from charset_normalizer import from_bytes  # imported late: only odd mail needs it

    try:
        best = from_bytes(data[:DETECT_SAMPLE], cp_isolation=DETECTABLE).best()
    except Exception:  # noqa: BLE001 - a detector bug must not lose the text
        return None
    return best.encoding if best is not None else None


def decode_bytes(data: bytes, declared: str = "") -> str:
    """Declared charset, else detected, else cp1252, else latin-1 (which reads any byte)."""
    label = (declared or "").strip().lower()
    if data.isascii() and b"\x1b" not in data and "7" not in label:  # not ISO-2022, UTF-7
        return data.decode("ascii")
    codec = None if label in _VAGUE else _codec(label)
    if codec in (None, "ascii", "latin-1", "iso8859-1", "cp1252", "iso8859-15"):
        # Missing, vague or Latin-1-like labels sit on UTF-8 more often than not, and
        # valid multi-byte UTF-8 is vanishingly rare in real single-byte text.
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if codec is not None and codec != "ascii":
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError, ValueError):
            if codec == "utf-8" and (kept := _utf8_damaged(data)) is not None:
                return kept
    found = detect(data)
    if found:
        try:
            return data.decode(found)
        except (UnicodeDecodeError, LookupError, ValueError):
            pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    try:
        data = payload.encode("ascii", "surrogateescape")
        if encoding in "bB":
            return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
        return binascii.a2b_qp(data, header=True)
    except (binascii.Error, ValueError, UnicodeError):
        return None


def decode_words(value: str) -> str:
    """RFC 2047 words decoded in one pass; adjacent words in one charset decoded together
    (a character may be split across them), whitespace between words dropped."""
    value = _FOLD_RE.sub("", value)
    if "=?" not in value:
        return clean_text(value)
    out: list[str] = []
    run: list[bytes] = []
    run_charset = ""
    pos = 0

    def flush() -> None:
        if run:
            out.append(decode_bytes(b"".join(run), run_charset))
            run.clear()

    for m in _EW_RE.finditer(value):
        gap = value[pos : m.start()]
        if not (run and _SPACE_RE.fullmatch(gap)):
            flush()
            out.append(clean_text(gap))
        charset = m.group(1).partition("*")[0]  # RFC 2231 language suffix
        data = _word_bytes(m.group(2), m.group(3))
        if data is None:
            flush()
            out.append(m.group(0))
        else:
            if charset.lower() != run_charset.lower():
                flush()
            run_charset = charset
            run.append(data)
        pos = m.end()
    flush()
    out.append(clean_text(value[pos:]))
    return safe_text("".join(out))


# What a refused character looks like in pydantic's JSON: \u0000-\u001f escapes other
# than \t \n \r (and \b \f), and U+FFFE / U+FFFF in UTF-8. A false alarm only costs a scrub.
_BAD_JSON_RE = re.compile(rb"\\u00(?:0[0-8bcef]|1[0-9a-f])|\\[bf]|\xef\xbf[\xbe\xbf]")


def dump_safe(event: BaseModel) -> tuple[BaseModel, bytes]:
    """The event as JSON with no refused character: serialised once, scrubbed only if needed."""
    try:
        data = event.model_dump_json().encode()
        if not _BAD_JSON_RE.search(data):
            return event, data
    except ValueError:  # a lone surrogate cannot be serialised
        pass
    event = scrub(event)
    return event, event.model_dump_json().encode()


def scrub(value: Any) -> Any:
    """Every string in an event made safe; the same object back when nothing changed."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, tuple | list):
        items = [scrub(v) for v in value]
        changed = any(a is not b for a, b in zip(items, value, strict=True))
        return type(value)(items) if changed else value
    if isinstance(value, BaseModel):
        changes = {}
        for name in type(value).model_fields:
            old = getattr(value, name)
            new = scrub(old)
            if new is not old:
                changes[name] = new
        return value.model_copy(update=changes) if changes else value
    return value
