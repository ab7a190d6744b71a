from __future__ import annotations

import pytest

from services.ticket_store.domain.mail_headers import msg_id, new_message_id, reply_subject


@pytest.mark.parametrize(
    ("stored", "header"),
    [
        ("first@example.org", "<first@example.org>"),  # the router stores ids bare
        ("<first@example.org>", "<first@example.org>"),
        ("  first@example.org ", "<first@example.org>"),
        ("", ""),
        ("two words@x", ""),
    ],
)
def test_reply_headers_get_message_ids_in_angle_brackets(stored: str, header: str) -> None:
    assert msg_id(stored) == header


@pytest.mark.parametrize(
    ("subject", "reply"),
    [
        ("VPS down", "Re: VPS down"),
        ("Re: VPS down", "Re: VPS down"),
        ("RE: VPS down", "RE: VPS down"),
        ("re:x", "re:x"),
        ("", "Re: "),
        ("Regarding the VPS", "Re: Regarding the VPS"),
    ],
)
def test_a_reply_subject_gets_one_re(subject: str, reply: str) -> None:
    assert reply_subject(subject) == reply


def test_our_message_ids_are_the_outbound_id_at_our_domain() -> None:
    assert new_message_id("abc123", "desk.example") == "<abc123@desk.example>"
    assert msg_id(new_message_id("abc123", "desk.example")) == "<abc123@desk.example>"
