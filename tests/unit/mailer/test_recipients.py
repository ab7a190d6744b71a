"""Reply-all in the mailer: Cc checked, never the To or the gateway, the envelope = To + Cc."""

from __future__ import annotations

import pytest

from kernel.config import Settings
from schemas.events import OutboundEmail
from services.mailer.recipients import MAX_CC, envelope
from services.mailer.worker import Undeliverable, build_message


def _out(**kw: object) -> OutboundEmail:
    base = dict(outbound_id="o1", to="alice@example.org", subject="Re", text="Done.")
    return OutboundEmail(**{**base, **kw})  # type: ignore[arg-type]


def test_cc_header_and_envelope_leave_out_to_from_and_repeats() -> None:
    out = _out(
        from_address="support@company.net",
        cc=("bob@example.com", "ALICE@example.org", "Support@Company.net", "BOB@example.com",
            "carol@example.com"),
    )  # fmt: skip
    msg = build_message(out, Settings())
    assert msg["Cc"] == "bob@example.com, carol@example.com"
    assert envelope(msg) == ["alice@example.org", "bob@example.com", "carol@example.com"]


def test_no_cc_no_header_and_the_envelope_is_the_client() -> None:
    msg = build_message(_out(), Settings())
    assert msg["Cc"] is None and envelope(msg) == ["alice@example.org"]


@pytest.mark.parametrize(
    "cc",
    [
        ("bob@example.com\r\nBcc: victim@example.com",),
        ("bob@example.com, eve@example.com",),
        ("not an address",),
        tuple(f"p{i}@example.com" for i in range(MAX_CC + 1)),
    ],
)
def test_a_bad_cc_is_refused_not_cleaned(cc: tuple[str, ...]) -> None:
    with pytest.raises((Undeliverable, ValueError)):
        build_message(_out(cc=cc), Settings())
