"""Building and resolving RawEmail events, including the claim check."""

from __future__ import annotations

import hashlib

import pybase64

from kernel.blobs import BlobStore
from schemas.events import GatewaySnapshot, MailSource, RawEmail, email_id_for


def make_raw_email(
    *,
    gateway_id: str,
    gateway: GatewaySnapshot,
    source: MailSource,
    data: bytes,
    blobs: BlobStore,
    inline_limit: int,
) -> RawEmail:
    common = dict(
        email_id=email_id_for(gateway_id, source),
        gateway_id=gateway_id,
        gateway=gateway,
        source=source,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    if len(data) <= inline_limit:
        return RawEmail(**common, raw_b64=pybase64.b64encode(data).decode())
    return RawEmail(**common, blob_ref=blobs.put(data))


def raw_bytes(event: RawEmail, blobs: BlobStore) -> bytes:
    inline = event.inline_bytes()
    return inline if inline is not None else blobs.get(event.blob_ref or "")
