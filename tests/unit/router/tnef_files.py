"""TNEF streams written per MS-OXTNEF, for tests (tnefparse reads TNEF, it cannot write it).

A stream is the signature, a key, then attributes: level (1 message, 2
attachment), attribute id (name in the low word, type in the high), length,
data and a 16-bit checksum of the data. MAPI properties (attMsgProps,
attAttachment) are a count, then per property its type, id and value(s),
variable-length values padded to 4 bytes.
"""

from __future__ import annotations

import struct
from email.message import EmailMessage

SIGNATURE = 0x223E9F78
MSG, ATT = 1, 2
# (name, type) of the attributes used here.
TNEF_VERSION = (0x9006, 0x0008)
OEM_CODEPAGE = (0x9007, 0x0006)
MESSAGE_CLASS = (0x8008, 0x0007)
SUBJECT = (0x8004, 0x0001)
MSG_PROPS = (0x9003, 0x0006)
RECIP_TABLE = (0x9004, 0x0006)
REND_DATA = (0x9002, 0x0006)
ATTACH_TITLE = (0x8010, 0x0001)
ATTACH_DATA = (0x800F, 0x0006)
ATTACHMENT = (0x9005, 0x0006)
PT_LONG, PT_STRING8, PT_UNICODE, PT_BINARY, PT_OBJECT = 0x3, 0x1E, 0x1F, 0x102, 0xD
PR_BODY, PR_BODY_HTML, PR_RTF_COMPRESSED = 0x1000, 0x1013, 0x1009
PR_ATTACH_LONG_FILENAME, PR_ATTACH_MIME_TAG, PR_ATTACH_DATA_OBJ = 0x3707, 0x370E, 0x3701
IMESSAGE_SIG = b"\x07\x03\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46"


def attribute(level: int, which: tuple[int, int], data: bytes) -> bytes:
    name, kind = which
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BHHI", level, name, kind, len(data)) + data + struct.pack("<H", checksum)


def _pad(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 4)


def prop(ptype: int, pid: int, value: bytes | str | int) -> bytes:
    """One single-valued MAPI property."""
    head = struct.pack("<HH", ptype, pid)
    if ptype == PT_LONG:
        return head + struct.pack("<i", int(value))
    if isinstance(value, str):
        value = value.encode("utf-16-le" if ptype == PT_UNICODE else "cp1252") + (
            b"\x00\x00" if ptype == PT_UNICODE else b"\x00"
        )
    assert isinstance(value, bytes)
    return head + struct.pack("<II", 1, len(value)) + _pad(value)


def props(*items: bytes) -> bytes:
    return struct.pack("<I", len(items)) + b"".join(items)


def stream(*attributes: bytes, key: int = 0x1234) -> bytes:
    head = struct.pack("<IH", SIGNATURE, key)
    common = attribute(MSG, TNEF_VERSION, struct.pack("<I", 0x10000)) + attribute(
        MSG, OEM_CODEPAGE, struct.pack("<II", 1252, 0)
    )
    return head + common + b"".join(attributes)


def file_attachment(name: str, data: bytes, mime: str = "", long_name: str = "") -> bytes:
    """attAttachRendData, title, data and the MAPI properties of one attached file."""
    rend = struct.pack("<HiHHI", 1, -1, 0, 0, 0)
    mapi = [prop(PT_UNICODE, PR_ATTACH_LONG_FILENAME, long_name or name)]
    if mime:
        mapi.append(prop(PT_STRING8, PR_ATTACH_MIME_TAG, mime))
    return (
        attribute(ATT, REND_DATA, rend)
        + attribute(ATT, ATTACH_TITLE, name.encode("cp1252") + b"\x00")
        + attribute(ATT, ATTACH_DATA, data)
        + attribute(ATT, ATTACHMENT, props(*mapi))
    )


def message_attachment(name: str, inner: bytes) -> bytes:
    """An Outlook item (a mail) attached inside the mail: a TNEF stream of its own."""
    rend = struct.pack("<HiHHI", 1, -1, 0, 0, 0)
    return attribute(ATT, REND_DATA, rend) + attribute(
        ATT,
        ATTACHMENT,
        props(
            prop(PT_UNICODE, PR_ATTACH_LONG_FILENAME, name),
            prop(PT_OBJECT, PR_ATTACH_DATA_OBJ, IMESSAGE_SIG + inner),
        ),
    )


def winmail(
    files: list[tuple[str, bytes]] | None = None,
    body: str = "",
    html: str = "",
    rtf: bytes = b"",
    subject: str = "Outlook mail",
) -> bytes:
    """What Outlook puts in winmail.dat: the class, the subject, the body, the files."""
    mapi = []
    if body:
        mapi.append(prop(PT_UNICODE, PR_BODY, body))
    if html:
        mapi.append(prop(PT_BINARY, PR_BODY_HTML, html.encode()))
    if rtf:
        mapi.append(prop(PT_BINARY, PR_RTF_COMPRESSED, rtf))
    parts = [
        attribute(MSG, MESSAGE_CLASS, b"IPM.Microsoft Mail.Note\x00"),
        attribute(MSG, SUBJECT, subject.encode("cp1252") + b"\x00"),
        attribute(MSG, MSG_PROPS, props(*mapi)),
    ]
    for name, data in files or []:
        parts.append(file_attachment(name, data))
    return stream(*parts)


def compressed_rtf(rtf: bytes) -> bytes:
    """A PidTagRtfCompressed value; uncompressed form (MELA) for large text: compressing
    in compressed-rtf's pure Python takes seconds per 100 KB."""
    from compressed_rtf import compress

    return compress(rtf, compressed=len(rtf) < 20_000)


def mail_with_tnef(
    tnef: bytes,
    *,
    text: str = "",
    sender: str = "Alice <alice@example.com>",
    to: str = "support@company.net",
    subject: str = "Outlook mail",
    content_type: str = "application/ms-tnef",
    filename: str = "winmail.dat",
    message_id: str = "<tnef-1@example.com>",
) -> bytes:
    """An Outlook-style mail: an optional plain part and winmail.dat."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    if text:
        msg.set_content(text)
    maintype, subtype = content_type.split("/")
    msg.add_attachment(tnef, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(msg)
