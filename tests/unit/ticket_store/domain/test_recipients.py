"""The reply-all list: normalised, once each, never a gateway or the client, plain only."""

from __future__ import annotations

from services.ticket_store.domain.recipients import MAX_CC, cc_list, from_cc, named_in
from services.ticket_store.models import Message


def test_cc_list_normalises_dedupes_and_excludes() -> None:
    got = cc_list(
        [
            "Bob@Example.com",
            "bob@example.com ",
            "support@company.net",  # our gateway
            "sales@company.net",  # another gateway
            "alice@example.org",  # the client
            "Carol <carol@example.com>",  # not a plain address: never sent
            "dave@example.com",
        ],
        {"support@company.net", "sales@company.net", "alice@example.org"},
    )
    assert got == ("bob@example.com", "dave@example.com")


def test_cc_list_is_bounded() -> None:
    many = [f"p{i}@example.com" for i in range(MAX_CC + 20)]
    assert len(cc_list(many, set())) == MAX_CC


def test_what_each_message_names() -> None:
    client_mail = Message(
        direction="in", author_client_id=7, from_address="alice@example.org",
        to_addresses=["support@company.net", "x@example.com"], cc_addresses=["bob@example.com"],
    )  # fmt: skip
    cc_mail = Message(
        direction="in", from_address="bob@example.com", cc_addresses=["erin@example.com"]
    )
    reply_all = Message(direction="out", author_staff_id=1, cc_addresses=["bob@example.com"])
    note = Message(direction="note", author_staff_id=1, cc_addresses=["no@example.com"])
    assert not from_cc(client_mail) and from_cc(cc_mail) and not from_cc(reply_all)
    assert named_in(client_mail) == ["support@company.net", "x@example.com", "bob@example.com"]
    assert named_in(cc_mail) == ["bob@example.com", "erin@example.com"]
    assert named_in(reply_all) == ["bob@example.com"]
    assert named_in(note) == []
