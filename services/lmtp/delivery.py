"""What one LMTP delivery means: which gateway each recipient is, the email's id, its size.

No I/O here, so the rules that decide "same mail or a new one" and "250, 4xx or 550" are
tested on their own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from kernel.blobs import BlobStore
from schemas.events import GatewayEntry, GatewaySnapshot, MailSource, RawEmail
from schemas.raw import make_raw_email

OK = "250 2.0.0 Ok: queued on mail.raw"
RCPT_OK = "250 2.1.5 Ok"
NOT_LOADED = "451 4.3.0 Gateway directory not loaded yet, try again later"
BROKER_DOWN = "451 4.3.0 Mail queue unavailable, try again later"
GATEWAY_GONE = "450 4.2.1 Gateway changed during delivery, try again later"


def normalise(address: str) -> str:
    """An envelope address as the gateways are compared: no angle brackets, any case."""
    return address.strip().strip("<>").strip().lower()


def unknown_recipient(address: str) -> str:
    return f"550 5.1.1 <{normalise(address)}>: not a gateway address"


def too_big(limit: int) -> str:
    return f"552 5.3.4 Message too big (limit {limit} bytes)"


def envelope_hash(mail_from: str, data: bytes) -> str:
    """sha256 of the envelope sender and the content: what an MTA's retry repeats exactly.

    The recipient is left out on purpose: it picks the gateway, and the gateway id is part
    of the email id already; two addresses of one gateway are one mail, not two.
    """
    h = hashlib.sha256()
    h.update(normalise(mail_from).encode("utf-8", "surrogateescape"))
    h.update(b"\0")
    h.update(data)
    return h.hexdigest()


class GatewayAddresses:
    """The enabled LMTP gateways by address (the main one and the extra ones)."""

    def __init__(self, gateways: Iterable[GatewayEntry]) -> None:
        self.by_address: dict[str, GatewayEntry] = {}
        # Sorted by id: an address claimed by two gateways goes to the same one every time.
        for gw in sorted(gateways, key=lambda g: g.gateway_id):
            if gw.protocol != "lmtp" or not gw.enabled:
                continue
            for address in (gw.address, *gw.extra_addresses):
                self.by_address.setdefault(normalise(address), gw)

    def gateway_for(self, recipient: str) -> GatewayEntry | None:
        return self.by_address.get(normalise(recipient))

    def __len__(self) -> int:
        return len({gw.gateway_id for gw in self.by_address.values()})


def snapshot(gw: GatewayEntry) -> GatewaySnapshot:
    return GatewaySnapshot(
        address=gw.address, department_id=gw.department_id, extra_addresses=gw.extra_addresses
    )


@dataclass
class Delivery:
    """One DATA: the raw emails to publish (one per gateway) and each recipient's reply."""

    raws: list[RawEmail] = field(default_factory=list)
    # Per recipient, in RCPT order: the gateway id it goes to, or its final reply.
    routes: list[str | None] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)

    def answers(self, published: bool) -> list[str]:
        """The per-recipient replies LMTP asks for, once the publish is known."""
        out = []
        for route, reply in zip(self.routes, self.replies, strict=True):
            if route is None:
                out.append(reply)
            else:
                out.append(OK if published else BROKER_DOWN)
        return out


def plan_delivery(
    *,
    mail_from: str,
    recipients: list[str],
    data: bytes,
    gateways: GatewayAddresses,
    blobs: BlobStore,
    inline_limit: int,
    max_bytes: int,
) -> Delivery:
    """The RawEmails for this DATA (one per gateway named among the recipients; mail over
    the inline limit goes to the blob store) and the recipients' replies but the publish."""
    delivery = Delivery()
    digest = envelope_hash(mail_from, data)
    by_gateway: dict[str, RawEmail] = {}
    for rcpt in recipients:
        gw = gateways.gateway_for(rcpt)
        if len(data) > max_bytes:
            delivery.routes.append(None)
            delivery.replies.append(too_big(max_bytes))
            continue
        if gw is None:  # removed since RCPT: the MTA tries again and gets the 550 then
            delivery.routes.append(None)
            delivery.replies.append(GATEWAY_GONE)
            continue
        if gw.gateway_id not in by_gateway:
            by_gateway[gw.gateway_id] = make_raw_email(
                gateway_id=gw.gateway_id,
                gateway=snapshot(gw),
                source=MailSource(protocol="lmtp", envelope_hash=digest),
                data=data,
                blobs=blobs,
                inline_limit=inline_limit,
            )
        delivery.routes.append(gw.gateway_id)
        delivery.replies.append("")
    delivery.raws = list(by_gateway.values())
    return delivery
