from schemas.events import OutboundEmail
from services.mailer.worker import build_message
from supportdesk.config import Settings


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
