"""Outlook's winmail.dat (TNEF, MS-OXTNEF) unpacked into its real attachments and body.

Outlook sends rich-text mail as one ``application/ms-tnef`` part that other
clients show as an opaque file. tnefparse (pinned) decodes it; its body in
compressed RTF is inflated by compressed-rtf and reduced to text by striprtf.

tnefparse is not written for hostile input: it copies the rest of the stream
once per attribute (quadratic), loops on MAPI counts read from the data (up to
2**32) and decodes embedded messages recursively. So `scan` first walks the
stream the way tnefparse will, in time linear in what it allows, and refuses
one over the `MailLimits` tnef_* limits before tnefparse sees it. A refused or
broken stream is `TnefError`: the caller keeps the part as it was, with a note.
"""

from __future__ import annotations

import mimetypes
import struct
from dataclasses import dataclass, field

from kernel.config import MailLimits
from services.router.text import clean_text, decode_bytes, safe_text

TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
SIGNATURE = b"\x78\x9f\x3e\x22"
IMESSAGE_SIG = b"\x07\x03\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46"
_LVL_ATTACHMENT = 2
_ATT_RENDDATA = 0x9002
_ATT_MAPIPROPS = 0x9003
_ATT_RECIPTABLE = 0x9004
_ATT_ATTACHMENT = 0x9005
_ATTACH_DATA_OBJ = 0x3701
_ATTACH_MIME_TAG = 0x370E
# MAPI property types by the bytes one value takes (tnefparse's parse_property).
_FIXED = {0x2: 2, 0xB: 2, 0x3: 4, 0x4: 4, 0xA: 4, 0x5: 8, 0x6: 8, 0x7: 8, 0x14: 8, 0x40: 8,
          0x48: 16}  # fmt: skip
_VARIABLE = frozenset({0x0, 0xD, 0x1E, 0x1F, 0x102})
_U16 = struct.Struct("<H").unpack_from
_U32 = struct.Struct("<I").unpack_from


def _u16(data: bytes, offset: int) -> int:
    return int(_U16(data, offset)[0])


def _u32(data: bytes, offset: int) -> int:
    return int(_U32(data, offset)[0])


class TnefError(ValueError):
    """A TNEF stream that is broken or over a limit; the message says which."""


def is_tnef(content_type: str, filename: str, payload: bytes) -> bool:
    """By type, by Outlook's file name or by the signature (one named so without the
    signature is a broken stream, kept with a note)."""
    named = content_type in TNEF_TYPES or filename.lower() == "winmail.dat"
    return named or payload[:4] == SIGNATURE


@dataclass
class Unpacked:
    """What a TNEF stream held: (content type, file name, bytes) per file, and its body."""

    files: list[tuple[str, str, bytes]] = field(default_factory=list)
    text: str = ""
    html: str = ""
    notes: list[str] = field(default_factory=list)


class _Budget:
    """Counts what tnefparse would build, across nested messages."""

    def __init__(self, limits: MailLimits, files_left: int) -> None:
        self.limits = limits
        self.objects = 0
        self.values = 0
        self.copied = 0
        self.files_left = files_left

    def object(self, remaining: int) -> None:
        self.objects += 1
        self.copied += remaining  # tnefparse slices data[offset:] for every attribute
        if self.objects > self.limits.tnef_attributes:
            raise TnefError(f"over {self.limits.tnef_attributes} attributes (tnef_attributes)")
        if self.copied > self.limits.tnef_copy_bytes:
            raise TnefError(
                f"decoding would copy over {self.limits.tnef_copy_bytes} bytes (tnef_copy_bytes)"
            )

    def value(self) -> None:
        self.values += 1
        if self.values > self.limits.tnef_properties:
            raise TnefError(f"over {self.limits.tnef_properties} properties (tnef_properties)")

    def file(self) -> None:
        self.files_left -= 1
        if self.files_left < 0:
            raise TnefError(f"too many attachments (parts_per_mail {self.limits.parts_per_mail})")


def scan(data: bytes, budget: _Budget, depth: int = 0) -> None:
    """Walk a stream as tnefparse.TNEF will, refusing what would cost too much."""
    if depth > budget.limits.tnef_depth:
        raise TnefError(f"embedded messages nested over {budget.limits.tnef_depth} deep")
    if data[:4] != SIGNATURE:
        raise TnefError("no TNEF signature")
    offset, size = 6, len(data)
    while offset + 12 < size:  # tnefparse's loop condition (MIN_OBJ_SIZE)
        budget.object(size - offset)
        level, name = data[offset], _u16(data, offset + 1)
        declared = _u32(data, offset + 5)
        if declared + 11 > size - offset:  # tnefparse would hand out a cut file as whole
            raise TnefError(f"cut short: an attribute of {declared} bytes at byte {offset}")
        length = declared + 11
        body = data[offset + 9 : offset + length - 2]
        if name == _ATT_RENDDATA:
            budget.file()
        if name in (_ATT_MAPIPROPS, _ATT_ATTACHMENT) and (
            level == _LVL_ATTACHMENT or name == _ATT_MAPIPROPS
        ):
            _scan_mapi(body, 0, budget, depth)
        elif name == _ATT_RECIPTABLE and level != _LVL_ATTACHMENT and len(body) >= 4:
            rows, at = _u32(body, 0), 4
            for _ in range(rows):
                budget.value()
                at = _scan_mapi(body, at, budget, depth)
                if at + 4 > len(body):
                    break
        offset += length


def _scan_mapi(data: bytes, offset: int, budget: _Budget, depth: int) -> int:
    """One MAPI property block (tnefparse's decode_mapi); the offset after it."""
    size = len(data)
    if offset + 4 > size:
        return size
    count = _u32(data, offset)
    offset += 4
    if count > (size - offset) // 4 + 1:  # every property takes at least 4 bytes
        raise TnefError(f"a MAPI block claims {count} properties in {size - offset} bytes")
    try:
        for _ in range(count):
            if offset >= size:
                break
            ptype, pname = _u16(data, offset), _u16(data, offset + 2)
            offset += 4
            if pname >= 0x8000:  # named property: GUID, kind, then an id or a name
                kind = _u32(data, offset + 16)
                offset += 20
                if kind == 0:
                    offset += 4
                else:
                    offset += 4 + _pad4(_u32(data, offset))
            multi = None
            if ptype & 0x1000:
                ptype ^= 0x1000
                multi = _u32(data, offset)
                offset += 4
                if multi > (size - offset) // 2 + 1:
                    raise TnefError(f"a MAPI property claims {multi} values")
            for _ in range(multi or 1):
                budget.value()
                offset = _scan_value(data, offset, ptype, pname, multi, budget, depth)
            if (multi or 1) % 2 and ptype in (0x2, 0xB):
                offset += 2
    except struct.error:  # read past the end: tnefparse stops this block there too
        return size
    return offset


def _scan_value(
    data: bytes, offset: int, ptype: int, pname: int, multi: int | None, budget: _Budget,
    depth: int,
) -> int:  # fmt: skip
    if ptype in _FIXED:
        return offset + _FIXED[ptype]
    if ptype not in _VARIABLE:
        raise struct.error("unknown MAPI type")  # tnefparse raises and ends the block
    values = 1
    if not multi:
        values = _u32(data, offset)
        offset += 4
        if values > (len(data) - offset) // 4 + 1:
            raise TnefError(f"a MAPI property claims {values} values")
    items = []
    for _ in range(values):
        budget.value()
        length = _pad4(_u32(data, offset))
        offset += 4
        if pname == _ATTACH_DATA_OBJ:
            items.append(data[offset : offset + length].rstrip(b"\x00"))
        offset += length
    joined = b"".join(items)
    if joined.startswith(IMESSAGE_SIG):  # an embedded message: tnefparse decodes it as well
        scan(joined[len(IMESSAGE_SIG) :], budget, depth + 1)
    return offset


def _pad4(n: int) -> int:
    return n + (-n % 4)


def unpack(data: bytes, limits: MailLimits, files_left: int) -> Unpacked:
    """The stream's files and body; TnefError when it is broken or over a limit."""
    if len(data) > limits.tnef_bytes:
        raise TnefError(f"{len(data)} bytes, over {limits.tnef_bytes} (tnef_bytes)")
    scan(data, _Budget(limits, files_left))
    from tnefparse.tnef import TNEF  # imported late: only Outlook mail needs it

    try:
        tnef = TNEF(data, do_checksum=False)  # a bad checksum only makes tnefparse log
    except Exception as exc:  # noqa: BLE001 - any shape of broken stream
        raise TnefError(f"not decodable: {type(exc).__name__}: {exc}") from exc
    out = Unpacked()
    _collect(tnef, out, limits, prefix="")
    return out


def _collect(tnef: object, out: Unpacked, limits: MailLimits, prefix: str) -> None:
    """Files of this message (embedded messages flattened) and, for the outer one, the body."""
    text, html = _body(tnef, limits, out.notes)
    if not prefix:
        out.text, out.html = text, html
    elif text.strip():  # an attached Outlook item: its body as a file of its own
        out.files.append(("text/plain", f"{prefix}.txt", text.encode()))
    elif html.strip():
        out.files.append(("text/html", f"{prefix}.html", html.encode()))
    for n, att in enumerate(getattr(tnef, "attachments", ())):
        name = _name(att) or f"attachment-{n + 1}"
        full = f"{prefix} - {name}" if prefix else name  # files of an attached item: named by it
        embedded = getattr(att, "embed", None)
        if embedded is not None:
            _collect(embedded, out, limits, prefix=full)
            continue
        data = att.data if isinstance(att.data, bytes) else b""
        if not data and not _name(att):
            continue  # a rendering-only entry (OLE pictures in rich text), nothing to show
        out.files.append((_content_type(att, name), full[:255], data))


def _name(att: object) -> str:
    try:
        name = att.long_filename()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a title in a legacy code page tnefparse reads as UTF-8
        raw = getattr(att, "_name", b"")
        name = decode_bytes(raw) if isinstance(raw, bytes) else str(raw)
    if isinstance(name, bytes):
        name = decode_bytes(name)
    name = clean_text(str(name or "")).strip("\x00 ").replace("/", "_").replace("\\", "_")
    return name[:255]


def _content_type(att: object, name: str) -> str:
    for prop in getattr(att, "mapi_attrs", ()):
        if prop.name == _ATTACH_MIME_TAG:
            try:
                tag = str(prop.data).strip().lower()
            except Exception:  # noqa: BLE001
                continue
            if "/" in tag and len(tag) < 100 and tag.isascii():
                return tag
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return safe_text(decode_bytes(value.rstrip(b"\x00")))
    return safe_text(str(value or "")).rstrip("\x00")


def _body(tnef: object, limits: MailLimits, notes: list[str]) -> tuple[str, str]:
    """(text, html): the plain body, else the RTF body reduced to text; the HTML body."""
    text = _text(getattr(tnef, "body", None))
    html = _text(getattr(tnef, "htmlbody", None))
    rtf = getattr(tnef, "_rtfbody", None)
    if not text.strip() and not html.strip() and isinstance(rtf, bytes) and rtf:
        if len(rtf) > limits.tnef_rtf_bytes:
            notes.append(f"its RTF body is over {limits.tnef_rtf_bytes} bytes (tnef_rtf_bytes)")
        else:
            text = _rtf_text(rtf, limits, notes)
    return text, html


def _rtf_text(compressed: bytes, limits: MailLimits, notes: list[str]) -> str:
    from compressed_rtf import decompress
    from striprtf.striprtf import rtf_to_text

    try:
        raw = decompress(compressed + b"\x00")  # as tnefparse calls it
        return safe_text(rtf_to_text(raw.decode("latin-1"), errors="replace"))
    except Exception as exc:  # noqa: BLE001 - a broken body; the files are still worth having
        notes.append(f"its RTF body could not be read ({type(exc).__name__})")
        return ""
