"""Dead letters, the mail log and gateway health through the real broker, router and store.

A mail whose claim-check blob is missing is dead-lettered by the router; the store
records the letter. The blob is restored (the fix), `supportdesk dead-letters
reprocess` re-publishes the raw mail, the router decides again, and the new outcome
resolves the letter; reprocessing again changes nothing. A fetcher's health record
reaches the store and `supportdesk gateway list`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest
from kafka import KafkaProducer
from sqlalchemy import func, select

from kernel.blobs import BlobStore
from schemas import codec
from services.fetcher.state import HEALTH_PREFIX, GatewayHealth
from services.ticket_store import actions
from services.ticket_store.db import Database
from services.ticket_store.models import IncomingEmail, MailOutcome
from services.ticket_store.models_operations import (
    DeadLetterRecord,
    GatewayHealthRecord,
    MailSource,
)
from tests.fixtures.pipeline import Pipeline, wait_until
from tests.integration.router.harness import mail, raw_email

pytestmark = pytest.mark.integration


def test_dead_letter_reprocessed_after_the_fix_and_gateway_health(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    db = Database(settings.database_url, topics=settings.topics)
    with db.unit_of_work() as uow:
        dep = actions.departments.add_department(uow, "Technical support")
        gw = actions.gateways.add_gateway(
            uow, name="support", type="local", protocol="maildir", maildir_path="/nowhere",
            address="support@company.net", department_id=dep.id, enabled=True,
            password_encrypted="NotThePassword",
        )  # fmt: skip
        dep_id, gw_id = dep.id, gw.id
    for name in ("store", "router"):
        pipeline.start(name)

    data = mail(frm="Stranger <stranger@example.net>", subject="Printer on fire")
    inline = raw_email(data, gateway_id=gw_id, department_id=dep_id)
    ref = f"sha256:{hashlib.sha256(data).hexdigest()}"  # not in the blob store yet
    raw = inline.model_copy(update={"raw_b64": None, "blob_ref": ref})
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    producer.send(settings.topics.raw, key=gw_id.encode(), value=codec.dumps(raw))
    health = GatewayHealth(
        gateway_id=gw_id, name="support", owner="host-a", status="failing",
        last_error="login failed", consecutive_failures=3, idle=True,
    )  # fmt: skip
    producer.send(settings.topics.fetcher_state, key=f"{HEALTH_PREFIX}{gw_id}".encode(),
                  value=health.model_dump_json().encode())  # fmt: skip
    producer.flush()

    def letter() -> DeadLetterRecord | None:
        with db.transaction() as s:
            mine = DeadLetterRecord.email_id == raw.email_id
            return s.scalar(select(DeadLetterRecord).where(mine))

    dead = wait_until(letter, 90, "the router's dead letter in the store")
    assert dead.stage.startswith("router.") and "blob" in dead.reason.lower(), dead.reason
    # The outcome and the mail's location come through other consumers than the letter.

    def recorded() -> tuple[str, bool] | None:
        with db.transaction() as s:
            outcome = s.get(MailOutcome, raw.email_id)
            source = s.get(MailSource, raw.email_id)
            return (outcome.decision, True) if outcome and source else None

    assert wait_until(recorded, 60, "the outcome and the mail's location") == ("malformed", True)

    listed = pipeline.run("dead-letters", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [d["email_id"] for d in json.loads(listed.stdout)] == [raw.email_id]

    BlobStore(settings.blob_dir).put(data)  # the fix
    done = pipeline.run("dead-letters", "reprocess", str(dead.id))
    assert done.returncode == 0, done.stdout + done.stderr
    assert b"re-published" in done.stdout

    def resolved() -> DeadLetterRecord | None:
        row = letter()
        return row if row is not None and row.status == "resolved" else None

    row = wait_until(resolved, 90, "the new outcome resolving the dead letter")
    assert (row.result, row.reprocess_count, row.reprocessed_by) == ("incoming", 1, "cli")

    def incoming() -> int:
        with db.transaction() as s:
            return s.scalar(select(func.count()).select_from(IncomingEmail)) or 0

    # The letter is resolved by the operations consumer, the incoming email written by the
    # mail consumer: either may commit first (seen once in four runs: no email yet).
    wait_until(incoming, 30, "the reprocessed mail in Incoming emails")
    with db.transaction() as s:
        assert s.get(MailOutcome, raw.email_id).decision == "incoming"
        assert s.get(MailSource, raw.email_id).subject == "Printer on fire"
        assert s.scalar(select(func.count()).select_from(IncomingEmail)) == 1

    again = pipeline.run("dead-letters", "reprocess", str(dead.id), "--json")
    assert again.returncode == 0 and "already resolved" in json.loads(again.stdout)[0]["message"]
    log = pipeline.run("mail-log", "--sender", "stranger@", "--json")
    assert [m["decision"] for m in json.loads(log.stdout)] == ["incoming"]

    def reported() -> GatewayHealthRecord | None:
        with db.transaction() as s:
            return s.get(GatewayHealthRecord, gw_id)

    assert wait_until(reported, 60, "the fetcher's health in the store").status == "failing"
    gl = pipeline.run("gateway", "list", "--json")
    assert gl.returncode == 0, gl.stderr
    (g,) = json.loads(gl.stdout)
    assert (g["status"], g["mode"], g["failures"], g["last_error"]) == (
        "failing", "IDLE", 3, "login failed",
    )  # fmt: skip
    assert g["mails_day"] == 1 and g["stale"] is False
    assert b"NotThePassword" not in gl.stdout
    assert datetime.now(UTC) > row.resolved_at
    db.dispose()
