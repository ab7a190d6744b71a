"""The LMTP gateway's rules without a network: email ids, recipients, sizes, replies."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.blobs import BlobStore
from schemas.events import GatewayEntry, MailSource, RawEmail
from schemas.raw import raw_bytes
from services.lmtp.delivery import (
    BROKER_DOWN,
    GATEWAY_GONE,
    OK,
    GatewayAddresses,
    envelope_hash,
    plan_delivery,
)

MAIL = b"From: alice@example.org\r\nTo: support@company.net\r\nSubject: hi\r\n\r\nhello\r\n"


def gateway(gateway_id: str, address: str, *, protocol: str = "lmtp", **more: object):
    return GatewayEntry(
        gateway_id=gateway_id,
        name=gateway_id,
        type="local",
        protocol=protocol,  # type: ignore[arg-type]
        address=address,
        department_id=1,
        **more,  # type: ignore[arg-type]
    )


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def plan(blobs: BlobStore, recipients: list[str], data: bytes = MAIL, **kw: object):
    table = GatewayAddresses(
        [
            gateway("g1", "support@company.net", extra_addresses=("help@company.net",)),
            gateway("g2", "sales@company.net"),
        ]
    )
    args: dict[str, object] = dict(inline_limit=1024, max_bytes=10_000) | kw
    return plan_delivery(
        mail_from="alice@example.org",
        recipients=recipients,
        data=data,
        gateways=table,
        blobs=blobs,
        **args,  # type: ignore[arg-type]
    )


def test_a_retried_delivery_is_the_same_email(blobs: BlobStore) -> None:
    first = plan(blobs, ["support@company.net"])
    again = plan(blobs, ["<SUPPORT@Company.NET>"])
    assert [r.email_id for r in first.raws] == [r.email_id for r in again.raws]
    assert first.raws[0].source == MailSource(
        protocol="lmtp", envelope_hash=envelope_hash("alice@example.org", MAIL)
    )


def test_other_content_or_sender_is_another_email(blobs: BlobStore) -> None:
    base = plan(blobs, ["support@company.net"]).raws[0].email_id
    assert plan(blobs, ["support@company.net"], MAIL + b"x").raws[0].email_id != base
    assert envelope_hash("bob@example.org", MAIL) != envelope_hash("alice@example.org", MAIL)
    assert envelope_hash("<Alice@Example.org>", MAIL) == envelope_hash("alice@example.org", MAIL)


def test_one_raw_email_per_gateway_and_a_reply_per_recipient(blobs: BlobStore) -> None:
    d = plan(blobs, ["support@company.net", "help@company.net", "sales@company.net"])
    assert sorted(r.gateway_id for r in d.raws) == ["g1", "g2"]  # two addresses of g1: one mail
    assert d.answers(True) == [OK, OK, OK]
    assert d.answers(False) == [BROKER_DOWN] * 3
    assert all(a.startswith("4") for a in d.answers(False))  # the MTA keeps it and retries
    g1 = next(r for r in d.raws if r.gateway_id == "g1")
    assert g1.gateway.address == "support@company.net"
    assert g1.gateway.extra_addresses == ("help@company.net",)


def test_same_mail_to_two_gateways_gets_two_ids(blobs: BlobStore) -> None:
    d = plan(blobs, ["support@company.net", "sales@company.net"])
    assert len({r.email_id for r in d.raws}) == 2


def test_recipients_outside_the_gateways(blobs: BlobStore) -> None:
    table = GatewayAddresses(
        [
            gateway("g1", "support@company.net"),
            gateway("off", "off@company.net", enabled=False),
            gateway("imap", "imap@company.net", protocol="imap", host="h", port=1),
        ]
    )
    assert table.gateway_for("Support@COMPANY.net") is not None
    assert table.gateway_for("support@company.com") is None  # whole address, not a prefix
    assert table.gateway_for("off@company.net") is None  # disabled
    assert table.gateway_for("imap@company.net") is None  # polled, not pushed
    assert len(table) == 1


def test_a_gateway_removed_between_rcpt_and_data_is_temporary(blobs: BlobStore) -> None:
    d = plan(blobs, ["support@company.net", "gone@company.net"])
    assert d.answers(True) == [OK, GATEWAY_GONE]
    assert GATEWAY_GONE.startswith("450")


def test_over_the_size_limit_is_refused_for_every_recipient(blobs: BlobStore) -> None:
    d = plan(blobs, ["support@company.net", "sales@company.net"], MAIL, max_bytes=len(MAIL) - 1)
    assert d.raws == []
    assert [a[:3] for a in d.answers(True)] == ["552", "552"]


def test_large_mail_goes_through_the_claim_check(blobs: BlobStore) -> None:
    big = MAIL + b"x" * 5000
    raw: RawEmail = plan(blobs, ["support@company.net"], big).raws[0]
    assert raw.raw_b64 is None and raw.blob_ref is not None
    assert raw_bytes(raw, blobs) == big and raw.size == len(big)
    small = plan(blobs, ["support@company.net"]).raws[0]
    assert small.blob_ref is None and small.inline_bytes() == MAIL


def test_an_lmtp_source_needs_its_hash() -> None:
    with pytest.raises(ValueError, match="envelope hash"):
        MailSource(protocol="lmtp").identity()


def test_lmtp_gateways_are_not_polled() -> None:
    assert not gateway("g", "a@b.c").polled
    assert gateway("g", "a@b.c", protocol="maildir", maildir_path="/x").polled
    assert not gateway("g", "a@b.c", protocol="maildir", enabled=False).polled
