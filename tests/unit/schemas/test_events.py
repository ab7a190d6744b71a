import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from kernel.blobs import BlobStore
from schemas import codec
from schemas.events import (
    AddMessage,
    Decision,
    GatewaySnapshot,
    MailContent,
    MailSource,
    OpenTicket,
    Outcome,
    RawEmail,
    email_id_for,
)
from schemas.raw import make_raw_email, raw_bytes
from schemas.ticket_tag import find_ticket_ids, tagged_subject, ticket_id_for_email

GW = GatewaySnapshot(address="support@company.net", department_id=1)


def test_json_schema_files_are_current() -> None:
    assert codec.stale_json_schemas() == [], "run `make schemas` and commit the result"


def test_email_id_is_deterministic_and_source_specific() -> None:
    a = MailSource(protocol="imap", uidvalidity=7, uid=42)
    assert email_id_for("gw1", a) == email_id_for(
        "gw1", MailSource(protocol="imap", uidvalidity=7, uid=42)
    )
    assert email_id_for("gw1", a) != email_id_for("gw2", a)
    assert email_id_for("gw1", a) != email_id_for(
        "gw1", MailSource(protocol="imap", uidvalidity=8, uid=42)
    )


def test_maildir_id_ignores_flags() -> None:
    new = MailSource(protocol="maildir", filename="1700000000.M1P2.host")
    cur = MailSource(protocol="maildir", filename="1700000000.M1P2.host:2,S")
    assert email_id_for("g", new) == email_id_for("g", cur)


def test_source_without_identity_is_refused() -> None:
    with pytest.raises(ValueError):
        MailSource(protocol="imap", uid=1).identity()
    with pytest.raises(ValueError):
        MailSource(protocol="pop3").identity()


def test_raw_email_needs_exactly_one_body() -> None:
    src = MailSource(protocol="pop3", uidl="x")
    with pytest.raises(ValidationError):
        RawEmail(email_id="e", gateway_id="g", gateway=GW, source=src, size=1, sha256="0")
    with pytest.raises(ValidationError):
        RawEmail(
            email_id="e",
            gateway_id="g",
            gateway=GW,
            source=src,
            size=1,
            sha256="0",
            raw_b64="eA==",
            blob_ref="sha256:" + "0" * 64,
        )


def test_claim_check_above_the_inline_limit(tmp_path) -> None:
    blobs = BlobStore(tmp_path)
    src = MailSource(protocol="pop3", uidl="u1")
    small = make_raw_email(
        gateway_id="g", gateway=GW, source=src, data=b"x" * 10, blobs=blobs, inline_limit=100
    )
    big = make_raw_email(
        gateway_id="g", gateway=GW, source=src, data=b"y" * 1000, blobs=blobs, inline_limit=100
    )
    assert small.raw_b64 is not None and small.blob_ref is None
    assert big.blob_ref is not None and big.raw_b64 is None
    assert len(codec.dumps(big)) < 1000
    assert raw_bytes(codec.loads(RawEmail, codec.dumps(big)), blobs) == b"y" * 1000
    assert raw_bytes(small, blobs) == b"x" * 10


def test_blob_store_rejects_bad_references(tmp_path) -> None:
    blobs = BlobStore(tmp_path)
    with pytest.raises(ValueError):
        blobs.get("../../etc/passwd")
    ref = blobs.put(b"data")
    path = next(p for p in tmp_path.rglob("*") if p.is_file())
    path.write_bytes(b"tampered")
    with pytest.raises(ValueError):
        blobs.get(ref)


@given(st.binary(max_size=2000))
def test_raw_email_round_trips_any_bytes(data: bytes) -> None:
    src = MailSource(protocol="pop3", uidl="u")
    ev = RawEmail(
        email_id="e",
        gateway_id="g",
        gateway=GW,
        source=src,
        size=len(data),
        sha256="s",
        raw_b64=base64.b64encode(data).decode(),
    )
    assert codec.loads(RawEmail, codec.dumps(ev)).inline_bytes() == data


def test_ticket_commands_are_discriminated() -> None:
    content = MailContent(from_address="a@b.c", subject="s", text="t")
    open_ = OpenTicket(
        email_id="e",
        gateway_id="g",
        ticket_id="ABCDEFGHIJ",
        client_id=1,
        department_id=2,
        content=content,
    )
    add = AddMessage(
        email_id="e2", gateway_id="g", ticket_id="ABCDEFGHIJ", client_id=1, content=content
    )
    assert isinstance(codec.loads_ticket_command(codec.dumps(open_)), OpenTicket)
    assert isinstance(codec.loads_ticket_command(codec.dumps(add)), AddMessage)


def test_every_event_has_a_schema_version() -> None:
    o = Outcome(email_id="e", gateway_id="g", decision=Decision.IGNORED_EMPTY, rule="empty")
    assert '"schema_version":1' in codec.dumps(o).decode()


def test_ticket_tags() -> None:
    tid = ticket_id_for_email("email-1", b"key")
    assert tid == ticket_id_for_email("email-1", b"key")
    assert tid != ticket_id_for_email("email-1", b"other key")
    subject = tagged_subject("Re: VPS down", tid)
    assert find_ticket_ids(subject) == [tid]
    assert tagged_subject(subject, tid) == subject
    assert find_ticket_ids("no tag here [#short]") == []


def test_raw_email_lenient_base64_still_decodes() -> None:
    """Strict base64 takes the fast path; anything the stdlib accepted before still decodes."""
    data = b"From: a@x.org\r\n\r\nhello world"
    wrapped = base64.encodebytes(data).decode()  # newlines: not strict
    ev = RawEmail(
        email_id="e", gateway_id="g", gateway=GW, source=MailSource(protocol="pop3", uidl="u"),
        size=len(data), sha256="s", raw_b64=wrapped,
    )  # fmt: skip
    assert ev.inline_bytes() == data
