"""The email the mailer sends for one OutboundEmail: headers that cannot be injected into,
exactly one checked recipient (plus the checked Cc), the ticket tag, threading headers,
and attachments from the blob store (one that is gone makes the mail undeliverable
rather than silently incomplete)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from kernel.blobs import BlobStore
from kernel.config import Settings
from schemas.events import OutboundEmail
from schemas.ticket_tag import tagged_subject
from services.mailer.recipients import cc_recipients


def _one_line(value: str) -> str:
    """Header values never carry CR/LF: no header injection through a subject."""
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


class Undeliverable(ValueError):
    """The outbound email itself is wrong (e.g. not one plain address): retrying cannot help."""


def recipient(value: str) -> str:
    """Exactly one plain address; anything that could smuggle a header or a second
    recipient is refused rather than cleaned up."""
    if any(c in value for c in "\r\n\0,;"):
        raise Undeliverable(f"not a single address: {value!r}")
    name, address = parseaddr(value)
    if not address or "@" not in address or any(c.isspace() for c in address):
        raise Undeliverable(f"not an email address: {value!r}")
    return address


def message_id_for(outbound_id: str, domain: str) -> str:
    return f"<{outbound_id}@{domain}>"


def build_message(
    out: OutboundEmail, settings: Settings, blobs: BlobStore | None = None
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = _one_line(out.from_address) or settings.mail_from
    msg["To"] = recipient(out.to)
    if cc := cc_recipients(out, str(msg["To"]), str(msg["From"]), recipient):
        msg["Cc"] = ", ".join(cc)
    subject = _one_line(out.subject)
    msg["Subject"] = tagged_subject(subject, out.ticket_id) if out.ticket_id else subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = _one_line(out.message_id) or message_id_for(
        out.outbound_id, settings.message_id_domain
    )
    if out.in_reply_to:
        msg["In-Reply-To"] = _one_line(out.in_reply_to)
    refs = [_one_line(r) for r in out.references if r]
    if refs:
        msg["References"] = " ".join(refs)
    if out.auto_submitted != "no":
        msg["Auto-Submitted"] = out.auto_submitted
        msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Supportdesk-Outbound"] = out.outbound_id
    msg.set_content(out.text)
    if out.html:
        msg.add_alternative(out.html, subtype="html")
    store = blobs or BlobStore(settings.blob_dir)
    for att in out.attachments:
        try:
            data = store.get(att.blob_ref or "")
        except (OSError, ValueError) as exc:  # gone or corrupt: sending without it would mislead
            raise Undeliverable(f"attachment {att.filename!r} is not available: {exc}") from exc
        maintype, _, subtype = att.content_type.partition("/")
        if not (maintype and subtype) or any(c in att.content_type for c in "\r\n;"):
            maintype, subtype = "application", "octet-stream"
        msg.add_attachment(
            data, maintype=maintype, subtype=subtype, filename=_one_line(att.filename) or "file"
        )
    return msg
