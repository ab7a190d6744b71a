"""The tickets.events check of the chaos run and the cluster test, on hand-built records:
repeats of one event are counted and pass, anything lost or claimed twice fails."""

from __future__ import annotations

from bench.chaos.ticket_events import TopicRecord, check_ticket_events
from schemas.codec import dumps
from schemas.ticket_events import (
    IncomingEmailDiscarded,
    MessageAdded,
    TicketOpened,
    TicketStatusChanged,
)


def opened(ticket: str, event_id: str | None = None) -> bytes:
    return dumps(
        TicketOpened(
            event_id=event_id or f"{ticket}-1", ticket_id=ticket, sequence=1, number=1,
            department_id=1, client_id=1, subject="help",
        )
    )  # fmt: skip


def added(ticket: str, sequence: int = 2, event_id: str | None = None) -> bytes:
    return dumps(
        MessageAdded(
            event_id=event_id or f"{ticket}-{sequence}", ticket_id=ticket, sequence=sequence,
            message_id=sequence, direction="in",
        )
    )  # fmt: skip


def on_topic(*pairs: tuple[str | None, bytes | None], partition: int = 0) -> list[TopicRecord]:
    return [TopicRecord(partition, n, key, value) for n, (key, value) in enumerate(pairs)]


def test_every_event_once_is_a_clean_verdict() -> None:
    records = on_topic(("A", opened("A")), ("B", opened("B")), ("A", added("A")), ("B", added("B")))
    v = check_ticket_events({"A": 2, "B": 2}, records)
    assert v.failures == []
    assert (v.records, v.events, v.repeats, v.out_of_order) == (4, 4, 0, 0)
    assert v.types == {"A": {1: "ticket_opened", 2: "message_added"},
                       "B": {1: "ticket_opened", 2: "message_added"}}  # fmt: skip
    assert (
        v.line() == "tickets.events: 4 records, 4 events, 0 repeats of an event id, 0 out of order"
    )


def test_repeats_of_one_event_id_are_counted_not_failed() -> None:
    """A relay batch sent again after a lost ack: the same bytes, later on the log."""
    first = [("A", opened("A")), ("A", added("A"))]
    v = check_ticket_events({"A": 2}, on_topic(*first, *first, first[1]))
    assert v.failures == []
    assert (v.records, v.events, v.repeats) == (5, 2, 3)
    assert v.out_of_order == 0  # a repeat is not a first appearance


def test_a_lost_ticket_opened_fails() -> None:
    v = check_ticket_events({"A": 2, "B": 2}, on_topic(("A", opened("A")), ("A", added("A")),
                                                       ("B", added("B"))))  # fmt: skip
    assert v.failures == [
        "tickets without their ticket_opened (sequence 1) on the topic: 1, e.g. ['B']"
    ]


def test_a_ticket_with_nothing_on_the_topic_fails_twice() -> None:
    v = check_ticket_events({"A": 2}, [])
    assert len(v.failures) == 2
    assert v.failures[0].startswith("tickets without their ticket_opened")
    assert v.failures[1] == (
        "ticket events lost (a sequence the store numbered, not on the topic): 1, e.g. ['A #2']"
    )


def test_a_lost_later_event_fails() -> None:
    status = dumps(TicketStatusChanged(event_id="A-3", ticket_id="A", sequence=3,
                                       old_status="new", new_status="closed"))  # fmt: skip
    v = check_ticket_events({"A": 4}, on_topic(("A", opened("A")), ("A", status)))
    assert v.failures == [
        "ticket events lost (a sequence the store numbered, not on the topic): 2, "
        "e.g. ['A #2', 'A #4']"
    ]


def test_two_event_ids_for_one_ticket_and_sequence_fail() -> None:
    records = on_topic(("A", opened("A")), ("A", added("A")), ("A", added("A", event_id="other")))
    v = check_ticket_events({"A": 2}, records)
    assert v.failures == [
        "two event ids for one (ticket, sequence): 1, e.g. ['A #2: A-2 and other']"
    ]
    assert v.repeats == 0


def test_one_event_id_on_two_different_events_fails() -> None:
    records = on_topic(("A", opened("A")), ("A", added("A")), ("A", added("A", 3, "A-2")))
    v = check_ticket_events({"A": 2}, records)
    assert v.failures == ["event ids on two different events: 1, e.g. ['A-2']"]


def test_out_of_order_is_counted_and_partitions_apart() -> None:
    a = on_topic(("A", added("A")), ("A", opened("A")))
    b = on_topic(("B", opened("B")), ("B", added("B")), partition=1)
    v = check_ticket_events({"A": 2, "B": 2}, b + a)
    assert v.failures == []
    assert v.out_of_order == 1


def test_wrong_keys_strangers_undecodable_and_extra_sequences_fail() -> None:
    discarded = dumps(IncomingEmailDiscarded(event_id="d", sequence=1, email_id="e",
                                             incoming_email_id=1, department_id=1,
                                             status="spam"))  # fmt: skip
    records = on_topic(
        ("A", opened("A")),
        ("A", added("A")),
        ("A", added("A", 3)),  # A numbered only 2
        ("X", opened("B")),  # B's event under another key
        ("Z", opened("Z")),  # a ticket the database does not have
        ("incoming:e", discarded),  # no ticket: fine
        ("A", b"{not json"),
        ("A", None),
    )
    v = check_ticket_events({"A": 2}, records)
    assert v.failures == [
        "undecodable records: 2, e.g. ['0@6', '0@7']",
        "records keyed other than their ticket: 1, e.g. [\"B-1 keyed 'X'\"]",
        "events past the ticket's last sequence: 1, e.g. ['A #3']",
        "events of tickets not in the database: 2, e.g. ['X', 'Z']",
    ]
