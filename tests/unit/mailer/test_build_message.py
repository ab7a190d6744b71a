from kernel.config import Settings
from schemas.events import OutboundEmail
from services.mailer.worker import build_message


def _out(**kw: object) -> OutboundEmail:
    base = dict(outbound_id="o1", to="bob@example.org", subject="Discount?", text="No incidents.")
    return OutboundEmail(**{**base, **kw})


def test_sent_from_the_gateway_address_the_client_wrote_to() -> None:
    settings = Settings(mail_from="default@company.net")
    assert build_message(_out(from_address="sales@company.com"), settings)["From"] == (
        "sales@company.com"
    )
    assert build_message(_out(), settings)["From"] == "default@company.net"


def test_a_from_address_cannot_inject_headers() -> None:
    msg = build_message(_out(from_address="sales@company.com\r\nBcc: victim@x"), Settings())
    assert msg["Bcc"] is None
    assert "\n" not in msg["From"]


def test_attachments_are_read_from_the_blob_store(tmp_path) -> None:
    import pytest

    from kernel.blobs import BlobStore
    from schemas.events import Attachment
    from services.mailer.worker import Undeliverable

    blobs = BlobStore(tmp_path)
    pdf = Attachment(
        filename="invoice 7.pdf", content_type="application/pdf", size=9,
        blob_ref=blobs.put(b"%PDF-1.4\n"),
    )  # fmt: skip
    odd = Attachment(
        filename="x\r\nBcc: v@x",
        content_type="text/html\r\nX: 1",
        size=2,
        blob_ref=blobs.put(b"hi"),
    )
    msg = build_message(_out(attachments=(pdf, odd)), Settings(), blobs)
    parts = list(msg.iter_attachments())
    assert [p.get_filename() for p in parts] == ["invoice 7.pdf", "x Bcc: v@x"]
    assert parts[0].get_content_type() == "application/pdf"
    assert parts[0].get_content() == b"%PDF-1.4\n"
    assert parts[1].get_content_type() == "application/octet-stream"  # a broken type is not kept
    assert msg["Bcc"] is None and msg.get_body(("plain",)).get_content().strip() == "No incidents."
    gone = Attachment(
        filename="a", content_type="text/plain", size=1, blob_ref="sha256:" + "0" * 64
    )
    with pytest.raises(Undeliverable, match="not available"):
        build_message(_out(attachments=(gone,)), Settings(), blobs)
