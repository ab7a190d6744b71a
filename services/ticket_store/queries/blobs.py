"""Which blobs the support center's rows still refer to: the blob collector never removes
them, however old (an attachment lives as long as its message or incoming email).

Raw mail's claim-check blobs are not among them: those live as long as mail.raw keeps
the record (see kernel.blobs.gc), whatever a mail log row remembers of them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.ticket_store.models import IncomingEmail, MessageAttachment


def attachment_refs(session: Session) -> set[str]:
    """Every blob reference of a message's or an incoming email's attachments."""
    refs = set(
        session.scalars(
            select(MessageAttachment.blob_ref).where(MessageAttachment.blob_ref.is_not(None))
        )
    )
    for files in session.scalars(select(IncomingEmail.attachments)):
        refs.update(f["blob_ref"] for f in files or () if isinstance(f, dict) and f.get("blob_ref"))
    return {r for r in refs if r}
