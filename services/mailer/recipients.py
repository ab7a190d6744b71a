"""Who one outbound email goes to: its To, and for a reply-all its Cc.

The store already leaves gateway and client addresses out of the Cc list
(`services.ticket_store.domain.recipients`); the mailer checks again what it
can see itself, so a bad record can neither loop nor smuggle a recipient:
every Cc is one plain address, given once, never the To and never the From
(the gateway the reply goes out from).
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from email.utils import parseaddr

from schemas.events import OutboundEmail

# The store sends at most 50; anything wider is not a reply-all.
MAX_CC = 100


def cc_recipients(
    out: OutboundEmail, to: str, from_header: str, check: Callable[[str], str]
) -> list[str]:
    """The Cc addresses to send to; `check` (the worker's one-address rule) raises
    ValueError on a bad one, and so does a list wider than MAX_CC."""
    if len(out.cc) > MAX_CC:
        raise ValueError(f"{len(out.cc)} Cc addresses (at most {MAX_CC})")
    seen = {to.lower(), parseaddr(from_header)[1].lower()}
    found: list[str] = []
    for value in out.cc:
        address = check(value)
        if address.lower() not in seen:
            seen.add(address.lower())
            found.append(address)
    return found


def envelope(msg: EmailMessage) -> list[str]:
    """RCPT TO: the To and the Cc as `build_message` set them (checked plain addresses)."""
    cc = str(msg["Cc"] or "")
    return [str(msg["To"]), *(a.strip() for a in cc.split(",") if a.strip())]
