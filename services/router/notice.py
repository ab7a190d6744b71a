"""The "insufficient support incidents" reply the ledger agent sends (rule 7)."""

from __future__ import annotations

from schemas.events import OutboundEmail
from services.router.ledger import ChargeRequest

DEFAULT_NOTICE = (
    "Hello,\n\nWe received your message, but your account has no support incidents left, "
    "so no ticket was opened. Please purchase support incidents and write to us again.\n\n"
    "This message was sent automatically."
)


def notice_for(req: ChargeRequest) -> OutboundEmail:
    """The "insufficient support incidents" reply; ids derive from the email id (idempotent)."""
    subject = req.subject
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}".strip()
    refs = tuple(f"<{m}>" for m in (*req.references, req.message_id) if m)
    domain = req.gateway_address.rpartition("@")[2] or "supportdesk.invalid"
    return OutboundEmail(
        outbound_id=f"insufficient-{req.email_id}",
        to=req.notice_to,
        from_address=req.gateway_address.lower(),
        subject=subject,
        text=req.notice_text,
        in_reply_to=f"<{req.message_id}>" if req.message_id else "",
        references=refs,
        auto_submitted="auto-replied",
        kind="insufficient_incidents",
        message_id=f"<insufficient.{req.email_id}@{domain}>",
    )
