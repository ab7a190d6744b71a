"""The operations consumer's batch and the operations queries on SQLite and PostgreSQL:
raw locations, dead letters (a redelivery counts once), health, a reprocessed mail's new
outcome, the mail log and gateway facts."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import timedelta

from kernel.config import Settings
from schemas import codec
from schemas.events import DeadLetter, Decision, GatewaySnapshot, MailSource, Outcome, RawEmail
from services.ticket_store import actions
from services.ticket_store.consumer.operations import OperationsApplier
from services.ticket_store.db import Database, upgrade
from services.ticket_store.models import MailOutcome
from services.ticket_store.models_operations import DeadLetterRecord, GatewayHealthRecord
from services.ticket_store.queries.gateway_health import gateway_facts
from services.ticket_store.queries.mail_log import MailLogFilter, mail_log, mail_story
from services.ticket_store.timestamps import utcnow


@dataclass
class Rec:
    topic: str
    key: bytes | None
    value: bytes | None
    partition: int = 0
    offset: int = 0


def test_operations_batch_and_queries(database_url: str, tmp_path) -> None:
    upgrade(database_url)
    settings = Settings(database_url=database_url, blob_dir=tmp_path / "blobs")
    t = settings.topics
    db = Database(database_url, topics=t)
    with db.unit_of_work() as uow:
        dep = actions.departments.add_department(uow, "Technical support")
        gw = actions.gateways.add_gateway(
            uow, name="support", type="local", protocol="maildir", maildir_path="/x",
            address="support@company.net", department_id=dep.id, enabled=True,
        )  # fmt: skip
        gw_id = gw.id
    data = b"From: Ann <ANN@example.org>\r\nSubject: Hello\r\n\r\nhi\r\n"
    raw = RawEmail(
        email_id="e-1", gateway_id=gw_id, size=len(data), sha256="0" * 64,
        gateway=GatewaySnapshot(address="support@company.net", department_id=dep.id),
        source=MailSource(protocol="maildir", filename="1"),
        raw_b64=base64.b64encode(data).decode(),
    )  # fmt: skip
    letter = DeadLetter(email_id="e-1", gateway_id=gw_id, stage="router.parse", reason="boom")
    health = {"gateway_id": gw_id, "status": "ok", "idle": True, "owner": "h",
              "updated_at": utcnow().isoformat(), "name": "support"}  # fmt: skip
    batch = [
        Rec(t.raw, gw_id.encode(), codec.dumps(raw), 1, 42),
        Rec(t.dead, b"e-1", codec.dumps(letter)),
        Rec(t.dead, b"e-1", codec.dumps(letter)),  # redelivered
        Rec(t.fetcher_state, f"health:{gw_id}".encode(), json.dumps(health).encode()),
        Rec(t.fetcher_state, gw_id.encode(), b"{}"),  # the fetcher's own state: not ours
        Rec(t.raw, b"x", b"not json"),  # the router's to dead-letter, not ours
    ]  # fmt: skip
    applier = OperationsApplier(settings)
    for _ in range(2):  # the whole poll redelivered changes nothing
        with db.unit_of_work(actor="mail") as uow:
            applier.apply(uow, batch)
    with db.unit_of_work() as uow:
        actions.mail_commands.record_outcome(uow, Outcome(
            email_id="e-1", gateway_id=gw_id, decision=Decision.MALFORMED, rule="parse",
            decided_at=utcnow() - timedelta(minutes=1),
        ))  # fmt: skip
        row = uow.session.query(DeadLetterRecord).one()
        assert (row.occurrences, row.status) == (1, "open")
        row.status, row.reprocessed_at = "reprocessing", utcnow()
    newer = Outcome(email_id="e-1", gateway_id=gw_id, decision=Decision.INCOMING, rule="client")
    with db.unit_of_work(actor="mail") as uow:
        applier.apply(uow, [Rec(t.outcomes, b"e-1", codec.dumps(newer))])
    with db.transaction() as s:
        row = s.query(DeadLetterRecord).one()
        assert (row.status, row.result) == ("resolved", "incoming")
        assert s.get(MailOutcome, "e-1").decision == "incoming"
        assert s.get(GatewayHealthRecord, gw_id).idle is True
        (found,) = mail_log(s, MailLogFilter(sender="ann@", subject="HELL", gateway=gw_id), 0, 51)
        assert (found.from_address, found.subject) == ("ann@example.org", "Hello")
        story = mail_story(s, "e-1")
        assert story is not None and (story.source.partition, story.source.offset) == (1, 42)
        (facts,) = gateway_facts(s, utcnow())
        assert (facts.mails_last_day, facts.undecided, facts.health.owner) == (1, 0, "h")
    db.dispose()
