"""The mailer's delivery reports land on the staff reply, once, and never undo a delivery."""

from __future__ import annotations

from types import SimpleNamespace

from schemas import codec
from schemas.events import DeliveryReport
from services.ticket_store.consumer import StoreConsumer
from tests.integration.api.conftest import World


def _applier(world: World):
    """The store consumer's handler for mail.delivery, as `supportdesk store` runs it."""
    consumer = StoreConsumer(world.settings, world.db)
    topic = world.settings.topics.delivery

    def apply_report(db: object, value: bytes) -> bool:
        before = status_of(world)
        record = SimpleNamespace(topic=topic, partition=0, offset=0, key=b"report", value=value)
        consumer.apply_batch([record])  # the consumer dead-letters what it cannot read
        return status_of(world) != before

    return apply_report


def status_of(world: World) -> dict[int, str]:
    from services.ticket_store.models import Message

    with world.db.transaction() as s:
        return {m.id: m.delivery_status for m in s.query(Message).all()}


def test_reports_mark_the_reply_sent_or_failed(world: World) -> None:
    apply_report = _applier(world)
    n = world.alice_ticket
    r = world.post("john", f"/tickets/{n}/replies", {"text": "Rebooted."})
    message_id = r.json()["id"]
    with world.db.transaction() as s:
        from services.ticket_store.models import Message

        outbound_id = s.get(Message, message_id).outbound_id
    failed = codec.dumps(DeliveryReport(outbound_id=outbound_id, status="failed", detail="451"))
    sent = codec.dumps(DeliveryReport(outbound_id=outbound_id, status="sent"))

    def status() -> str:
        msgs = world.get("john", f"/tickets/{n}").json()["messages"]
        return next(m["delivery_status"] for m in msgs if m["id"] == message_id)

    deferred = codec.dumps(
        DeliveryReport(outbound_id=outbound_id, status="deferred", detail="451 try later")
    )
    assert status() == "queued"
    assert apply_report(world.db, deferred) is True
    assert status() == "deferred"  # staff see that the mailer is still trying
    assert apply_report(world.db, failed) is True
    assert status() == "failed"
    assert apply_report(world.db, sent) is True
    assert apply_report(world.db, sent) is False  # a redelivered report changes nothing
    assert apply_report(world.db, failed) is False  # a late failure never undoes "sent"
    assert status() == "sent"
    assert apply_report(world.db, b"not json") is False
    unknown = codec.dumps(DeliveryReport(outbound_id="nope", status="sent"))
    assert apply_report(world.db, unknown) is False
    # Clients do not see delivery details.
    client_view = world.get("alice", f"/client/tickets/{n}").json()
    assert all(m["delivery_status"] == "" for m in client_view["messages"])
