"""`supportdesk blobs gc` against the real broker and database: raw mail's blobs older
than mail.raw's retention (read from the broker) plus the grace go; an attachment of a
ticket stays however old; a recent blob stays."""

from __future__ import annotations

import os
import time
from pathlib import Path

from kernel.blobs import BlobStore
from kernel.topics import LONG_RETENTION_MS, retention_ms
from schemas.events import Attachment, MailContent, OpenTicket
from services.ticket_store import actions
from services.ticket_store.db import Database
from tests.fixtures.pipeline import Pipeline

DAY = 24 * 3600.0


def _age(store: BlobStore, ref: str, days: float) -> Path:
    path = store._path(ref.partition(":")[2])  # noqa: SLF001
    os.utime(path, (time.time() - days * DAY,) * 2)
    return path


def test_blobs_past_retention_go_and_attachments_stay(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    assert retention_ms(settings.kafka_bootstrap, settings.topics.raw) == LONG_RETENTION_MS
    assert retention_ms(settings.kafka_bootstrap, settings.topics.raw + ".none") is None
    store = BlobStore(Path(settings.blob_dir))  # type: ignore[arg-type]
    old_raw = _age(store, store.put(b"a large raw mail, 95 days old"), 95)
    edge = _age(store, store.put(b"a large raw mail, 90.5 days old (in the grace)"), 90.5)
    recent = _age(store, store.put(b"a large raw mail, 10 days old"), 10)
    attachment = store.put(b"a ticket's attachment, 400 days old")
    kept = _age(store, attachment, 400)
    db = Database(settings.database_url, topics=settings.topics)
    with db.unit_of_work(actor="cli") as uow:
        dep = actions.departments.add_department(uow, "Support")
        alice = actions.clients.add_client(uow, "Alice", ["alice@example.org"])
        file = Attachment(filename="a.pdf", content_type="application/pdf", size=1,
                          blob_ref=attachment)  # fmt: skip
        actions.mail_commands.open_ticket_from_mail(uow, OpenTicket(
            email_id="e-1", gateway_id="gw", ticket_id="AAAAAAAAAA", client_id=alice.id,
            department_id=dep.id,
            content=MailContent(from_address="alice@example.org", attachments=(file,)),
        ))  # fmt: skip
    db.dispose()

    dry = pipeline.run("blobs", "gc", "--dry-run")
    assert dry.returncode == 0, dry.stderr.decode()
    assert "would remove 1 " in dry.stdout.decode() and old_raw.exists()
    done = pipeline.run("blobs", "gc")
    text = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()
    assert "retention 90 days (broker)" in text and "removed 1 " in text, text
    assert "kept 1 referenced" in text, text
    assert not old_raw.exists()
    assert edge.exists() and recent.exists() and kept.exists()
